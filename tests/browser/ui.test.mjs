// The approvers' page (/ui/) in a real browser: Debian's chromium, headless, driven by
// playwright-core. Started by tests/gate/ui_browser_integration_test.cc against a real
// gate and nats-server that already hold the jobs named below.
//
//   node ui.test.mjs --url http://127.0.0.1:PORT/ui/ --approver TOKEN --viewer TOKEN \
//        --out DIR [--chromium PATH]
//
// Checks: an approver signs in (by keyboard), sees the held job with its evidence,
// approves it with a reason and sees it leave the queue; a job whose arguments carry
// <script> and quote tricks renders as text and runs nothing (window.__xss stays unset);
// polling revalidates with ETags (304); self-approval is refused in words; the history
// lists the approval; a viewer sees the queue with no Approve or Reject button; a page
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
for (const need of ["url", "approver", "viewer", "out"]) {
  if (!args[need]) {
    console.error(`usage: node ui.test.mjs --url URL --approver TOKEN --viewer TOKEN --out DIR`);
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
  await viewer.getByRole("button", { name: "Policy" }).click();
  await viewer.locator("#policy-body tr", { hasText: "ui-browser" }).waitFor({ timeout: TIMEOUT });
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
