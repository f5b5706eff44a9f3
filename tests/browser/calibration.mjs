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
import { env, expectText, openBrowser } from "./support.mjs";

const projectId = env("WORKSTREAM_UI_PROJECT");
const reviewer = env("WORKSTREAM_UI_REVIEWER");
const manager = env("WORKSTREAM_UI_MANAGER");
const taskTitle = env("WORKSTREAM_UI_TASK_TITLE");
const firstSummary = env("WORKSTREAM_UI_FIRST_SUMMARY");
const firstReviewer = env("WORKSTREAM_UI_FIRST_REVIEWER");

const { base, page, snap, say, signIn, signOut, run } = await openBrowser();

await run("calibration", async () => {
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
});
