// What the browser scripts share (review_cycle.mjs, calibration.mjs, preview.mjs): the
// environment, headless Chromium with a fresh profile, numbered screenshots, the named
// step a failure reports, local sign-in and sign-out, text checks, and the run that
// screenshots a failure and closes the browser whatever happens.
//
// Environment read here: WORKSTREAM_UI_BASE_URL, WORKSTREAM_UI_SCREENSHOTS,
// WORKSTREAM_UI_CHROMIUM (default /usr/bin/chromium); each script reads its own others.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

/** The environment variable `name`, else `fallback`; with neither, the run stops. */
export function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

/** A locator's text with white space folded. */
export async function text(locator) {
  // textContent, not innerText: the page's CSS (uppercase marks) must not change it.
  return (await locator.textContent()).replace(/\s+/g, " ").trim();
}

/** Fails unless the locator's text contains `expected`. */
export async function expectText(locator, expected) {
  const content = await text(locator);
  if (!content.includes(expected)) {
    throw new Error(`expected ${JSON.stringify(expected)} in: ${content.slice(0, 2000)}`);
  }
}

/**
 * Starts headless Chromium on a fresh profile with one page and returns the session:
 * `base` (the server's URL), `page`, `snap(name)`, `say(what)`, `signIn(subject)`,
 * `signOut()` and `run(name, steps)`, which runs the steps and always closes the browser.
 */
export async function openBrowser() {
  const base = env("WORKSTREAM_UI_BASE_URL");
  const shots = env("WORKSTREAM_UI_SCREENSHOTS");
  const executablePath = env("WORKSTREAM_UI_CHROMIUM", "/usr/bin/chromium");

  fs.mkdirSync(shots, { recursive: true });
  // Chromium as root needs no sandbox and a fresh profile; nothing may reach the network.
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

  /** Screenshots the whole page as the next numbered `NN-name.png`. */
  async function snap(name) {
    shot += 1;
    // A full-page capture repeats sticky elements mid-page; pin them for the picture.
    // (Through the CSSOM: the page's content security policy refuses injected styles.)
    await page.evaluate(() => {
      for (const el of document.querySelectorAll(".topbar, .file-tree")) el.style.position = "static";
    });
    const file = path.join(shots, `${String(shot).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`  screenshot ${path.basename(file)}`);
  }

  /** Names the step under way: printed now, and reported if the run fails in it. */
  function say(what) {
    step = what;
    console.log(`- ${what}`);
  }

  /** Signs in as `subject` by the local sign-in form, after dropping any session. */
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

  /**
   * Runs `steps`, then prints `browser <name>: passed`; a failure prints its step and
   * stack, screenshots the page as failure.png and sets a failing exit code. The
   * browser is closed and its profile removed either way.
   */
  async function run(name, steps) {
    try {
      await steps();
      console.log(`browser ${name}: passed`);
    } catch (error) {
      console.error(`browser ${name} failed at "${step}": ${error.stack ?? error}`);
      try {
        await page.screenshot({ path: path.join(shots, "failure.png"), fullPage: true });
        console.error(`  the page at failure: ${page.url()} (failure.png)`);
      } catch {}
      process.exitCode = 1;
    } finally {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  }

  return { base, page, snap, say, signIn, signOut, run };
}
