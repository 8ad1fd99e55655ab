// Differential test of jobgate's secret detectors against an independent scanner,
// secretlint with its recommended preset.
//
//   node differential.mjs PATH/TO/jobgate_secret_scan
//
// Generates, from a fixed seed, (1) a corpus of credentials of every format either
// scanner knows, each built from the format's public definition and set in varied
// contexts (env files, JSON, YAML, headers, URLs, prose), and (2) a look-alike corpus of
// at least 1,000 ordinary lines (code, configs, logs, hashes, UUIDs, base64 images,
// documented example keys, references to secrets). Runs both scanners and checks:
//   * every span secretlint flags in the credential corpus, jobgate flags (an
//     overlapping span on the same line);
//   * jobgate flags nothing in the look-alike corpus.
// Prints both scanners' recall over the planted credentials and both false-positive
// counts. Exit 0: pass; 1: a check failed; 77: secretlint is not installed (skipped).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const secretlintBin = join(here, "node_modules", ".bin", "secretlint");
const scanBin = process.argv[2];
if (!scanBin) {
  console.error("usage: node differential.mjs JOBGATE_SECRET_SCAN");
  process.exit(2);
}
if (!existsSync(secretlintBin)) {
  console.log("secretlint not installed (npm ci in tests/tools/secretlint): skipped");
  process.exit(77);
}

// ---- deterministic generator -----------------------------------------------------------
let state = 0x2026_1205;
function rand() {  // xorshift32
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state / 0x1_0000_0000;
}
const pick = (arr) => arr[Math.floor(rand() * arr.length)];
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789", HEX = "0123456789abcdef";
const ALNUM = UPPER + LOWER + DIGITS, B64 = ALNUM + "+/", B64URL = ALNUM + "_-";
const BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
const chars = (alphabet, n) => Array.from({ length: n }, () => pick(alphabet)).join("");
const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

// Each format: [name, env var name, generator]. Written from the vendors' public
// definitions (prefix, alphabet, length).
const formats = [
  ["github-classic", "GITHUB_TOKEN", () => pick(["ghp", "gho", "ghu", "ghs", "ghr"]) + "_" + chars(ALNUM, 36)],
  ["github-fine-grained", "GH_TOKEN", () => "github_pat_11" + chars(UPPER + DIGITS, 20) + "_" + chars(ALNUM, 59)],
  ["gitlab-pat", "GITLAB_TOKEN", () => "glpat-" + chars(B64URL, 20)],
  ["gitlab-other", "CI_TOKEN", () => pick(["gldt-", "glrt-", "glptt-", "glft-", "glcbt-64_"]) + chars(B64URL, 20)],
  ["gitlab-runner-registration", "RUNNER_TOKEN", () => "GR1348941" + chars(B64URL, 20)],
  ["bitbucket-app-password", "BITBUCKET_APP_PASSWORD", () => "ATBB" + chars(ALNUM, 32)],
  ["atlassian-api-token", "JIRA_API_TOKEN", () => "ATATT3xFfGF0" + chars(B64URL, 170) + "=" + chars("ABCDEF0123456789", 8)],
  ["aws-access-key-id", "AWS_ACCESS_KEY_ID", () => pick(["AKIA", "ASIA"]) + chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)],
  ["aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", () => chars(B64, 40), "keyed"],
  ["aws-session-token", "AWS_SESSION_TOKEN", () => "IQoJb3JpZ2luX2Vj" + chars(B64, between(200, 400))],
  ["gcp-oauth-client-secret", "GOOGLE_CLIENT_SECRET", () => "GOCSPX-" + chars(B64URL, 28)],
  ["google-api-key", "GOOGLE_API_KEY", () => "AIza" + chars(B64URL, 35)],
  ["azure-storage-key", "AZURE_STORAGE_CONNECTION_STRING", () => "DefaultEndpointsProtocol=https;AccountName=acct" + chars(LOWER, 4) + ";AccountKey=" + chars(B64, 86) + "==;EndpointSuffix=core.windows.net", "raw"],
  ["azure-sas", "AZURE_SAS_URL", () => "https://acct.blob.core.windows.net/c/x?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-31T00:00:00Z&sig=" + chars(ALNUM, 43) + "%3D", "raw"],
  ["digitalocean", "DIGITALOCEAN_TOKEN", () => pick(["dop", "doo", "dor"]) + "_v1_" + chars(HEX, 64)],
  ["huggingface", "HF_TOKEN", () => "hf_" + chars(UPPER + LOWER, 34)],
  ["openai-project", "OPENAI_API_KEY", () => "sk-proj-" + chars(B64URL, 74) + "T3BlbkFJ" + chars(B64URL, 74)],
  ["openai-legacy", "OPENAI_API_KEY", () => "sk-" + chars(ALNUM, 20) + "T3BlbkFJ" + chars(ALNUM, 20)],
  ["anthropic", "ANTHROPIC_API_KEY", () => "sk-ant-api03-" + chars(B64URL, 93) + "AA"],
  ["cohere", "COHERE_API_KEY", () => chars(ALNUM, 40), "keyed"],
  ["stripe", "STRIPE_SECRET_KEY", () => pick(["sk_live_", "sk_test_", "rk_live_"]) + chars(ALNUM, between(24, 99))],
  ["square", "SQUARE_ACCESS_TOKEN", () => pick(["EAAA" + chars(B64URL, 60), "sq0atp-" + chars(B64URL, 22), "sq0csp-" + chars(B64URL, 43)])],
  ["twilio-api-key", "TWILIO_API_KEY", () => "SK" + chars(HEX, 32)],
  ["sendgrid", "SENDGRID_API_KEY", () => "SG." + chars(B64URL, 22) + "." + chars(B64URL, 43)],
  ["mailgun", "MAILGUN_API_KEY", () => pick(["key-" + chars(HEX, 32), chars(HEX, 32) + "-" + chars(HEX, 8) + "-" + chars(HEX, 8)])],
  ["slack-bot", "SLACK_BOT_TOKEN", () => "xoxb-" + chars(DIGITS, 12) + "-" + chars(DIGITS, 13) + "-" + chars(ALNUM, 24)],
  ["slack-webhook", "SLACK_WEBHOOK_URL", () => "https://hooks.slack.com/services/T" + chars(UPPER + DIGITS, 10) + "/B" + chars(UPPER + DIGITS, 10) + "/" + chars(ALNUM, 24)],
  ["discord-webhook", "DISCORD_WEBHOOK", () => "https://discord.com/api/webhooks/" + chars(DIGITS, 19) + "/" + chars(B64URL, 68)],
  ["telegram-bot", "TELEGRAM_BOT_TOKEN", () => chars(DIGITS, 10) + ":AA" + chars(B64URL, 33)],
  ["shopify", "SHOPIFY_ACCESS_TOKEN", () => pick(["shpat_", "shpca_", "shppa_", "shpss_"]) + chars(HEX, 32)],
  ["linear", "LINEAR_API_KEY", () => "lin_api_" + chars(ALNUM, 40)],
  ["datadog", "DD_API_KEY", () => chars(HEX, 32), "keyed"],
  ["sentry", "SENTRY_AUTH_TOKEN", () => "sntryu_" + chars(HEX, 64)],
  ["npm", "NPM_TOKEN", () => "npm_" + chars(ALNUM, 36)],
  ["pypi", "PYPI_TOKEN", () => "pypi-AgEIcHlwaS5vcmc" + chars(B64URL, between(60, 180))],
  ["rubygems", "GEM_HOST_API_KEY", () => "rubygems_" + chars(HEX, 48)],
  ["nuget", "NUGET_API_KEY", () => "oy2" + chars(LOWER + DIGITS, 43)],
  ["dockerhub", "DOCKERHUB_TOKEN", () => "dckr_pat_" + chars(B64URL, 27)],
  ["vault", "VAULT_TOKEN", () => "hvs." + chars(B64URL, between(90, 120))],
  ["doppler", "DOPPLER_TOKEN", () => "dp.st." + chars(LOWER, 3) + "." + chars(ALNUM, 43)],
  ["onepassword", "OP_SERVICE_ACCOUNT_TOKEN", () => "ops_eyJzaWduSW5BZGRyZXNzIjoi" + chars(ALNUM, between(200, 600)) + "fQ=="],
  ["age", "SOPS_AGE_KEY", () => "AGE-SECRET-KEY-1" + chars(BECH32, 58)],
  ["groq", "GROQ_API_KEY", () => "gsk_" + chars(ALNUM, 52)],
  ["notion", "NOTION_TOKEN", () => "ntn_" + chars(DIGITS, 11) + chars(ALNUM, 35)],
  ["vercel", "VERCEL_TOKEN", () => pick(["vcp_", "vci_", "vca_"]) + chars(ALNUM, 24)],
  ["databricks", "DATABRICKS_TOKEN", () => "dapi" + chars(HEX, 32)],
  ["figma", "FIGMA_TOKEN", () => "figd_" + chars(B64URL, 40)],
  ["cloudflare", "CLOUDFLARE_API_TOKEN", () => pick(["cfk_", "cfut_", "cfat_"]) + chars(ALNUM, 40) + chars(HEX, 8)],
  ["tailscale", "TS_AUTHKEY", () => "tskey-auth-" + chars(ALNUM, 12) + "-" + chars(ALNUM, 30)],
  ["grafana", "GRAFANA_TOKEN", () => pick(["glc_" + chars(B64, 60), "glsa_" + chars(ALNUM, 32) + "_" + chars(HEX, 8)])],
  ["jwt", "ACCESS_TOKEN", () => "eyJhbGciOiJSUzI1NiJ9.eyJ" + chars(B64URL, 80) + "." + chars(B64URL, 43)],
  ["basic-auth-url", "REPO_URL", () => pick(["https", "http", "ftp"]) + "://" + chars(LOWER, 6) + ":" + chars(ALNUM, 16) + "@" + chars(LOWER, 8) + ".example.net/path", "raw"],
  ["database-url", "DATABASE_URL", () => pick(["postgres", "postgresql", "mysql", "mongodb", "mongodb+srv"]) + "://" + chars(LOWER, 5) + ":" + chars(ALNUM, 18) + "@db" + chars(DIGITS, 2) + ".internal:5432/app", "raw"],
  ["pem-private-key", "", () => "-----BEGIN " + pick(["RSA ", "EC ", "OPENSSH ", ""]) + "PRIVATE KEY-----\\n" + "MI" + chars(B64, 200) + "\\n-----END PRIVATE KEY-----", "raw"],
];

// Contexts a credential appears in. `keyed` formats (no prefix of their own) are only
// recognisable next to their name, as for both scanners.
function contexts(name, secret, kind) {
  const keyed = [
    `${name}=${secret}`,
    `export ${name}="${secret}"`,
    `${name.toLowerCase()}: ${secret}`,
    `"${name}": "${secret}",`,
  ];
  if (kind === "keyed") return keyed;
  if (kind === "raw") return [secret, `url: ${secret}`, `"${name || "value"}": "${secret}"`, `connect ${secret} now`];
  return [
    ...keyed,
    `Authorization: Bearer ${secret}`,
    `curl -H 'X-Api-Key: ${secret}' https://api.example.net/v1/items`,
    `logger.info("using credential ${secret} for upload")`,
    `    token = '${secret}'`,
    `[${secret}]`,
  ];
}

const positives = [];  // { line, secret, format }
for (const [format, name, gen, kind] of formats) {
  for (let i = 0; i < 30; i++) {
    const secret = gen();
    positives.push({ format, secret, line: pick(contexts(name || "KEY", secret, kind)) });
  }
}

// ---- look-alikes --------------------------------------------------------------------
const words = ["deploy", "service", "config", "update", "ticket", "review", "merge", "branch",
  "pipeline", "status", "report", "customer", "token", "secret", "password", "key", "auth"];
const refs = [
  () => `password_file=/run/secrets/${pick(words)}_${pick(words)}`,
  () => `api_key: ./config/keys/${pick(words)}.key`,
  () => `private_key=~/.ssh/id_${pick(["ed25519", "rsa", "ecdsa"])}`,
  () => `secret_arn=arn:aws:secretsmanager:us-east-1:${chars(DIGITS, 12)}:secret:prod/${pick(words)}-${chars(ALNUM, 6)}`,
  () => `token: vault:secret/data/${pick(["prod", "staging"])}/${pick(words)}#token`,
  () => `DB_PASSWORD=secret/data/${pick(["prod", "dev"])}/postgres`,
  () => `gcp_secret: projects/${pick(words)}-${chars(LOWER + DIGITS, 6)}/secrets/${pick(words)}/versions/latest`,
  () => `password: op://${pick(["Engineering", "Ops"])}/${pick(["Postgres", "Redis"])}/password`,
  () => `api_key=env:${pick(["OPENAI", "STRIPE", "GITHUB"])}_API_KEY`,
  () => `token = ${pick(["GITHUB", "GITLAB", "SLACK"])}_TOKEN`,
  () => `secret = config.${pick(words)}.${pick(["password", "token", "secret"])}`,
  () => `api_key = os.getenv("${pick(["OPENAI", "COHERE"])}_API_KEY")`,
  () => `password: \${{ secrets.${pick(["DB", "PG", "MYSQL"])}_PASSWORD }}`,
  () => `token: <your-${pick(words)}-token>`,
  () => `client_secret: @Microsoft.KeyVault(SecretUri=https://kv${chars(LOWER, 4)}.vault.azure.net/secrets/${pick(words)})`,
  () => `//registry.npmjs.org/:_authToken=\${NPM_TOKEN}`,
];
const lookAlikes = [];
const b64image = () => "data:image/png;base64,iVBORw0KGgo" + chars(B64, between(100, 300)) + "==";
const uuid = () => [8, 4, 4, 4, 12].map((n) => chars(HEX, n)).join("-");
const gens = [
  () => `commit ${chars(HEX, 40)}`,
  () => `sha256:${chars(HEX, 64)}`,
  () => `${chars(HEX, 64)}  dist/${pick(words)}-${between(1, 9)}.${between(0, 20)}.tar.gz`,
  () => `request_id=${uuid()} status=${pick([200, 201, 404, 500])} duration_ms=${between(1, 900)}`,
  () => `session_token: ${uuid()}`,
  () => `2026-12-05T08:${between(10, 59)}:${between(10, 59)}Z INFO ${pick(words)} ${pick(words)} completed in ${between(1, 999)}ms`,
  () => `<img src="${b64image()}" alt="${pick(words)}">`,
  () => `  background: url(${b64image()});`,
  () => `const ${pick(words)}${pick(["Id", "Name", "Count"])} = ${pick(["await", ""])} get${pick(["User", "Item"])}(${between(1, 99)});`,
  () => `if (${pick(words)}.length > ${between(1, 64)}) { return ${pick(["null", "false", "undefined"])}; }`,
  () => `def ${pick(words)}_${pick(words)}(self, ${pick(words)}): return self._${pick(words)}`,
  () => `${pick(words)}:   replicas: ${between(1, 5)}   image: registry.example.net/${pick(words)}:${between(1, 9)}.${between(0, 9)}`,
  () => `SELECT id, ${pick(words)} FROM ${pick(words)}s WHERE id = ${between(1, 9999)};`,
  () => `git checkout -b feature/${pick(words)}-${between(100, 999)} && npm run ${pick(["build", "test", "lint"])}`,
  () => `max_tokens=${between(256, 8192)} temperature=0.${between(0, 9)}`,
  () => "AKIAIOSFODNN7EXAMPLE",
  () => "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  () => "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
  () => "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
  () => `The ${pick(words)} ${pick(words)} must be rotated every ${between(30, 90)} days.`,
  () => `postgres://${pick(words)}@db.internal:5432/${pick(words)}`,
  () => `https://${pick(words)}.example.com:${between(1000, 9999)}/api/v1/${pick(words)}`,
  () => `-----BEGIN PUBLIC KEY-----\\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE${chars(B64, 40)}\\n-----END PUBLIC KEY-----`,
  () => `version = "${between(0, 9)}.${between(0, 30)}.${between(0, 99)}" checksum = "${chars(HEX, 64)}"`,
  () => `tokenizer = AutoTokenizer.from_pretrained("${pick(words)}-${between(1, 9)}b")`,
  ...refs,
];
while (lookAlikes.length < 1200) lookAlikes.push(pick(gens)());

// ---- run both scanners --------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), "jobgate-secretlint-"));
const posFile = join(dir, "positives.txt"), negFile = join(dir, "lookalikes.txt");
writeFileSync(posFile, positives.map((p) => p.line).join("\n") + "\n");
writeFileSync(negFile, lookAlikes.join("\n") + "\n");
writeFileSync(join(dir, ".secretlintrc.json"),
  JSON.stringify({ rules: [{ id: "@secretlint/secretlint-rule-preset-recommend" }] }));

function secretlint(file) {
  let out;
  try {
    out = execFileSync(secretlintBin, ["--secretlintrc", join(dir, ".secretlintrc.json"),
      "--format", "json", "--no-maskSecrets", file], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 28 });
  } catch (e) {
    out = e.stdout;  // exit 1 when it finds something
  }
  const results = JSON.parse(out);
  const spans = [];  // { line, begin, end, rule }
  for (const r of results) {
    for (const m of r.messages) {
      const [from, to] = m.range;
      // Ranges are offsets into the file; lines are ASCII, so they are byte offsets.
      spans.push({ line: m.loc.start.line, begin: m.loc.start.column,
        end: m.loc.start.line === m.loc.end.line ? m.loc.end.column : m.loc.start.column + (to - from),
        rule: m.ruleId.replace("@secretlint/secretlint-rule-", "") });
    }
  }
  return spans;
}
function jobgate(file) {
  const out = execFileSync(scanBin, [file], { encoding: "utf8", maxBuffer: 1 << 28 });
  return out.split("\n").filter(Boolean).map((l) => {
    const [line, begin, end, detector] = l.split(" ");
    return { line: +line, begin: +begin, end: +end, detector };
  });
}
const byLine = (spans) => {
  const m = new Map();
  for (const s of spans) (m.get(s.line) ?? m.set(s.line, []).get(s.line)).push(s);
  return m;
};

let failed = false;
const slPos = secretlint(posFile), jgPos = jobgate(posFile);
const slNeg = secretlint(negFile), jgNeg = jobgate(negFile);
rmSync(dir, { recursive: true, force: true });
const jgPosByLine = byLine(jgPos), slPosByLine = byLine(slPos);

// 1. Every span secretlint flags, jobgate flags (an overlapping span on the same line).
const missed = [];
for (const s of slPos) {
  const ours = jgPosByLine.get(s.line) ?? [];
  if (!ours.some((o) => o.begin < s.end && s.begin < o.end)) missed.push(s);
}
for (const s of missed) {
  const p = positives[s.line - 1];
  console.log(`MISSED: secretlint's ${s.rule} at line ${s.line} (${p.format}): ` +
    `${p.line.slice(Math.max(0, s.begin - 20), s.begin)}<${s.end - s.begin} chars>`);
  failed = true;
}

// 2. Recall over the planted credentials: a credential counts as found when a span
//    covers it (jobgate: the whole credential; secretlint: any overlap).
const perFormat = new Map();
let jgFound = 0, slFound = 0;
positives.forEach((p, i) => {
  const at = p.line.indexOf(p.secret), end = at + p.secret.length;
  const jg = (jgPosByLine.get(i + 1) ?? []).some((o) => o.begin <= at && o.end >= end ||
    // a URL/connection-string detector redacts only the password inside the secret
    (p.secret.length > 40 && o.begin >= at && o.end <= end));
  const sl = (slPosByLine.get(i + 1) ?? []).some((o) => o.begin < end && at < o.end);
  jgFound += jg; slFound += sl;
  const f = perFormat.get(p.format) ?? { n: 0, jg: 0, sl: 0 };
  f.n++; f.jg += jg; f.sl += sl; perFormat.set(p.format, f);
});
for (const [format, f] of perFormat) {
  if (f.jg < f.n) { console.log(`jobgate missed ${f.n - f.jg}/${f.n} of ${format}`); failed = true; }
}
const pct = (a, b) => (100 * a / b).toFixed(1) + "%";
console.log(`planted credentials: ${positives.length} of ${perFormat.size} formats`);
console.log(`recall: jobgate ${jgFound}/${positives.length} (${pct(jgFound, positives.length)}), ` +
  `secretlint ${slFound}/${positives.length} (${pct(slFound, positives.length)})`);
console.log(`secretlint findings on the credential corpus: ${slPos.length}, all flagged by jobgate: ${missed.filter((m) => !m.lookalike).length === 0}`);
const notSl = [...perFormat].filter(([, f]) => f.sl === 0).map(([k]) => k);
console.log(`formats secretlint's preset does not detect: ${notSl.join(", ") || "none"}`);

// 3. Look-alikes: jobgate flags none.
const fpLines = new Set(jgNeg.map((s) => s.line));
for (const line of fpLines) {
  const d = jgNeg.find((s) => s.line === line).detector;
  console.log(`FALSE POSITIVE (${d}) on look-alike line ${line}: ${lookAlikes[line - 1].slice(0, 120)}`);
}
if (fpLines.size > 0) failed = true;
console.log(`look-alikes: ${lookAlikes.length} lines; jobgate flagged ${fpLines.size} ` +
  `(${pct(fpLines.size, lookAlikes.length)}), secretlint flagged ${new Set(slNeg.map((s) => s.line)).size}`);
// What secretlint flags among the look-alikes: documented example keys (published by
// their vendors, e.g. Stripe's test key) that jobgate deliberately lets through.
const slNegKinds = new Map();
for (const s of slNeg) {
  const text = lookAlikes[s.line - 1].slice(s.begin, s.end);
  const key = `${s.rule}: ${text.length > 24 ? text.slice(0, 12) + "…" : text}`;
  slNegKinds.set(key, (slNegKinds.get(key) ?? 0) + 1);
}
for (const [k, n] of slNegKinds) console.log(`  secretlint on look-alikes: ${k} (${n} lines)`);
process.exit(failed ? 1 : 0);
