// Reviewer calibration in a real browser: run by tests/tests/ui_browser.rs against a live
// server it set up (a project whose review policy samples every decided submission, and
// one submission a first reviewer already accepted).
//
// The second reviewer sees the calibration offer on the review page, claims it, reads the
// blind packet (never the first review's summary), and records an accept citing the
// answer file; the manager then sees the reviewers' agreement on the sprints page. Every
// page is screenshotted into WORKSTREAM_UI_SCREENSHOTS.
//
// Environment: WORKSTREAM_UI_BASE_URL, WORKSTREAM_UI_SCREENSHOTS, WORKSTREAM_UI_PROJECT,
// WORKSTREAM_UI_CHROMIUM (default /usr/bin/chromium), WORKSTREAM_UI_REVIEWER (the second
// reviewer's subject), WORKSTREAM_UI_MANAGER (the manager's subject),
// WORKSTREAM_UI_TASK_TITLE, WORKSTREAM_UI_FIRST_SUMMARY (the first review's summary,
// which the blind page must not show), WORKSTREAM_UI_FIRST_REVIEWER (the first
// reviewer's subject, the row of the agreement table).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const base = env("WORKSTREAM_UI_BASE_URL");
const shots = env("WORKSTREAM_UI_SCREENSHOTS");
const projectId = env("WORKSTREAM_UI_PROJECT");
const reviewer = env("WORKSTREAM_UI_REVIEWER");
const manager = env("WORKSTREAM_UI_MANAGER");
const taskTitle = env("WORKSTREAM_UI_TASK_TITLE");
const firstSummary = env("WORKSTREAM_UI_FIRST_SUMMARY");
const firstReviewer = env("WORKSTREAM_UI_FIRST_REVIEWER");
const executablePath = env("WORKSTREAM_UI_CHROMIUM", "/usr/bin/chromium");

fs.mkdirSync(shots, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "workstream-ui-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1440, height: 900 },
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
  ],
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(20_000);
let shot = 0;
let step = "start";

async function snap(name) {
  shot += 1;
  await page.evaluate(() => {
    for (const el of document.querySelectorAll(".topbar, .file-tree")) el.style.position = "static";
  });
  const file = path.join(shots, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot ${path.basename(file)}`);
}

function say(what) {
  step = what;
  console.log(`- ${what}`);
}

async function expectText(locator, text) {
  const content = (await locator.textContent()).replace(/\s+/g, " ");
  if (!content.includes(text)) {
    throw new Error(`expected ${JSON.stringify(text)} in: ${content.slice(0, 2000)}`);
  }
}

async function signIn(subject) {
  await context.clearCookies();
  await page.goto(`${base}/ui/sign-in`);
  await page.fill('input[name="subject"]', subject);
  await page.click('form:has(input[name="mode"][value="local"]) button[type="submit"]');
  await page.waitForURL(`${base}/ui/`);
}

async function signOut() {
  await page.click('form[action="/ui/sign-out"] button');
  await page.waitForURL(/\/ui\/sign-in/);
}

try {
  say("second reviewer: the calibration offer on the review page");
  await signIn(reviewer);
  await page.click('nav.mainnav a[href="/ui/review"]');
  const offer = page.locator(".calibration-offer");
  await expectText(offer, taskTitle);
  await expectText(offer, "blind");
  await snap("calibration-offer");

  say("second reviewer: claim, and the blind packet");
  await page.click('.calibration-offer button[type="submit"]');
  await page.waitForURL(/\/ui\/calibration\/offers\//);
  await page.setViewportSize({ width: 1680, height: 1000 });
  await expectText(page.locator("main h1"), taskTitle);
  await expectText(page.locator("main"), "A blind second review");
  await page.locator("table.code-view").waitFor();
  const main = (await page.locator("main").textContent()).replace(/\s+/g, " ");
  if (main.includes(firstSummary)) throw new Error("the blind page shows the first review's summary");
  await snap("calibration-blind-packet");

  say("second reviewer: an accept citing the answer file");
  await page.check('input[name="decision"][value="accept"]');
  await page.fill('textarea[name="summary"]', "The induction is complete.");
  await page.fill('input[name="evidence.0.path"]', "outputs/final-answer.md");
  await page.fill('input[name="evidence.0.line"]', "3");
  await page.click('form[data-decision] button[type="submit"]');
  await page.waitForURL(`${base}/ui/review?done=decided`);
  await expectText(page.locator(".notice"), "Your decision is recorded");
  await snap("calibration-recorded");
  await page.setViewportSize({ width: 1440, height: 900 });
  await signOut();

  say("manager: the reviewers' agreement beside the sprints");
  await signIn(manager);
  await page.goto(`${base}/ui/projects/${projectId}/sprints`);
  const figures = page.locator(".calibration-figures");
  await expectText(figures, "Reviewer agreement");
  await expectText(figures, "100%");
  await expectText(figures.locator("tbody"), firstReviewer);
  await snap("calibration-agreement");
  await signOut();
  console.log("browser calibration: passed");
} catch (error) {
  console.error(`browser calibration failed at "${step}": ${error.stack ?? error}`);
  try {
    await page.screenshot({ path: path.join(shots, "failure.png"), fullPage: true });
    console.error(`  the page at failure: ${page.url()} (failure.png)`);
  } catch {}
  process.exitCode = 1;
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
