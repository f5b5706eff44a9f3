// The review cycle in a real browser: run by tests/tests/ui_browser.rs against a live
// server it set up (a project with paid terms, a guide, one task in the ready queue).
//
// A worker claims the task, uploads a packet that fails a blocking pre-submit check,
// reads the failure, uploads a fixed packet and submits it; a reviewer sees the
// checker finding beside its line and asks for a revision; the worker answers the
// finding and resubmits; the reviewer accepts; finance sees the awards; the auditor
// reads the verified audit trail; the manager's pages are visited, a newcomer is
// granted the reviewer role and a second task is created, screened, released and
// assigned, all in the UI; the access administrator's pages are visited. Every page is
// screenshotted into WORKSTREAM_UI_SCREENSHOTS.
//
// Environment: WORKSTREAM_UI_BASE_URL, WORKSTREAM_UI_SCREENSHOTS, WORKSTREAM_UI_PACKETS
// (bad.zip, v1.zip, v2.zip), WORKSTREAM_UI_TASK, WORKSTREAM_UI_PROJECT,
// WORKSTREAM_UI_CHROMIUM (default /usr/bin/chromium), WORKSTREAM_UI_RESPONSE (the
// worker's answer to the finding, checked in the database by the Rust test).
import path from "node:path";
import { env, expectText, openBrowser } from "./support.mjs";

const packets = env("WORKSTREAM_UI_PACKETS");
const taskId = env("WORKSTREAM_UI_TASK");
const projectId = env("WORKSTREAM_UI_PROJECT");
const response = env("WORKSTREAM_UI_RESPONSE");

const { base, page, snap, say, signIn, signOut, run } = await openBrowser();

/** Reloads `url` until `text` shows (the worker's checks run in the background). */
async function waitFor(url, text, seconds = 90) {
  for (let i = 0; i < seconds; i++) {
    await page.goto(url);
    if ((await page.locator("main").textContent()).replace(/\s+/g, " ").includes(text)) return;
    await page.waitForTimeout(1000);
  }
  throw new Error(`${url} never showed ${JSON.stringify(text)}`);
}

async function upload(file) {
  await page.fill('textarea[name="summary"]', "Wrote the proof of the lemma and attached the test log.");
  await page.fill(
    'textarea[name="attestation"]',
    "I attest this packet holds no client data, nothing confidential or private, no credentials or secret tokens, and no copied source material.",
  );
  await page.setInputFiles('input[name="packet"]', path.join(packets, file));
  await Promise.all([page.waitForLoadState("load"), page.click('form[data-upload] button[type="submit"]')]);
  await page.waitForSelector("main h1");
}

const taskUrl = `${base}/ui/tasks/${taskId}`;

await run("review cycle", async () => {
  say("the sign-in page");
  await page.goto(`${base}/`);
  await page.waitForURL(`${base}/ui/sign-in?next=%2Fui%2F`);
  await snap("sign-in");

  say("worker: the ready queue with its terms");
  await signIn("ui-submitter");
  await snap("home-worker");
  await page.click('nav.mainnav a[href="/ui/work"]');
  await expectText(page.locator("main"), "Prove the lemma");
  await expectText(page.locator(".task-card"), "50 USD");
  await snap("work-ready-queue");

  say("worker: claim and start");
  await page.click('.task-card form[action$="/claim"] button');
  await page.waitForURL(`${taskUrl}?done=claimed`);
  await expectText(page.locator(".notice"), "You claimed the task");
  await snap("task-claimed");
  await page.click('form[action$="/start"] button');
  await page.waitForURL(`${taskUrl}?done=started`);
  await expectText(page.locator("aside"), "outputs/final-answer.md");
  await snap("task-requirements-and-upload");

  say("worker: a packet without the required file fails the pre-submit check");
  await upload("bad.zip");
  const failure = page.locator('[data-api-error="pre_submission_checker_failed"]');
  await failure.waitFor();
  await expectText(failure, "required_file_missing");
  await expectText(failure, "The packet has no file outputs/final-answer.md");
  await expectText(failure, "Fix: Add outputs/final-answer.md");
  // What was typed is still there for the next try.
  if (!(await page.inputValue('textarea[name="summary"]')).startsWith("Wrote the proof")) {
    throw new Error("the summary was not kept after the refused upload");
  }
  await snap("presubmit-failed");

  say("worker: the fixed packet passes and is submitted");
  await upload("v1.zip");
  await expectText(page.locator("main h1"), "Submit your packet");
  await expectText(page.locator(".admitted"), "placeholder_signal");
  await snap("submit-v1");
  await page.click('form[action$="/submissions"] button[type="submit"]');
  await page.waitForURL(`${taskUrl}?done=submitted`);
  await waitFor(taskUrl, "waits for a reviewer");
  await expectText(page.locator("main"), "Checker results");
  await snap("task-checker-results-v1");
  await signOut();

  say("reviewer: the offer, the claim, the finding beside its line");
  await signIn("ui-reviewer");
  await page.click('nav.mainnav a[href="/ui/review"]');
  await expectText(page.locator(".offer"), "Prove the lemma");
  await snap("review-offer");
  await page.click('.offer button[type="submit"]');
  await page.waitForURL(/\/ui\/review\/leases\//);
  await page.setViewportSize({ width: 1680, height: 1000 });
  const flagged = page.locator("table.code-view tr#L5.has-notes");
  await flagged.waitFor();
  await expectText(flagged, "TODO");
  const note = page.locator("table.code-view tr#L5 + tr.note-row");
  await expectText(note, "placeholder_signal");
  await expectText(note, "This file contains placeholder text");
  await snap("review-packet-findings-beside-lines");

  say("reviewer: needs revision, citing line 5 by clicking it");
  await page.check('input[name="decision"][value="needs_revision"]');
  await page.fill('textarea[name="summary"]', "The base case is missing and line 5 is a placeholder.");
  await page.selectOption('select[name="finding.0.kind"]', "blocking");
  await page.fill('input[name="finding.0.area"]', "proof");
  await page.fill('textarea[name="finding.0.issue"]', "The base case n = 0 is missing; line 5 still says TODO.");
  await page.fill('input[name="finding.0.rationale"]', "The acceptance criteria require the base case.");
  await page.fill('input[name="finding.0.required_fix"]', "Prove the base case and remove the placeholder.");
  await page.focus('input[name="finding.0.area"]');
  await page.click('table.code-view a[data-line="5"]');
  if ((await page.inputValue('input[name="finding.0.path"]')) !== "outputs/final-answer.md"
      || (await page.inputValue('input[name="finding.0.line"]')) !== "5") {
    throw new Error("clicking line 5 did not cite it in the finding");
  }
  await snap("review-decision-needs-revision");
  await page.click('form[data-decision] button[type="submit"]');
  await page.waitForURL(`${base}/ui/review?done=decided`);
  await expectText(page.locator(".notice"), "Your decision is recorded");
  await snap("review-decided");
  await page.setViewportSize({ width: 1440, height: 900 });
  await signOut();

  say("worker: the revision page, the fixed packet, the answer to the finding");
  await signIn("ui-submitter");
  await page.goto(taskUrl);
  await expectText(page.locator(".revision"), "The base case n = 0 is missing");
  await expectText(page.locator(".revision"), "outputs/final-answer.md:5");
  await snap("task-needs-revision");
  await upload("v2.zip");
  await expectText(page.locator("main h1"), "Answer the findings and resubmit");
  await expectText(page.locator(".revision-answers"), "Prove the base case and remove the placeholder.");
  await snap("revision-answer-each-finding");
  await page.fill('textarea[name^="response."]', response);
  await snap("revision-answered");
  await page.click('form[action$="/submissions"] button[type="submit"]');
  await page.waitForURL(`${taskUrl}?done=submitted`);
  await waitFor(taskUrl, "waits for a reviewer");
  await snap("task-checker-results-v2");
  await signOut();

  say("reviewer: the response beside the prior finding, fixed checker finding, accept");
  await signIn("ui-reviewer");
  await page.goto(`${base}/ui/review`);
  await expectText(page.locator(".offer"), "offered to you first");
  await page.click('.offer button[type="submit"]');
  await page.waitForURL(/\/ui\/review\/leases\//);
  await page.setViewportSize({ width: 1680, height: 1000 });
  await expectText(page.locator(".decision .resolution-row"), response);
  await expectText(page.locator(".review-side"), "1 fixed");
  // The changes since version 1, with the finding beside the line it cited, and the
  // answer rendered as Markdown; then back to the numbered source.
  await page.click('.view-tabs a:has-text("Changes since v1")');
  await expectText(page.locator("table.code-view.diff"), "cited line 5 of v1");
  await snap("review-changes-since-v1");
  await page.click('.view-tabs a:has-text("Rendered")');
  await expectText(page.locator(".md-view"), "Proof");
  await snap("review-markdown-rendered");
  await page.click('.view-tabs a:has-text("Source")');
  await page.locator("table.code-view").first().waitFor();
  await page.check('input[name="decision"][value="accept"]');
  await page.fill('textarea[name="summary"]', "The base case is proved; the proof is complete.");
  await page.selectOption('.resolution-row select[name$=".result"]', "resolved");
  await page.fill('.resolution-row input[name$=".rationale"]', "Verified in version 2.");
  await page.focus('input[name="evidence.0.note"]');
  await page.click('table.code-view a[data-line="3"]');
  await page.fill('input[name="evidence.0.note"]', "the base case");
  if ((await page.inputValue('input[name="evidence.0.line"]')) !== "3") {
    throw new Error("clicking line 3 did not cite it as acceptance evidence");
  }
  await snap("review-accept-with-resolution");
  await page.click('form[data-decision] button[type="submit"]');
  await page.waitForURL(`${base}/ui/review?done=decided`);
  await page.setViewportSize({ width: 1440, height: 900 });
  await signOut();

  say("worker: accepted, with the awards");
  await signIn("ui-submitter");
  await page.goto(taskUrl);
  await expectText(page.locator(".action.success"), "Accepted");
  await expectText(page.locator("main"), "50 USD");
  await snap("task-accepted-awards");
  await signOut();

  say("finance: the awards and their status, the reconciliation");
  await signIn("ui-finance");
  await page.click('nav.mainnav a[href="/ui/finance"]');
  await snap("finance-projects");
  await page.goto(`${base}/ui/finance/projects/${projectId}`);
  const awards = page.locator('tr[data-award]');
  await awards.first().waitFor();
  await expectText(page.locator("main"), "accepted submission");
  await expectText(page.locator("main"), "50 USD");
  await snap("finance-awards-and-reconciliation");
  await signOut();

  say("auditor: the task's audit trail, verified against the ledger");
  await signIn("ui-auditor");
  await page.goto(`${base}/ui/audit/projects/${projectId}`);
  await snap("audit-tasks");
  await page.click('a[href$="/ui/audit/tasks/' + taskId + '"]');
  await page.waitForSelector('[data-ledger-verified="true"]');
  await expectText(page.locator("table.audit"), "review decided");
  await expectText(page.locator("table.audit tr:has-text(\"review decided\") >> nth=-1"), "accepted");
  await snap("audit-trail-verified");
  await signOut();

  say("manager: projects, guide, task, checkers, lessons, sprint report");
  await signIn("ui-manager");
  await page.click('nav.mainnav a[href="/ui/projects"]');
  await snap("manager-projects");
  await page.goto(`${base}/ui/projects/${projectId}`);
  await snap("manager-project");
  await page.click("table.list a[href*='/guides/']");
  await expectText(page.locator("main"), "Checker policy");
  await snap("manager-guide");
  await page.goto(`${base}/ui/projects/${projectId}/tasks/${taskId}`);
  await expectText(page.locator("main"), "Locked context");
  await snap("manager-task");
  await page.goto(`${base}/ui/checkers`);
  await expectText(page.locator("main"), "required-files");
  await snap("manager-checker-registry");
  await page.goto(`${base}/ui/projects/${projectId}/lessons`);
  await page.selectOption('select[name="source"]', "incident");
  await page.selectOption('select[name="lesson_type"]', "guide_update");
  await page.fill('form[action$="/lessons"] textarea[name="summary"]', "Packets arrive with TODO placeholders in the answer.");
  await page.fill('form[action$="/lessons"] textarea[name="recommended_change"]', "Say in the guide that placeholders are refused at review.");
  await page.click('form[action$="/lessons"] button[type="submit"]');
  await page.waitForURL(/lessons\?done=created/);
  await snap("manager-lessons");
  await page.goto(`${base}/ui/projects/${projectId}/sprints`);
  const today = new Date().toISOString().slice(0, 10);
  await page.fill('input[name="name"]', "Sprint 1");
  await page.fill('input[name="starts_at"]', "2020-01-01");
  await page.fill('input[name="ends_at"]', today);
  await page.fill('textarea[name="task_ids"]', taskId);
  await page.click('form[action$="/sprints"] button[type="submit"]');
  await page.waitForURL(/sprints\/[0-9a-f-]+\?done=created/);
  await page.click('form[action$="/report"] button');
  await page.waitForURL(/done=reported/);
  // Two decisions on the task: one needs_revision, one accept.
  await expectText(page.locator(".stats"), "50%");
  await snap("manager-sprint-report");

  say("manager: the project's people by role; a newcomer granted the reviewer role");
  await page.goto(`${base}/ui/projects/${projectId}`);
  await page.click('nav.subnav a[href$="/members"]');
  await expectText(page.locator('section[data-role="submitter"]'), "ui-submitter");
  const grantForm = page.locator('form[action$="/members"]');
  await grantForm.locator('input[name="person"]').fill("ui-newcomer");
  await grantForm.locator('select[name="role"]').selectOption("reviewer");
  await grantForm.locator('input[name="reason"]').fill("joins the reviewers");
  await grantForm.locator('button[type="submit"]').click();
  await page.waitForURL(/members\?done=granted/);
  await expectText(page.locator('section[data-role="reviewer"]'), "ui-newcomer");
  await snap("manager-people");

  say("manager: a second task created, screened, released and assigned by name");
  await page.goto(`${base}/ui/projects/${projectId}`);
  const taskForm = page.locator('form[action$="/tasks"]');
  await taskForm.locator('input[name="title"]').fill("Prove the corollary");
  await taskForm.locator('textarea[name="description"]').fill("Derive the corollary from the lemma in outputs/final-answer.md.");
  await taskForm.locator('textarea[name="acceptance_criteria"]').fill("A complete derivation that cites the lemma.");
  await taskForm.locator('textarea[name="rejection_criteria"]').fill("Steps left unjustified.");
  await taskForm.locator('button[type="submit"]').click();
  await page.waitForURL(/\/tasks\/[0-9a-f-]+\?done=created/);
  await page.click('form[action$="/screen"] button');
  await page.waitForURL(/done=screened/);
  await page.fill('form[action$="/release"] input[name="reason"]', "the brief is complete");
  await page.click('form[action$="/release"] button');
  await page.waitForURL(/done=released/);
  await page.selectOption('form#assign select[name="assignee_actor_id"]', { label: "ui-submitter" });
  await page.fill('form#assign input[name="reason"]', "proved the lemma it builds on");
  await page.click('form#assign button[type="submit"]');
  await page.waitForURL(/done=assigned/);
  await expectText(page.locator(".holder"), "ui-submitter");
  await snap("manager-task-assigned");
  await signOut();

  say("access administrator: administrative grants and service principals");
  await signIn("ui-access-admin");
  await page.click('nav.mainnav a[href="/ui/admin/grants"]');
  await expectText(page.locator("table.admin-grants"), "ui-manager");
  await snap("access-grants");
  await page.goto(`${base}/ui/admin/service-actors`);
  await expectText(page.locator("table.services"), "workstream.payment.local_adapter");
  await snap("access-service-actors");
  await signOut();
});
