// The Cedar side of the engine benchmark (bench/run calls this; see README.md here).
//
//   node bench/cedar/bench.mjs --dir DIR --rules 10,100,1000,10000 [--seconds 2] [--json OUT]
//
// DIR holds what jobgate_benchgen wrote for each rule count: policy-N.cedar (the
// benchmark policy translated to Cedar), jobs-N.jsonl (the job set as jobgate JSON) and
// expected-N.json (jobgate's verdict for each job). For each rule count this script
// parses the policy set once (preparsePolicySet), turns every job into a Cedar request,
// checks that Cedar's allow/deny equals jobgate's on every job, and only then times
// statefulIsAuthorized over the job set in turn (CPU time per decision). Any difference, parse failure or
// evaluation error aborts with exit status 1 before a figure is printed.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const cedar = require("@cedar-policy/cedar-wasm/nodejs");

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

// Cedar values: strings, booleans, whole numbers (Long), sets, records. jobgate JSON
// numbers that are not whole and nulls have no counterpart; no benchmark rule reads them.
function cedarValue(v) {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(cedarValue).filter((x) => x !== undefined);
  if (typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      const c = cedarValue(x);
      if (c !== undefined) out[k] = c;
    }
    return out;
  }
  if (typeof v === "number") return Number.isInteger(v) ? v : undefined;
  return v;
}

// One jobgate job as a Cedar request: the agent is the principal (its actor fields as
// attributes), the action is "dispatch", the job the resource, the job's fields the
// context. Absent string fields are "" in both engines.
function toRequest(job, policySetId) {
  const actor = job.actor || {};
  const principal = { type: "Agent", id: actor.agent_id || "anonymous" };
  return {
    principal,
    action: { type: "Action", id: "dispatch" },
    resource: { type: "Job", id: job.job_id },
    context: {
      topic: job.topic || "",
      capability: job.capability || "",
      environment: job.environment || "",
      risk_tags: job.risk_tags || [],
      labels: job.labels || {},
      args: cedarValue(job.args || {}),
    },
    entities: [
      {
        uid: principal,
        attrs: {
          team: actor.team || "",
          owner: actor.owner || "",
          type: actor.type || "",
          session_id: actor.session_id || "",
        },
        parents: [],
      },
    ],
    preparsedPolicySetId: policySetId,
  };
}

function fail(message) {
  console.error(`cedar bench: ${message}`);
  process.exit(1);
}

// CPU ns per statefulIsAuthorized call over `requests` in turn: warm up (V8 tiers wasm
// up after a few thousand calls) for 5,000 calls or 1 s of CPU, whichever comes first;
// then whole passes over the requests until `seconds` of CPU have been spent (at least
// one pass). CPU time of this process, as Google Benchmark's cpu_time on jobgate's side,
// so other load on a shared machine counts as little as it can; wall time beside it.
function time(requests, seconds) {
  const cpuNs = (since) => {
    const c = process.cpuUsage(since);
    return (c.user + c.system) * 1000;
  };
  let sink = 0;
  const warmCpu = process.cpuUsage();
  for (let warmed = 0; warmed < 5000 && cpuNs(warmCpu) < 1e9; warmed += requests.length) {
    for (const r of requests) sink += cedar.statefulIsAuthorized(r).type.length;
  }
  let calls = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  do {
    for (const r of requests) sink += cedar.statefulIsAuthorized(r).type.length;
    calls += requests.length;
  } while (cpuNs(cpuStart) < seconds * 1e9);
  const wall = Number(process.hrtime.bigint() - start);
  const cpu = cpuNs(cpuStart);
  if (sink === 0) fail("unreachable");
  return { calls, ns: cpu / calls, wall_ns: wall / calls };
}

function benchOne(dir, rules, seconds) {
  const policyText = readFileSync(join(dir, `policy-${rules}.cedar`), "utf8");
  const jobs = readFileSync(join(dir, `jobs-${rules}.jsonl`), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  const expected = JSON.parse(readFileSync(join(dir, `expected-${rules}.json`), "utf8")).jobs;
  if (expected.length !== jobs.length) fail(`rules ${rules}: ${jobs.length} jobs, ${expected.length} answers`);

  const id = `bench-${rules}`;
  const t0 = process.hrtime.bigint();
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: policyText });
  const parseMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (parsed.type !== "success") fail(`rules ${rules}: policy parse failed: ${JSON.stringify(parsed.errors).slice(0, 2000)}`);

  const requests = jobs.map((j) => toRequest(j, id));
  // Verification: every job, before any timing counts.
  const mismatches = [];
  let allowed = 0;
  for (let i = 0; i < requests.length; ++i) {
    const answer = cedar.statefulIsAuthorized(requests[i]);
    if (answer.type !== "success") fail(`rules ${rules}: job ${jobs[i].job_id}: ${JSON.stringify(answer.errors)}`);
    if (answer.response.diagnostics.errors.length) {
      fail(`rules ${rules}: job ${jobs[i].job_id}: evaluation errors ${JSON.stringify(answer.response.diagnostics.errors).slice(0, 1000)}`);
    }
    const allow = answer.response.decision === "allow";
    allowed += allow;
    if (allow !== expected[i].allow) {
      mismatches.push(`${jobs[i].job_id}: jobgate ${expected[i].verdict} (${expected[i].matched_rule || "defaults"}), cedar ${answer.response.decision} (${answer.response.diagnostics.reason.join(",")})`);
    }
  }
  if (mismatches.length) fail(`rules ${rules}: ${mismatches.length} of ${jobs.length} answers differ:\n  ${mismatches.join("\n  ")}`);

  const t = time(requests, seconds);
  // The fixed cost of a call (request conversion, wasm boundary) with no policy at all.
  const emptyId = `empty-${rules}`;
  cedar.preparsePolicySet(emptyId, { staticPolicies: "" });
  const overhead = time(jobs.map((j) => toRequest(j, emptyId)), Math.min(seconds, 1));
  return {
    rules,
    jobs: jobs.length,
    allowed,
    verified: true,
    parse_ms: parseMs,
    decisions: t.calls,
    ns_per_decision: t.ns,
    decisions_per_s: 1e9 / t.ns,
    wall_ns_per_decision: t.wall_ns,
    empty_policy_ns_per_call: overhead.ns,
  };
}

const dir = flag("dir", ".");
const seconds = Number(flag("seconds", "2"));
const rulesList = flag("rules", "10,100,1000,10000").split(",").map(Number);
const results = [];
for (const rules of rulesList) {
  const r = benchOne(dir, rules, seconds);
  console.error(`cedar: ${rules} rules: ${r.jobs} jobs verified (${r.allowed} allowed), ${r.ns_per_decision.toFixed(0)} ns/decision`);
  results.push(r);
}
const out = { cedar_version: cedar.getCedarVersion(), node: process.version, results };
const json = flag("json", "");
if (json) writeFileSync(json, JSON.stringify(out, null, 2));
else console.log(JSON.stringify(out, null, 2));
