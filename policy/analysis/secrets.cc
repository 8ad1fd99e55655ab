#include "policy/analysis/secrets.h"

#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <type_traits>
#include <unordered_set>

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <atomic>

#include "base/hash.h"

namespace jobgate::policy {

struct SecretScanner::Detector {
  std::string id;
  std::unique_ptr<RE2> re;
  int secret_group = 0;         // 0: the whole match is the secret
  double min_entropy = 0;       // bits per byte the secret must reach (generic detector)
  bool skip_hash_like = false;  // ignore UUIDs and bare SHA-1/SHA-256 hex (generic)
};

namespace {

// One catalogue entry. Patterns follow each format's public definition: the vendor's
// documented prefix and length where there is one. RE2 syntax; linear time.
struct DetectorSpec {
  const char* id;
  const char* pattern;
  int secret_group;
  double min_entropy;
  bool skip_hash_like;
};

constexpr DetectorSpec kCatalogue[] = {
    // PEM private keys of every kind: RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8, PGP (a GCP
    // service-account key file carries one as "private_key"). An unterminated block is
    // redacted to the end of the text.
    {"private-key",
     R"(-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*))",
     0, 0, false},
    // PuTTY private key files (PPK v2 and v3): from the header to the Private-MAC line, or
    // to the end of the text when the file is cut short.
    {"putty-private-key",
     R"(PuTTY-User-Key-File-[0-9]+:(?:[\s\S]*?Private-MAC:[ \t]*[0-9A-Fa-f]+|[\s\S]*))", 0, 0,
     false},
    // age secret keys: Bech32 with the HRP "AGE-SECRET-KEY-"; plugin identities too.
    {"age-secret-key",
     R"(\b(AGE-(?:SECRET-KEY|PLUGIN-[A-Z0-9]+-)-?1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58,})\b)",
     1, 0, false},
    // AWS access key ids: AKIA (long-term), ASIA (STS), and the other documented prefixes.
    {"aws-access-key-id",
     R"(\b((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA|A3T[A-Z0-9])[A-Z0-9]{16})\b)", 1, 0,
     false},
    // AWS secret access keys appear next to their name (env, config, STS's JSON
    // "SecretAccessKey"); the value is 40 base64 chars.
    {"aws-secret-access-key",
     R"((?i)(?:aws_?)?secret_?access_?key["']?\s*(?::|=|:=|=>)\s*["']?([A-Za-z0-9/+]{40})\b)", 1,
     0, false},
    // AWS STS session tokens: by name, or by the documented leading bytes of the token
    // ("FwoGZXIvYXdz", "IQoJb3JpZ2lu" are base64 of its fixed header).
    {"aws-session-token",
     R"((?i:(?:aws_?)?session_?token["']?\s*(?::|=|:=|=>)\s*["']?)([A-Za-z0-9/+=]{100,})|((?:FwoGZXIvYXdz|IQoJb3JpZ2lu)[A-Za-z0-9/+=]{80,}))",
     1, 0, false},
    // GitHub: classic and fine-grained PATs, OAuth, user-to-server, server-to-server,
    // refresh tokens.
    {"github-pat", R"(\b(ghp_[A-Za-z0-9_]{36}|github_pat_[A-Za-z0-9_]{36,255})\b)", 1, 0, false},
    {"github-oauth",
     R"(\b(gho_[A-Za-z0-9_]{36})\b|https?://([^\s:@/]{1,256}):x-oauth-basic@github\.com/)", 1, 0,
     false},
    // ghu_/ghs_ tokens, and installation tokens in the newer ghs_<id>_<JWT-like> form.
    {"github-app-token",
     R"(\b((?:ghu|ghs)_[A-Za-z0-9_]{36}|ghs_[0-9]{1,20}_[A-Za-z0-9_\-]{1,1000}\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]{1,1000})(?:[^A-Za-z0-9_\-]|$))",
     1, 0, false},
    {"github-refresh-token", R"(\b(ghr_[A-Za-z0-9_]{36,76})\b)", 1, 0, false},
    // GitLab: personal, deploy, runner, pipeline-trigger, feed, incoming-mail, agent,
    // OAuth-app, CI job, SCIM and feature-flag tokens; legacy runner registration tokens.
    {"gitlab-token",
     R"(\b((?:glpat|gldt|glrt|glrtr|glptt|glft|glimt|glagent|gloas|glcbt|glsoat|glffct)-[A-Za-z0-9_\-.]{20,300}|GR1348941[A-Za-z0-9_\-]{20,})\b)",
     1, 0, false},
    // Atlassian API tokens, Bitbucket app passwords and access tokens.
    {"atlassian-token", R"(\b((?:ATATT|ATBB|ATCTT|ATSTT)[A-Za-z0-9_\-=]{28,300}))", 1, 0, false},
    // Slack: bot, user, app, refresh, config tokens; incoming webhooks.
    {"slack-token",
     R"(\b(xox[abposre]-(?:[0-9]-)?(?:[A-Za-z0-9]{1,48}-)+[A-Za-z0-9]{1,64}|xox[abposre]-(?:[0-9]+-)*[A-Za-z0-9]{10,48}(?:-[A-Za-z0-9]{10,64})?|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]{32,80}|xoxe(?:\.xox[bp])?-[0-9]-[A-Za-z0-9]{40,160})\b)",
     1, 0, false},
    {"slack-webhook",
     R"((https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+\-]{20,160}))", 1,
     0, false},
    // Discord webhooks (the token is the last path segment) and bot tokens.
    {"discord-webhook",
     R"(https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/([A-Za-z0-9_\-]{60,68}))",
     1, 0, false},
    {"discord-bot-token", R"(\b([MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})\b)",
     1, 0, false},
    // Telegram bot tokens: the bot's numeric id, a colon, 35 chars starting "AA".
    {"telegram-bot-token", R"((?:^|[^0-9])([0-9]{8,10}:AA[A-Za-z0-9_\-]{33})(?:[^A-Za-z0-9_\-]|$))", 1, 0,
     false},
    // JSON Web Tokens: base64url header and payload, both JSON objects ("eyJ" = '{"').
    {"jwt", R"(\b(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}))", 1, 0,
     false},
    // Stripe secret and restricted keys, live and test; webhook signing secrets.
    {"stripe-key", R"(\b((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,247}|whsec_[A-Za-z0-9]{32,})\b)", 1,
     0, false},
    // Square: access tokens (sq0atp-, EAAA), OAuth application secrets (sq0csp-).
    {"square-token", R"(\b(sq0atp-[A-Za-z0-9_\-]{22,60}|sq0csp-[A-Za-z0-9_\-]{43,60}|EAAA[A-Za-z0-9_\-]{60,})\b)",
     1, 0, false},
    // Google: API keys, OAuth client secrets, OAuth access and refresh tokens.
    {"google-api-key", R"(\b(AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$))", 1, 0, false},
    {"gcp-oauth-secret",
     R"(\b(GOCSPX-[A-Za-z0-9_\-]{28}|ya29\.[A-Za-z0-9_\-]{30,}|1//0[A-Za-z0-9_\-]{40,}))", 1, 0,
     false},
    // Azure: storage account keys (88 base64 chars, in a connection string or by name),
    // SAS signatures, Entra ID client secrets.
    {"azure-storage-key",
     R"((?i:account_?key["']?\s*(?::|=|:=|=>)\s*["']?)([A-Za-z0-9+/]{86}==))", 1, 0, false},
    {"azure-sas-token", R"((?i)[?&;\s"']sig=([A-Za-z0-9%+/]{40,120}=*))", 1, 0, false},
    {"azure-client-secret", R"(\b([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}))", 1, 0, false},
    // DigitalOcean personal, OAuth and refresh tokens.
    {"digitalocean-token", R"(\b(do[por]_v1_[a-f0-9]{64})\b)", 1, 0, false},
    // Hugging Face user and organisation tokens.
    {"huggingface-token", R"(\b((?:hf|api_org)_[A-Za-z0-9]{34,40})\b)", 1, 0, false},
    // OpenAI: project, service-account, admin and user keys, and the legacy format with
    // the "T3BlbkFJ" marker.
    {"openai-api-key",
     R"(\b(sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{40,200}|sk-[A-Za-z0-9_\-]{20,74}T3BlbkFJ[A-Za-z0-9_\-]{20,74})(?:[^A-Za-z0-9_\-]|$))",
     1, 0, false},
    // Anthropic API and admin keys.
    {"anthropic-api-key", R"(\b(sk-ant-(?:api|admin|sid|oat|ort)[0-9]{2}-[A-Za-z0-9_\-]{32,200}))", 1,
     0, false},
    // Cohere keys have no prefix: 40 alphanumerics next to the name.
    {"cohere-api-key",
     R"((?i:co(?:here)?_?api_?key["']?\s*(?::|=|:=|=>)\s*["']?)([A-Za-z0-9]{40})\b)", 1, 0, false},
    // Twilio API key SIDs with their secrets by name, and auth tokens by name.
    {"twilio-key",
     R"(\b(SK[0-9a-f]{32})\b|(?i:twilio_?(?:auth_?token|api_?secret)["']?\s*(?::|=|:=|=>)\s*["']?)([A-Za-z0-9]{32})\b)",
     1, 0, false},
    // SendGrid API keys; Mailgun API keys (legacy "key-" and the current
    // <32 hex>-<8 hex>-<8 hex>).
    {"sendgrid-api-key", R"(\b(SG\.[A-Za-z0-9_\-]{16,128}\.[A-Za-z0-9_\-]{16,256})\b)", 1, 0, false},
    {"mailgun-api-key", R"(\b(key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})\b)", 1, 0,
     false},
    // Shopify access tokens: admin API, custom app, private app, shared secret.
    {"shopify-token", R"(\b(shp(?:at|ca|pa|ss)_[A-Za-z0-9]{32,64})\b)", 1, 0, false},
    // Linear API keys and OAuth tokens.
    {"linear-api-key", R"(\b(lin_(?:api|oauth)_[A-Za-z0-9_]{32,128})\b)", 1, 0, false},
    // Datadog API (32 hex) and application (40 hex) keys: no prefix, so by name.
    {"datadog-key",
     R"((?i:(?:dd|datadog)_?(?:api|app|application)_?key["']?\s*(?::|=|:=|=>)\s*["']?)([a-f0-9]{40}|[a-f0-9]{32})\b)",
     1, 0, false},
    // Sentry organisation and user auth tokens.
    {"sentry-token", R"(\b(sntrys_eyJ[A-Za-z0-9+/=_\-]{50,}|sntryu_[a-f0-9]{64})\b)", 1, 0, false},
    // npm access tokens, and any _authToken in an .npmrc (legacy tokens are UUIDs).
    {"npm-token", R"(\b(npm_[A-Za-z0-9]{36})\b|(?:^|[:\s])_auth(?:Token)?\s*=\s*([^\s"'$]{16,}))", 1,
     0, false},
    // PyPI API tokens (macaroons for pypi.org or test.pypi.org).
    {"pypi-token",
     R"(\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}|pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_\-]{50,}))",
     1, 0, false},
    // RubyGems API keys; NuGet API keys; Docker Hub personal and organisation tokens.
    {"rubygems-api-key", R"(\b(rubygems_[a-f0-9]{48})\b)", 1, 0, false},
    {"nuget-api-key", R"(\b(oy2[a-z0-9]{43})\b)", 1, 0, false},
    {"dockerhub-token", R"(\b(dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,})\b)", 1, 0, false},
    // HashiCorp Vault service, batch and recovery tokens.
    {"vault-token", R"(\b(hv[sbr]\.[A-Za-z0-9_\-]{24,})\b)", 1, 0, false},
    // Doppler tokens: personal, service, service-account, CLI, SCIM, audit.
    {"doppler-token", R"(\b(dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_.\-]{40,})\b)", 1, 0,
     false},
    // 1Password service-account tokens ("ops_" + base64 JSON) and account secret keys.
    {"onepassword-token",
     R"(\b(ops_ey[A-Za-z0-9+/_\-]{100,}={0,3}|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{6}|[A-Z0-9]{11})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})\b)",
     1, 0, false},
    // Groq, Notion, Vercel, Databricks, Figma, Cloudflare, Tailscale, Grafana: formats the
    // independent scanner (secretlint's recommended preset) knows, kept at parity.
    {"groq-api-key", R"(\b(gsk_[A-Za-z0-9]{52})\b)", 1, 0, false},
    {"notion-token", R"(\b(ntn_[0-9]{11}[A-Za-z0-9]{35})\b)", 1, 0, false},
    {"vercel-token", R"(\b(vc[piark]_[A-Za-z0-9]{20,60})\b)", 1, 0, false},
    {"databricks-token", R"(\b(dapi[a-fA-F0-9]{32}(?:-[0-9])?)(?:[^A-Za-z0-9]|$))", 1, 0, false},
    {"figma-token", R"(\b(figd_[A-Za-z0-9_\-]{40,200}))", 1, 0, false},
    {"cloudflare-token", R"(\b((?:cfk|cfut|cfat)_[A-Za-z0-9]{40}[0-9a-f]{8})\b)", 1, 0, false},
    {"tailscale-key", R"(\b(tskey-[a-z]{2,20}-[A-Za-z0-9_]{8,40}-[A-Za-z0-9_]{16,60})\b)", 1, 0,
     false},
    {"grafana-token",
     R"(\b(glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})(?:[^A-Za-z0-9+/=]|$))",
     1, 0, false},
    // Database and broker URLs with a password: only the password is redacted, so the
    // audit trail still shows where the job connects.
    {"database-url-password",
     R"((?i)\b(?:postgres(?:ql)?|mysqlx?|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|clickhouse)://[^\s:/@]*:([^\s@/]{1,200})@[^\s/]+)",
     1, -1, false},
    // Basic auth in any other URL (https://user:password@host, ftp://..., git+https://...).
    {"url-basic-auth",
     R"(\b[A-Za-z][A-Za-z0-9+.\-]{1,30}://[^\s:/@"'<>]*:([^\s@/"'<>]{1,200})@[^\s/@]+)", 1, -1,
     false},
    // Generic: a secret-looking name, an assignment, and a value with enough entropy.
    {"generic-secret",
     R"((?i)(?:^|[^A-Za-z0-9])(?:[A-Za-z0-9]+[_.\-])*(?:api[_.\-]?key|apikey|secret|token|passw(?:or)?d|passwd|pwd|credentials?|auth[_.\-]?key|private[_.\-]?key|access[_.\-]?key|client[_.\-]?secret)(?:[_.\-][A-Za-z0-9]+)*["']?[ \t]*(?::|=|:=|=>)[ \t]*["']?([^\s"'`,;|<>]{8,200}))",
     1, 3.0, true},
};

// Values that look like secrets but are documented examples or placeholders.
const std::unordered_set<std::string_view>& ExampleValues() {
  static const std::unordered_set<std::string_view> values = {
      "AKIAIOSFODNN7EXAMPLE",                      // AWS documentation
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  // AWS documentation
      "sk_test_4eC39HqLyjWDarjtT1zdp7dc",          // Stripe documentation
      "sk_test_BQokikJOvBiI2HlWgH4olfQ2",          // Stripe documentation
      // jwt.io's example token
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
  };
  return values;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Lower(std::string_view v) {
  std::string lower(v);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// Placeholders: template variables, angle-bracket hints, stop words, markers.
bool IsPlaceholder(std::string_view v) {
  if (v.empty()) return true;
  if (v.front() == '$' || v.front() == '%' || v.front() == '<' || v.front() == '{' ||
      v.front() == '[' || v.front() == '@') {
    return true;  // $VAR, ${VAR}, %VAR%, <your-key>, {{ secrets.X }}, [REDACTED:...], @Ref(..)
  }
  static constexpr std::array<std::string_view, 17> kStopWords = {
      "example", "placeholder", "redacted",    "changeme",   "xxxxxxxx",   "********",
      "your_",   "your-",       "dummy",       "sample",     "notasecret", "undefined",
      "process.env", "os.environ", "getenv", "fixme", "replace_me"};
  const std::string lower = Lower(v);
  for (std::string_view w : kStopWords) {
    if (lower.find(w) != std::string::npos) return true;
  }
  static constexpr std::array<std::string_view, 10> kWholeWords = {
      "password", "secret", "token", "pass", "null", "none", "true", "false", "todo", "***"};
  for (std::string_view w : kWholeWords) {
    if (lower == w) return true;
  }
  return false;
}

// True when every byte of `s` is in `alphabet`.
bool AllOf(std::string_view s, std::string_view alphabet) {
  return !s.empty() && s.find_first_not_of(alphabet) == std::string_view::npos;
}

constexpr std::string_view kLowerPath = "abcdefghijklmnopqrstuvwxyz0123456789_.-/";

// A word a person names a thing with: snake_case, SCREAMING_CASE, or camelCase letters;
// not a random mix of cases and digits.
bool IsIdentifierWord(std::string_view seg) {
  if (seg.empty() || std::isdigit(static_cast<unsigned char>(seg.front()))) return false;
  if (AllOf(seg, "abcdefghijklmnopqrstuvwxyz0123456789_")) return true;
  if (AllOf(seg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")) return true;
  return std::islower(static_cast<unsigned char>(seg.front())) &&
         AllOf(seg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
}

// References to a secret rather than the secret itself: file paths, ARNs, secret-store
// URIs and paths (Vault, AWS/GCP/Azure secret managers, 1Password, SOPS), environment
// variable names, dotted config lookups, and code that fetches a value.
bool IsReference(std::string_view v) {
  // File paths: absolute, relative, home, Windows drive.
  if (v.front() == '/' || v.front() == '~' || StartsWith(v, "./") || StartsWith(v, "../") ||
      (v.size() > 2 && std::isalpha(static_cast<unsigned char>(v[0])) && v[1] == ':' &&
       (v[2] == '\\' || v[2] == '/'))) {
    return true;
  }
  const std::string lower = Lower(v);
  static constexpr std::array<std::string_view, 16> kRefPrefixes = {
      "arn:",   "env:",    "file:",   "vault:",  "ssm:",     "secretsmanager:", "sm:",
      "gcpsm:", "awssm:",  "azkv:",   "keyvault:", "op:",    "sops:",           "ref:",
      "secret:", "secrets."};
  for (std::string_view p : kRefPrefixes) {
    if (StartsWith(lower, p)) return true;
  }
  // Any URI (op://vault/item, vault://..., https://..., k8s://...): where a secret is.
  const size_t scheme = v.find("://");
  if (scheme != std::string_view::npos && scheme > 0 &&
      AllOf(v.substr(0, scheme), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")) {
    return true;
  }
  // Secret-store paths: lower-case segments with slashes ("secret/data/prod/db",
  // "projects/p/secrets/s/versions/latest"). Base64 keys carry upper-case letters.
  if (v.find('/') != std::string_view::npos && AllOf(v, kLowerPath)) return true;
  // Environment variable names: upper-case words joined by underscores (DB_PASSWORD).
  if (v.find('_') != std::string_view::npos &&
      AllOf(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") &&
      std::isalpha(static_cast<unsigned char>(v.front()))) {
    return true;
  }
  // Dotted lookups of identifiers (config.db.password, settings.API_KEY, vars.dbToken).
  if (v.find('.') != std::string_view::npos) {
    bool idents = true;
    size_t begin = 0;
    while (idents && begin <= v.size()) {
      size_t end = v.find('.', begin);
      if (end == std::string_view::npos) end = v.size();
      idents = IsIdentifierWord(v.substr(begin, end - begin));
      begin = end + 1;
    }
    if (idents) return true;
  }
  // A YAML key ("password:\n  file: x" read as one line): a name, not a value.
  if (v.back() == ':') return true;
  // Code that fetches the value: getSecret("x"), os.getenv(X), vault.read(...).
  if (v.back() == ')' && v.find('(') != std::string_view::npos) return true;
  return false;
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// UUIDs and bare SHA-1 / SHA-256 hex digests (git object ids, checksums).
bool IsHashLike(std::string_view v) {
  if ((v.size() == 40 || v.size() == 64) && IsHex(v)) return true;
  if (v.size() == 36 && v[8] == '-' && v[13] == '-' && v[18] == '-' && v[23] == '-') {
    std::string hex;
    for (char c : v) {
      if (c != '-') hex.push_back(c);
    }
    return hex.size() == 32 && IsHex(hex);
  }
  return false;
}

constexpr std::string_view kMarkerOpen = "[REDACTED:";

// Length of the redaction marker ("[REDACTED:<detector>:<6 hex>]") at the start of `s`,
// or 0 when `s` does not start with one.
size_t MarkerLength(std::string_view s) {
  if (s.substr(0, kMarkerOpen.size()) != kMarkerOpen) return 0;
  size_t i = kMarkerOpen.size();
  const size_t id_begin = i;
  while (i < s.size() && i - id_begin <= 64 &&
         (std::islower(static_cast<unsigned char>(s[i])) ||
          std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '-')) {
    ++i;
  }
  if (i == id_begin || i >= s.size() || s[i] != ':') return 0;
  ++i;
  for (int k = 0; k < 6; ++k, ++i) {
    if (i >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i]))) return 0;
  }
  return i < s.size() && s[i] == ']' ? i + 1 : 0;
}

// Filler for blanked markers: not a word character nor space, so a blanked marker still
// reads as one opaque value to the detectors (`password=<marker>'rest` keeps `rest` out of
// the value, as in the original scan), and a span of it has no entropy.
constexpr char kMarkerFiller = '\x01';

// `text` with every redaction marker blanked to kMarkerFiller (same length, so spans
// carry over), or empty when it holds none. Markers name detectors
// ("database-url-password") and digests, which the detectors would otherwise read as a
// new secret: blanking them makes redaction idempotent (a redacted value scans clean).
std::string BlankMarkers(std::string_view text) {
  std::string out;
  size_t at = text.find(kMarkerOpen);
  while (at != std::string_view::npos) {
    const size_t n = MarkerLength(text.substr(at));
    if (n > 0) {
      if (out.empty()) out.assign(text);
      out.replace(at, n, n, kMarkerFiller);
    }
    at = text.find(kMarkerOpen, at + 1);
  }
  return out;
}

}  // namespace

double ShannonEntropy(std::string_view s) {
  if (s.empty()) return 0;
  std::array<int, 256> counts{};
  for (char c : s) ++counts[static_cast<unsigned char>(c)];
  double h = 0;
  const double n = static_cast<double>(s.size());
  for (int count : counts) {
    if (count == 0) continue;
    const double p = count / n;
    h -= p * std::log2(p);
  }
  return h;
}

SecretScanner::SecretScanner() {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(64 << 20);
  set_ = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  for (const DetectorSpec& spec : kCatalogue) {
    auto d = std::make_unique<Detector>();
    d->id = spec.id;
    d->re = std::make_unique<RE2>(spec.pattern, options);
    d->secret_group = spec.secret_group;
    d->min_entropy = spec.min_entropy;
    d->skip_hash_like = spec.skip_hash_like;
    // The catalogue is code: a pattern that fails to compile is a programming error
    // that the unit tests catch; it is left out rather than crashing the gate.
    if (!d->re->ok()) continue;
    std::string error;
    if (set_->Add(spec.pattern, &error) < 0) continue;
    ids_.push_back(d->id);
    detectors_.push_back(std::move(d));
  }
  set_->Compile();
}

const SecretScanner& SecretScanner::Default() {
  static const SecretScanner* scanner = new SecretScanner();
  return *scanner;
}

int SecretScanner::FindDetector(std::string_view id) const {
  for (size_t i = 0; i < ids_.size(); ++i) {
    if (ids_[i] == id) return static_cast<int>(i);
  }
  return -1;
}

bool SecretScanner::Accept(const Detector& d, std::string_view whole,
                           std::string_view secret) const {
  if (ExampleValues().count(secret) > 0 || ExampleValues().count(whole) > 0) return false;
  if (d.min_entropy != 0) {  // negative: placeholders and references only
    if (IsPlaceholder(secret) || IsReference(secret)) return false;
    if (d.min_entropy > 0 && ShannonEntropy(secret) < d.min_entropy) return false;
  }
  if (d.skip_hash_like && IsHashLike(secret)) return false;
  return true;
}

void SecretScanner::Scan(std::string_view original, std::vector<SecretMatch>* out) const {
  std::vector<int> fired;
  if (original.empty() || !set_->Match(original, &fired)) return;
  const std::string blanked = BlankMarkers(original);
  const std::string_view text = blanked.empty() ? original : std::string_view(blanked);
  if (!blanked.empty()) {
    fired.clear();
    if (!set_->Match(text, &fired)) return;
  }
  std::sort(fired.begin(), fired.end());
  const size_t first_new = out->size();
  constexpr int kMaxGroups = 4;
  for (int index : fired) {
    const Detector& d = *detectors_[static_cast<size_t>(index)];
    std::array<re2::StringPiece, kMaxGroups> groups;
    const int ngroups = std::min(kMaxGroups, 1 + d.re->NumberOfCapturingGroups());
    size_t pos = 0;
    while (pos <= text.size() &&
           d.re->Match(text, pos, text.size(), RE2::UNANCHORED, groups.data(), ngroups)) {
      const re2::StringPiece whole = groups[0];
      // The secret is the first group that took part (alternatives capture apart).
      re2::StringPiece secret = groups[static_cast<size_t>(std::min(d.secret_group, ngroups - 1))];
      for (int g = d.secret_group; g > 0 && g < ngroups && secret.data() == nullptr; ++g) {
        secret = groups[static_cast<size_t>(g)];
      }
      const size_t whole_end = static_cast<size_t>(whole.data() - text.data()) + whole.size();
      const bool only_marker =
          !blanked.empty() &&
          std::all_of(secret.begin(), secret.end(), [](char c) { return c == kMarkerFiller; });
      if (!secret.empty() && !only_marker &&
          Accept(d, std::string_view(whole.data(), whole.size()),
                 std::string_view(secret.data(), secret.size()))) {
        const size_t begin = static_cast<size_t>(secret.data() - text.data());
        out->push_back({static_cast<size_t>(index), begin, begin + secret.size()});
      }
      // Advance past this match (at least one byte, so empty matches cannot loop).
      pos = std::max(whole_end, pos + 1);
    }
  }
  // Sort by position; where spans overlap keep the earliest, extended to cover both, and
  // the more specific detector (catalogue order puts the generic one last).
  std::sort(out->begin() + static_cast<long>(first_new), out->end(),
            [](const SecretMatch& a, const SecretMatch& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.detector < b.detector;
            });
  size_t w = first_new;
  for (size_t r = first_new; r < out->size(); ++r) {
    if (w > first_new && (*out)[r].begin < (*out)[w - 1].end) {
      SecretMatch& prev = (*out)[w - 1];
      prev.end = std::max(prev.end, (*out)[r].end);
      prev.detector = std::min(prev.detector, (*out)[r].detector);
      continue;
    }
    (*out)[w++] = (*out)[r];
  }
  out->resize(w);
}

bool SecretScanner::Contains(std::string_view text) const {
  // The set alone answers "nothing here" for almost every string; only a hit needs the
  // per-detector scan and its filters (entropy, examples) to confirm.
  if (text.empty() || !set_->Match(text, nullptr)) return false;
  std::vector<SecretMatch> matches;
  Scan(text, &matches);
  return !matches.empty();
}

namespace {

// The marker key. Keys are never freed: a reader may still hold the previous one.
std::atomic<const std::string*> g_marker_key{nullptr};

const std::string& MarkerKey() {
  const std::string* key = g_marker_key.load(std::memory_order_acquire);
  if (key != nullptr) return *key;
  // No key set: one random key for this process (markers then correlate only within it).
  std::string random(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(random.data()), 32) != 1) {
    unsigned char fallback[kSha256Bytes];
    Sha256(std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()), fallback);
    random.assign(reinterpret_cast<const char*>(fallback), sizeof(fallback));
  }
  auto* fresh = new std::string(std::move(random));
  const std::string* expected = nullptr;
  if (!g_marker_key.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) {
    delete fresh;
    return *expected;
  }
  return *fresh;
}

}  // namespace

bool SecretScanner::SetMarkerKey(std::string_view key) {
  if (key.size() < 16) return false;
  g_marker_key.store(new std::string(key), std::memory_order_release);
  return true;
}

std::string SecretScanner::Marker(std::string_view detector, std::string_view secret) {
  const std::string& key = MarkerKey();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  std::string digest;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), mac,
           &mac_size) != nullptr &&
      mac_size >= 3) {
    AppendHex(mac, 3, &digest);
  } else {
    digest = "000000";  // never the plain digest: nothing of the secret when HMAC fails
  }
  return "[REDACTED:" + std::string(detector) + ":" + digest + "]";
}

std::string SecretScanner::Redact(std::string_view text, std::string_view path,
                                  std::vector<v1::Redaction>* redactions) const {
  std::vector<SecretMatch> matches;
  Scan(text, &matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const SecretMatch& m : matches) {
    out.append(text.substr(pos, m.begin - pos));
    out.append(Marker(ids_[m.detector], text.substr(m.begin, m.end - m.begin)));
    pos = m.end;
    if (redactions != nullptr) {
      v1::Redaction* r = &redactions->emplace_back();
      r->set_path(std::string(path));
      r->set_detector(ids_[m.detector]);
    }
  }
  out.append(text.substr(pos));
  return out;
}

namespace {

// Appends `suffix` to `path` when paths are wanted; otherwise builds nothing (scanning
// needs no paths, and this walk runs on every job).
template <bool kWithPaths>
std::string Child(std::string_view path, std::string_view separator, std::string_view key) {
  if constexpr (kWithPaths) {
    std::string out(path);
    out.append(separator).append(key);
    return out;
  } else {
    return {};
  }
}

// Deeper than this, args are not walked: the value counts as a finding of the
// pseudo-detector kTooDeep (fail closed). Decoded jobs never get here (protobuf's
// recursion limit of 100 messages allows about 48 nested lists); jobs built in process
// might.
constexpr int kMaxScanDepth = 64;

// Calls `visit(path, s)` for every string `s` inside `value`, struct keys included (path
// "" unless kWithPaths), and `too_deep(path, value)` for each struct or list nested
// deeper than kMaxScanDepth (whose replacement by a marker string then scans clean).
// In the mutable walk (ValueT not const) `rekey(path, map)` runs on every struct's field
// map before its values are walked, so that child paths are built from rewritten keys.
// ValueT is google::protobuf::Value or const Value: the same walk serves scanning and
// redaction.
template <bool kWithPaths, typename ValueT, typename Visit, typename TooDeep, typename Rekey>
void VisitStrings(ValueT& value, const std::string& path, int depth, Visit& visit,
                  TooDeep& too_deep, Rekey& rekey) {
  if (depth > kMaxScanDepth && value.kind_case() != google::protobuf::Value::kStringValue) {
    too_deep(path, value);  // a container we will not walk into
    return;
  }
  switch (value.kind_case()) {
    case google::protobuf::Value::kStringValue:
      if constexpr (std::is_const_v<ValueT>) {
        visit(path, value.string_value());
      } else {
        visit(path, *value.mutable_string_value());
      }
      break;
    case google::protobuf::Value::kStructValue:
      if constexpr (std::is_const_v<ValueT>) {
        for (const auto& [key, field] : value.struct_value().fields()) {
          visit(path, key);
          VisitStrings<kWithPaths>(field, Child<kWithPaths>(path, ".", key), depth + 1, visit,
                                   too_deep, rekey);
        }
      } else {
        rekey(path, *value.mutable_struct_value()->mutable_fields());
        for (auto& [key, field] : *value.mutable_struct_value()->mutable_fields()) {
          VisitStrings<kWithPaths>(field, Child<kWithPaths>(path, ".", key), depth + 1, visit,
                                   too_deep, rekey);
        }
      }
      break;
    case google::protobuf::Value::kListValue: {
      const int n = value.list_value().values_size();
      for (int i = 0; i < n; ++i) {
        const std::string item_path =
            kWithPaths ? Child<kWithPaths>(path, "[", std::to_string(i) + "]") : std::string();
        if constexpr (std::is_const_v<ValueT>) {
          VisitStrings<kWithPaths>(value.list_value().values(i), item_path, depth + 1, visit,
                                   too_deep, rekey);
        } else {
          VisitStrings<kWithPaths>(*value.mutable_list_value()->mutable_values(i), item_path,
                                   depth + 1, visit, too_deep, rekey);
        }
      }
      break;
    }
    default:
      break;
  }
}

// Every string a job carries: the routing fields (job_id, tenant_id, topic), capability,
// risk_tags, environment, every actor field, labels (keys and values), args (keys and
// values, recursively), and the payload's bytes whatever they are: a binary payload (NUL
// bytes, invalid UTF-8) is scanned too, so a secret next to a NUL byte cannot slip
// through (the detectors are byte-oriented RE2). tests/policy/secret_fields_test.cc walks
// the schema so that a string field added to Job or Actor cannot be left out here.
template <bool kWithPaths, typename JobT, typename Visit, typename TooDeep, typename Rekey>
void VisitJobStrings(JobT& job, Visit& visit, TooDeep& too_deep, Rekey& rekey) {
  const std::string none;
  auto name = [&](const char* field) { return kWithPaths ? std::string(field) : none; };
  if constexpr (std::is_const_v<JobT>) {
    visit(name("job_id"), job.job_id());
    visit(name("tenant_id"), job.tenant_id());
    visit(name("topic"), job.topic());
    visit(name("capability"), job.capability());
    for (const std::string& tag : job.risk_tags()) visit(name("risk_tags"), tag);
    visit(name("environment"), job.environment());
    if (job.has_actor()) {
      const v1::Actor& actor = job.actor();
      visit(name("actor.agent_id"), actor.agent_id());
      visit(name("actor.session_id"), actor.session_id());
      visit(name("actor.owner"), actor.owner());
      visit(name("actor.team"), actor.team());
      visit(name("actor.type"), actor.type());
    }
    if (job.has_args()) {
      for (const auto& [key, field] : job.args().fields()) {
        visit(name("args"), key);
        VisitStrings<kWithPaths>(field, Child<kWithPaths>("args", ".", key), 1, visit, too_deep,
                                 rekey);
      }
    }
    for (const auto& [key, value] : job.labels()) {
      visit(name("labels"), key);
      visit(kWithPaths ? "labels." + key : none, value);
    }
    if (!job.payload().empty()) visit(name("payload"), job.payload());
  } else {
    visit(name("job_id"), *job.mutable_job_id());
    visit(name("tenant_id"), *job.mutable_tenant_id());
    visit(name("topic"), *job.mutable_topic());
    visit(name("capability"), *job.mutable_capability());
    for (int i = 0; i < job.risk_tags_size(); ++i) {
      visit(kWithPaths ? "risk_tags[" + std::to_string(i) + "]" : none,
            *job.mutable_risk_tags(i));
    }
    visit(name("environment"), *job.mutable_environment());
    if (job.has_actor()) {
      v1::Actor& actor = *job.mutable_actor();
      visit(name("actor.agent_id"), *actor.mutable_agent_id());
      visit(name("actor.session_id"), *actor.mutable_session_id());
      visit(name("actor.owner"), *actor.mutable_owner());
      visit(name("actor.team"), *actor.mutable_team());
      visit(name("actor.type"), *actor.mutable_type());
    }
    if (job.has_args()) {
      rekey(std::string("args"), *job.mutable_args()->mutable_fields());
      for (auto& [key, field] : *job.mutable_args()->mutable_fields()) {
        VisitStrings<kWithPaths>(field, Child<kWithPaths>("args", ".", key), 1, visit, too_deep,
                                 rekey);
      }
    }
    rekey(std::string("labels"), *job.mutable_labels());
    for (auto& [key, value] : *job.mutable_labels()) {
      visit(kWithPaths ? "labels." + key : none, value);
    }
    if (!job.payload().empty()) visit(name("payload"), *job.mutable_payload());
  }
}

// Const walks have no keys to rewrite (they visit keys as strings).
struct NoRekey {
  template <typename MapT>
  void operator()(const std::string&, MapT&) const {}
};

}  // namespace

std::string_view SecretScanner::RoutingFieldWithSecret(const v1::Job& job) const {
  if (Contains(job.job_id())) return "job_id";
  if (Contains(job.tenant_id())) return "tenant_id";
  if (Contains(job.topic())) return "topic";
  return {};
}

int SecretScanner::RedactJob(v1::Job* job, std::vector<v1::Redaction>* redactions) const {
  int found = 0;
  std::vector<v1::Redaction> local;
  auto visit = [&](const std::string& path, std::string& s) {
    if (!Contains(s)) return;  // most strings: no copy, no per-detector scan
    const size_t before = local.size();
    s = Redact(s, path, &local);
    found += static_cast<int>(local.size() - before);
  };
  auto too_deep = [&](const std::string& path, google::protobuf::Value& value) {
    value.set_string_value(Marker(kTooDeepDetector, ""));
    v1::Redaction& r = local.emplace_back();
    r.set_path(path);
    r.set_detector(std::string(kTooDeepDetector));
    ++found;
  };
  // A key holding a secret is replaced by its redacted form; the value moves with it.
  auto rekey = [&](const std::string& path, auto& map) {
    std::vector<std::string> keys;
    for (const auto& entry : map) {
      if (Contains(entry.first)) keys.push_back(entry.first);
    }
    for (const std::string& key : keys) {
      std::vector<v1::Redaction> records;
      std::string new_key = Redact(key, "", &records);
      // Distinct keys cannot collide: a taken name gets a counter until it is free.
      for (int n = 2; map.count(new_key) > 0; ++n) {
        new_key = Redact(key, "", nullptr) + "#" + std::to_string(n);
      }
      auto value = std::move(map.at(key));
      map.erase(key);
      map[new_key] = std::move(value);
      for (v1::Redaction& r : records) {
        r.set_path(path + "." + new_key);
        local.push_back(std::move(r));
        ++found;
      }
    }
  };
  VisitJobStrings</*kWithPaths=*/true>(*job, visit, too_deep, rekey);
  // Map iteration order is unspecified; sort so records are deterministic.
  std::stable_sort(local.begin(), local.end(), [](const v1::Redaction& a, const v1::Redaction& b) {
    return a.path() < b.path();
  });
  if (redactions != nullptr) {
    for (auto& r : local) redactions->push_back(std::move(r));
  }
  return found;
}

std::vector<std::string> SecretScanner::DetectorsIn(const v1::Job& job) const {
  std::vector<std::string> ids;
  std::vector<SecretMatch> matches;
  auto visit = [&](const std::string&, const std::string& s) {
    if (!set_->Match(s, nullptr)) return;  // the common case: one pass, nothing fires
    matches.clear();
    Scan(s, &matches);
    for (const auto& m : matches) ids.push_back(ids_[m.detector]);
  };
  auto too_deep = [&](const std::string&, const google::protobuf::Value&) {
    ids.emplace_back(kTooDeepDetector);
  };
  NoRekey rekey;
  VisitJobStrings</*kWithPaths=*/false>(job, visit, too_deep, rekey);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<std::string> SecretScanner::MarkedDetectorsIn(const v1::Job& job) const {
  std::vector<std::string> ids;
  auto visit = [&](const std::string&, const std::string& s) {
    for (size_t at = s.find(kMarkerOpen); at != std::string::npos;
         at = s.find(kMarkerOpen, at + 1)) {
      const size_t length = MarkerLength(std::string_view(s).substr(at));
      if (length == 0) continue;
      // "[REDACTED:" id ":" 6 hex "]"
      const std::string_view id =
          std::string_view(s).substr(at + kMarkerOpen.size(), length - kMarkerOpen.size() - 8);
      if (FindDetector(id) >= 0 || id == kTooDeepDetector) ids.emplace_back(id);
    }
  };
  auto too_deep = [](const std::string&, const google::protobuf::Value&) {};
  NoRekey rekey;
  VisitJobStrings</*kWithPaths=*/false>(job, visit, too_deep, rekey);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

bool SecretScanner::ContainsSecret(const v1::Job& job) const {
  bool found = false;
  auto visit = [&](const std::string&, const std::string& s) {
    if (!found) found = Contains(s);
  };
  auto too_deep = [&](const std::string&, const google::protobuf::Value&) { found = true; };
  NoRekey rekey;
  VisitJobStrings</*kWithPaths=*/false>(job, visit, too_deep, rekey);
  return found;
}

}  // namespace jobgate::policy
