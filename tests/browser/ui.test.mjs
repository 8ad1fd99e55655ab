// The approvers' page (/ui/) in a real browser: Debian's chromium, headless, driven by
// playwright-core. Started by tests/gate/ui_browser_integration_test.cc against a real
// gate and nats-server that already hold the jobs named below.
//
//   node ui.test.mjs --url http://127.0.0.1:PORT/ui/ --approver TOKEN --viewer TOKEN \
//        --admin TOKEN --hostile-agent TEXT --out DIR [--chromium PATH]
//
// Checks: an approver signs in (by keyboard), sees the held job with its evidence,
// approves it with a reason and sees it leave the queue; a job whose arguments carry
// <script> and quote tricks renders as text and runs nothing (window.__xss stays unset);
// polling revalidates with ETags (304); self-approval is refused in words; the history
// lists the approval; a viewer sees the queue with no Approve or Reject button; a viewer
// sees the decision mix of the jobs the driver published (3 ALLOW, 2 DENY, 3
// REQUIRE_APPROVAL) and the recent denials with the hostile agent id as text, and no
// rollback button; a policy-admin rolls back from ui-browser-2 to ui-browser through a
// confirmation naming both, and the gate then reports ui-browser active; a page
// reached over plain http on a non-loopback name refuses to take a token. Screenshots at 1280 and 390 px go to --out.
// Exit 0: pass; 1: a check failed; 77: playwright-core or chromium missing (skipped).
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
}
for (const need of ["url", "approver", "viewer", "admin", "hostile-agent", "out"]) {
  if (!args[need]) {
    console.error(`usage: node ui.test.mjs --url URL --approver TOKEN --viewer TOKEN --admin TOKEN --hostile-agent TEXT --out DIR`);
    process.exit(2);
  }
}
const chromiumPath = args.chromium || "/usr/bin/chromium";
if (!existsSync(join(here, "node_modules", "playwright-core"))) {
  console.log("playwright-core not installed (npm ci in tests/browser): skipped");
  process.exit(77);
}
if (!existsSync(chromiumPath)) {
  console.log(`no chromium at ${chromiumPath}: skipped`);
  process.exit(77);
}
const { chromium } = createRequire(import.meta.url)("playwright-core");

let failures = 0;
function check(condition, what) {
  console.log(`${condition ? "ok  " : "FAIL"} ${what}`);
  if (!condition) failures++;
}

const TIMEOUT = 30000;
const url = new URL(args.url);
mkdirSync(args.out, { recursive: true });

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  // Root in a container has no user namespace for the sandbox. gate.test resolves to the
  // gate's loopback address, as a name that is not loopback.
  args: ["--no-sandbox", `--host-resolver-rules=MAP gate.test ${url.hostname}`],
});

function watch(page, label) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on("console", (m) => {
    // The self-approval the test provokes is answered 403; the browser logs that.
    const expected = /^Failed to load resource: .* status of 403/.test(m.text());
    if (m.type() === "error" && !expected) problems.push(`${label}: console error: ${m.text()}`);
  });
  return problems;
}

async function signIn(page, token) {
  await page.goto(args.url);
  const field = page.getByLabel("Token");
  await field.focus();
  await page.keyboard.type(token);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Pending approvals" }).waitFor({ timeout: TIMEOUT });
}

function card(page, jobId) {
  return page.locator("article.card", { hasText: jobId });
}

try {
  // --- the approver ----------------------------------------------------------------
  const approverContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await approverContext.newPage();
  const problems = watch(page, "approver");
  const polls = [];  // the queue's reads: status and tag, for the 304 check's message
  page.on("response", (r) => {
    if (r.url().includes("/api/v1/approvals?include_resolved=false")) {
      polls.push(`${r.status()} ${r.headers()["etag"] || "-"} ${r.request().headers()["if-none-match"] || "-"}`);
    }
  });
  const response = await page.goto(args.url);
  const csp = response.headers()["content-security-policy"] || "";
  check(csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'"),
        `the page carries a strict CSP (${csp})`);
  check(response.headers()["x-content-type-options"] === "nosniff", "nosniff");

  await signIn(page, args.approver);
  const migrate = card(page, "migrate-1");
  await migrate.waitFor({ timeout: TIMEOUT });
  const migrateText = await migrate.innerText();
  for (const want of ["job.db.migrate", "agent-7", "session-9", "bob", "prod-db",
                      "Prod database changes need a DBA", "dba", "ALTER TABLE users",
                      "sha256:", "risk 80"]) {
    check(migrateText.includes(want), `the held job shows ${JSON.stringify(want)}`);
  }
  check(/Held for\s+\d/.test(migrateText) && /Expires in\s+\d/.test(migrateText),
        "held for / expires in are shown");
  check(await page.evaluate(() => sessionStorage.getItem("jobgate.token") !== null) &&
          (await approverContext.cookies()).length === 0,
        "the token is in sessionStorage, no cookie is set");

  // Hostile content renders as text and runs nothing.
  const hostile = card(page, "xss-1");
  await hostile.waitFor({ timeout: TIMEOUT });
  const hostileText = await hostile.innerText();
  check(hostileText.includes("<script>window.__xss=1</script>"), "the <script> argument is shown as text");
  check(hostileText.includes(`"><img src=x onerror="window.__xss=2">`), "the quote trick is shown as text");
  check(hostileText.includes("o'neil</b><b>"), "the owner with quotes and tags is shown as text");
  check(await page.locator("article.card img, article.card script, article.card b").count() === 0,
        "no element was made from job content");
  check(await page.evaluate(() => window.__xss === undefined), "window.__xss is unset: no script ran");

  await page.screenshot({ path: join(args.out, "ui-1280.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(args.out, "ui-390.png"), fullPage: true });
  await page.screenshot({ path: join(args.out, "ui-390-viewport.png") });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 390, `nothing overflows 390 px (scroll width ${overflow})`);
  await page.setViewportSize({ width: 1280, height: 900 });

  // Polling revalidates: with nothing changed, the gate answers 304 and the page keeps
  // its queue.
  const notModified = await page.waitForResponse(
    (r) => r.url().includes("/api/v1/approvals?include_resolved=false") && r.status() === 304,
    { timeout: TIMEOUT }).catch(() => null);
  check(!!notModified, `the queue is polled with If-None-Match and answered 304 (${polls.join("; ")})`);
  check(await card(page, "migrate-1").count() === 1, "after a 304 the queue is still shown");

  // Self-approval is refused in words; the job stays.
  const own = card(page, "own-1");
  await own.getByLabel("Reason").fill("my own change");
  await own.getByRole("button", { name: "Approve" }).click();
  await own.getByText("you may not approve a job you own").waitFor({ timeout: TIMEOUT });
  check(true, "self-approval is refused in words");

  // Approve the migration: it leaves the queue.
  await migrate.getByLabel("Reason").fill("reviewed the migration");
  await migrate.getByRole("button", { name: "Approve" }).click();
  await migrate.getByText("Approved").waitFor({ timeout: TIMEOUT });
  await page.locator("article.card", { hasText: "migrate-1" }).waitFor({ state: "detached", timeout: TIMEOUT });
  check(true, "the approved job left the queue");
  check(await card(page, "xss-1").count() === 1, "the other held jobs stay");

  // History: who, when, why.
  await page.getByRole("button", { name: "History" }).click();
  const row = page.locator("#history-body tr", { hasText: "migrate-1" });
  await row.waitFor({ timeout: TIMEOUT });
  const rowText = await row.innerText();
  check(rowText.includes("APPROVED") && rowText.includes("alice") &&
          rowText.includes("reviewed the migration"),
        `the history shows the approval (${rowText.replace(/\s+/g, " ")})`);
  check(await page.evaluate(() => window.__xss === undefined), "still no script ran");
  check(problems.length === 0, `no page errors (${problems.join("; ")})`);

  // --- the viewer ------------------------------------------------------------------
  const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const viewer = await viewerContext.newPage();
  const viewerProblems = watch(viewer, "viewer");
  await signIn(viewer, args.viewer);
  await card(viewer, "xss-1").waitFor({ timeout: TIMEOUT });
  check(await viewer.getByRole("button", { name: "Approve" }).count() === 0 &&
          await viewer.getByRole("button", { name: "Reject" }).count() === 0,
        "a viewer sees no Approve or Reject button");
  check(await viewer.getByLabel("Reason").count() === 0, "a viewer sees no Reason field");
  await viewer.screenshot({ path: join(args.out, "ui-viewer-1280.png"), fullPage: true });

  // Activity: the decision mix of the jobs the driver published, and the recent denials.
  await viewer.getByRole("button", { name: "Activity" }).click();
  await viewer.getByRole("heading", { name: "Decisions in the last hour" }).waitFor({ timeout: TIMEOUT });
  const count = async (outcome) => {
    const cell = viewer.locator(`#stats-body tr[data-outcome="${outcome}"] td`).first();
    await cell.waitFor({ timeout: TIMEOUT });
    return (await cell.innerText()).trim();
  };
  const mix = { ALLOW: await count("ALLOW"), DENY: await count("DENY"),
                REQUIRE_APPROVAL: await count("REQUIRE_APPROVAL"), TERMINATE: await count("TERMINATE") };
  check(mix.ALLOW === "3" && mix.DENY === "2" && mix.REQUIRE_APPROVAL === "3" && mix.TERMINATE === "0",
        `the decision mix counts what was published (${JSON.stringify(mix)})`);
  check((await viewer.locator("#stats-total").innerText()).startsWith("8 decisions"),
        "eight decisions in all, on this replica");
  check(await viewer.locator("#stats-chart .bar").count() === 60, "sixty one-minute bars");
  const denialRows = viewer.locator("#denials-body tr");
  await denialRows.first().waitFor({ timeout: TIMEOUT });
  check(await denialRows.count() === 2, "the recent denials list both denied jobs");
  const denialText = await denialRows.first().innerText();
  for (const want of ["job.danger.drop", args["hostile-agent"], "session-d", "no-drops",
                      "Dropping things is denied", "DENY"]) {
    check(denialText.includes(want), `a denial shows ${JSON.stringify(want)} as text`);
  }
  check(await viewer.locator("#view-activity img, #view-activity script, #view-activity b").count() === 0,
        "no element was made from a denial's agent id");
  check(await viewer.evaluate(() => window.__xss === undefined), "the hostile agent id ran nothing");
  await viewer.screenshot({ path: join(args.out, "ui-activity-1280.png"), fullPage: true });
  await viewer.setViewportSize({ width: 390, height: 844 });
  await viewer.screenshot({ path: join(args.out, "ui-activity-390.png"), fullPage: true });
  const activityOverflow = await viewer.evaluate(() => document.documentElement.scrollWidth);
  check(activityOverflow <= 390, `the activity view does not overflow 390 px (scroll width ${activityOverflow})`);
  await viewer.setViewportSize({ width: 1280, height: 900 });

  // A viewer sees the snapshots, and no rollback, while an earlier one exists.
  await viewer.getByRole("button", { name: "Policy" }).click();
  await viewer.locator("#policy-body tr", { hasText: "ui-browser-2 (active)" }).waitFor({ timeout: TIMEOUT });
  check(await viewer.getByRole("button", { name: /Roll back/ }).count() === 0 &&
          await viewer.locator("#policy-table th.admin-only").isHidden(),
        "a viewer sees no rollback button");
  await page.getByRole("button", { name: "Policy" }).click();
  await page.locator("#policy-body tr", { hasText: "ui-browser-2 (active)" }).waitFor({ timeout: TIMEOUT });
  check(await page.getByRole("button", { name: /Roll back/ }).count() === 0,
        "an approver sees no rollback button");

  // --- the policy-admin: rollback behind a confirmation naming both snapshots ---------
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const admin = await adminContext.newPage();
  const adminProblems = watch(admin, "admin");
  await signIn(admin, args.admin);
  await admin.getByRole("button", { name: "Policy" }).click();
  const rollback = admin.getByRole("button", { name: "Roll back to ui-browser", exact: true });
  await rollback.waitFor({ timeout: TIMEOUT });
  check(await admin.getByRole("button", { name: /Roll back to/ }).count() === 1,
        "one rollback button: the one earlier snapshot");
  await rollback.click();
  const dialog = admin.getByRole("dialog", { name: "Roll back the policy?" });
  await dialog.waitFor({ timeout: TIMEOUT });
  const dialogText = await dialog.innerText();
  check(dialogText.includes("Make ui-browser the active policy in place of ui-browser-2?") &&
          (await admin.locator("#rollback-from").innerText()) === "ui-browser-2" &&
          (await admin.locator("#rollback-to").innerText()) === "ui-browser",
        `the confirmation names both snapshots (${dialogText.replace(/\s+/g, " ")})`);
  await dialog.getByLabel("Note").fill("back to the first snapshot");
  await admin.screenshot({ path: join(args.out, "ui-rollback-1280.png") });
  await admin.setViewportSize({ width: 390, height: 844 });
  await admin.screenshot({ path: join(args.out, "ui-rollback-390.png") });
  await admin.setViewportSize({ width: 1280, height: 900 });
  // Cancel first: nothing changes.
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "hidden", timeout: TIMEOUT });
  check((await admin.locator("#policy-active").innerText()) === "ui-browser-2",
        "cancel leaves the active snapshot alone");
  await rollback.click();
  await dialog.getByRole("button", { name: "Confirm rollback" }).click();
  await admin.getByText("Rolled back: ui-browser is now active (was ui-browser-2).").waitFor({ timeout: TIMEOUT });
  await admin.locator("#policy-body tr", { hasText: "ui-browser (active)" }).waitFor({ timeout: TIMEOUT });
  check((await admin.locator("#policy-active").innerText()) === "ui-browser",
        "after the rollback the gate reports ui-browser active");
  await admin.screenshot({ path: join(args.out, "ui-policy-admin-1280.png"), fullPage: true });
  check(adminProblems.length === 0, `no page errors (${adminProblems.join("; ")})`);

  await viewer.getByRole("button", { name: "Refresh" }).click();
  await viewer.locator("#policy-body tr", { hasText: "ui-browser (active)" }).waitFor({ timeout: TIMEOUT });
  check((await viewer.locator("#policy-active").innerText()) === "ui-browser",
        "a viewer sees the active snapshot");
  check(viewerProblems.length === 0, `no page errors (${viewerProblems.join("; ")})`);

  // --- plain http on a name that is not loopback ---------------------------------------
  const remote = await (await browser.newContext()).newPage();
  const remoteUrl = new URL(args.url);
  remoteUrl.hostname = "gate.test";
  await remote.goto(remoteUrl.href);
  await remote.getByText("it will not send a token").waitFor({ timeout: TIMEOUT });
  check(await remote.getByLabel("Token").isDisabled(), "over plain http to gate.test the Token field is disabled");
} catch (e) {
  console.log(`FAIL ${e.stack || e}`);
  failures++;
} finally {
  await browser.close();
}
console.log(failures === 0 ? "PASS" : `${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
