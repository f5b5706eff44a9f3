// A policy preview in a real browser: run by tests/tests/ui_browser.rs against a live
// server it set up (a project with decided submissions, some of whose answer files a
// stricter size limit fails, and a draft guide that adds that limit).
//
// The manager opens the draft from the project page, starts a preview with the number
// the form offers, waits on the report page (which reloads itself while the preview
// runs) for the totals, reads the route flips and the stricter checker's newly failing
// packets, follows a flipped packet to its task, then activates the draft and sees the
// preview the activation recorded. Every page is screenshotted into
// WORKSTREAM_UI_SCREENSHOTS.
//
// Environment: WORKSTREAM_UI_BASE_URL, WORKSTREAM_UI_SCREENSHOTS, WORKSTREAM_UI_PROJECT,
// WORKSTREAM_UI_GUIDE (the draft), WORKSTREAM_UI_CHROMIUM (default /usr/bin/chromium),
// WORKSTREAM_UI_MANAGER (the manager's subject), WORKSTREAM_UI_SUBMISSIONS (how many
// decided submissions the project has), WORKSTREAM_UI_FLIPPED (the tasks whose packets
// the stricter rule fails, comma-separated), WORKSTREAM_UI_KEPT (the others).
import { env, expectText, openBrowser, text } from "./support.mjs";

const projectId = env("WORKSTREAM_UI_PROJECT");
const guideId = env("WORKSTREAM_UI_GUIDE");
const manager = env("WORKSTREAM_UI_MANAGER");
const submissions = env("WORKSTREAM_UI_SUBMISSIONS");
const flipped = env("WORKSTREAM_UI_FLIPPED").split(",").filter(Boolean);
const kept = env("WORKSTREAM_UI_KEPT").split(",").filter(Boolean);

const { base, page, snap, say, signIn, run } = await openBrowser();

async function expectEqual(locator, expected) {
  const content = await text(locator);
  if (content !== expected) {
    throw new Error(`expected ${JSON.stringify(expected)}, the page shows ${JSON.stringify(content)}`);
  }
}

async function expectCount(locator, expected, what) {
  const count = await locator.count();
  if (count !== expected) throw new Error(`expected ${expected} ${what}, found ${count}`);
}

const taskLink = (task) => `a[href="/ui/projects/${projectId}/tasks/${task}"]`;

await run("preview", async () => {
  say("manager: the draft guide, from the project page");
  await signIn(manager);
  await page.goto(`${base}/ui/projects/${projectId}`);
  await page.locator(`a[href="/ui/projects/${projectId}/guides/${guideId}"]`).first().click();
  await page.waitForURL(`${base}/ui/projects/${projectId}/guides/${guideId}`);
  const form = page.locator("form.preview-form");
  await form.waitFor();
  const offered = await form.locator('input[name="submissions"]').inputValue();
  if (offered !== "200") throw new Error(`the form offers ${offered} submissions, not the server's 200`);
  await expectText(page.locator("section.previews"), "Not previewed.");
  await snap("preview-draft-guide");

  say("manager: start a preview with the number offered");
  await form.locator('button[type="submit"]').click();
  await page.waitForURL(/\/previews\/[0-9a-f-]{36}\?done=preview_started$/);
  await expectText(page.locator(".notice:not(.preview-running)"), "The preview started");
  await snap("preview-started");

  say("manager: the report, once the page has reloaded itself to the end");
  await page.locator(".preview-summary").waitFor({ timeout: 180_000 });
  if ((await page.locator('meta[http-equiv="refresh"]').count()) !== 0) {
    throw new Error("an ended preview still reloads itself");
  }
  await expectEqual(page.locator(".page-head .badge"), "completed");
  await expectEqual(page.locator('[data-figure="submissions"] .n'), submissions);
  await expectEqual(page.locator('[data-figure="route_changed"] .n'), String(flipped.length));
  await expectEqual(page.locator('[data-figure="findings_appeared"] .n'), String(flipped.length));
  await expectEqual(page.locator('[data-figure="findings_disappeared"] .n'), "0");

  say("manager: the flips are the packets the stricter rule fails");
  const flips = page.locator("tr.flip");
  await expectCount(flips, 1, "route flips");
  const flip = page.locator('tr.flip[data-from="allow_review"][data-to="needs_revision"]');
  await expectEqual(flip.locator("td.num"), String(flipped.length));
  const size = page.locator('tr[data-checker="size-limits"]');
  await expectEqual(size.locator(".newly-failing"), String(flipped.length));
  await expectEqual(size.locator(".newly-passing"), "0");
  for (const task of flipped) {
    await expectCount(flip.locator(taskLink(task)), 1, `flip links to ${task}`);
    await expectCount(size.locator(taskLink(task)), 1, `size-limits links to ${task}`);
    await expectCount(page.locator(`tr.result.changed:has(${taskLink(task)})`), 1, `changed rows of ${task}`);
  }
  for (const task of kept) {
    await expectCount(flip.locator(taskLink(task)), 0, `flip links to ${task}`);
    await expectCount(page.locator(`tr.result:not(.changed):has(${taskLink(task)})`), 1, `unchanged rows of ${task}`);
  }
  await expectText(page.locator(".findings-changes"), "file_too_large");
  await snap("preview-report");

  say("manager: a flipped packet's task");
  await flip.locator(taskLink(flipped[0])).click();
  await page.waitForURL(`${base}/ui/projects/${projectId}/tasks/${flipped[0]}`);
  await page.locator("main h1").waitFor();
  await snap("preview-flipped-task");
  await page.goBack();
  await page.locator(".preview-summary").waitFor();

  say("manager: back on the draft, the preview listed; activate");
  await page.click(`.crumbs a[href="/ui/projects/${projectId}/guides/${guideId}"]`);
  await page.waitForURL(`${base}/ui/projects/${projectId}/guides/${guideId}`);
  await expectCount(page.locator('.preview-list tr[data-status="completed"]'), 1, "completed previews listed");
  await expectText(page.locator(".latest-preview"), `${flipped.length} of ${submissions} submissions would meet another route`);
  await snap("preview-listed");
  await page.click(`form[action="/ui/projects/${projectId}/guides/${guideId}/activate"] button[type="submit"]`);
  await page.waitForURL(`${base}/ui/projects/${projectId}/guides/${guideId}?done=activated`);
  const recorded = page.locator(".activation-preview");
  await expectEqual(recorded.locator('[data-figure="submissions"]'), submissions);
  await expectEqual(recorded.locator('[data-figure="route_changed"]'), String(flipped.length));
  await expectText(recorded.locator('[data-checker="size-limits"]'), `newly fails ${flipped.length}, newly passes 0`);
  await snap("preview-at-activation");
});
