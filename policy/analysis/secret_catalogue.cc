// The detector catalogue and the judgments of a candidate value (see secret_catalogue.h).

#include "policy/analysis/secret_catalogue.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <unordered_set>

#include "base/ascii.h"

namespace jobgate::policy::analysis {
namespace {

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
     R"(\b(AGE-(?:SECRET-KEY|PLUGIN-[A-Z0-9]+-)-?1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58,})\b)", 1,
     0, false},
    // AWS access key ids: AKIA (long-term), ASIA (STS), and the other documented prefixes.
    {"aws-access-key-id",
     R"(\b((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA|A3T[A-Z0-9])[A-Z0-9]{16})\b)",
     1, 0, false},
    // AWS secret access keys appear next to their name (env, config, STS's JSON
    // "SecretAccessKey"); the value is 40 base64 chars.
    {"aws-secret-access-key",
     R"((?i)(?:aws_?)?secret_?access_?key["']?\s*(?::|=|:=|=>)\s*["']?([A-Za-z0-9/+]{40})\b)", 1, 0,
     false},
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
    {"discord-bot-token",
     R"(\b([MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})\b)", 1, 0, false},
    // Telegram bot tokens: the bot's numeric id, a colon, 35 chars starting "AA".
    {"telegram-bot-token", R"((?:^|[^0-9])([0-9]{8,10}:AA[A-Za-z0-9_\-]{33})(?:[^A-Za-z0-9_\-]|$))",
     1, 0, false},
    // JSON Web Tokens: base64url header and payload, both JSON objects ("eyJ" = '{"').
    {"jwt", R"(\b(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}))", 1, 0,
     false},
    // Stripe secret and restricted keys, live and test; webhook signing secrets.
    {"stripe-key", R"(\b((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,247}|whsec_[A-Za-z0-9]{32,})\b)", 1,
     0, false},
    // Square: access tokens (sq0atp-, EAAA), OAuth application secrets (sq0csp-).
    {"square-token",
     R"(\b(sq0atp-[A-Za-z0-9_\-]{22,60}|sq0csp-[A-Za-z0-9_\-]{43,60}|EAAA[A-Za-z0-9_\-]{60,})\b)",
     1, 0, false},
    // Google: API keys, OAuth client secrets, OAuth access and refresh tokens.
    {"google-api-key", R"(\b(AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$))", 1, 0, false},
    {"gcp-oauth-secret",
     R"(\b(GOCSPX-[A-Za-z0-9_\-]{28}|ya29\.[A-Za-z0-9_\-]{30,}|1//0[A-Za-z0-9_\-]{40,}))", 1, 0,
     false},
    // Azure: storage account keys (88 base64 chars, in a connection string or by name),
    // SAS signatures, Entra ID client secrets.
    {"azure-storage-key", R"((?i:account_?key["']?\s*(?::|=|:=|=>)\s*["']?)([A-Za-z0-9+/]{86}==))",
     1, 0, false},
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
    {"anthropic-api-key", R"(\b(sk-ant-(?:api|admin|sid|oat|ort)[0-9]{2}-[A-Za-z0-9_\-]{32,200}))",
     1, 0, false},
    // Cohere keys have no prefix: 40 alphanumerics next to the name.
    {"cohere-api-key",
     R"((?i:co(?:here)?_?api_?key["']?\s*(?::|=|:=|=>)\s*["']?)([A-Za-z0-9]{40})\b)", 1, 0, false},
    // Twilio API key SIDs with their secrets by name, and auth tokens by name.
    {"twilio-key",
     R"(\b(SK[0-9a-f]{32})\b|(?i:twilio_?(?:auth_?token|api_?secret)["']?\s*(?::|=|:=|=>)\s*["']?)([A-Za-z0-9]{32})\b)",
     1, 0, false},
    // SendGrid API keys; Mailgun API keys (legacy "key-" and the current
    // <32 hex>-<8 hex>-<8 hex>).
    {"sendgrid-api-key", R"(\b(SG\.[A-Za-z0-9_\-]{16,128}\.[A-Za-z0-9_\-]{16,256})\b)", 1, 0,
     false},
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
    {"npm-token", R"(\b(npm_[A-Za-z0-9]{36})\b|(?:^|[:\s])_auth(?:Token)?\s*=\s*([^\s"'$]{16,}))",
     1, 0, false},
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
    {"doppler-token", R"(\b(dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_.\-]{40,})\b)", 1, 0, false},
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

// Values that look like secrets but are documented examples.
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

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

std::span<const DetectorSpec> DetectorCatalogue() { return kCatalogue; }

bool IsExampleValue(std::string_view v) { return ExampleValues().count(v) > 0; }

bool IsPlaceholder(std::string_view v) {
  if (v.empty()) return true;
  if (v.front() == '$' || v.front() == '%' || v.front() == '<' || v.front() == '{' ||
      v.front() == '[' || v.front() == '@') {
    return true;  // $VAR, ${VAR}, %VAR%, <your-key>, {{ secrets.X }}, [REDACTED:...], @Ref(..)
  }
  static constexpr std::array<std::string_view, 17> kStopWords = {
      "example",     "placeholder", "redacted", "changeme", "xxxxxxxx",   "********",
      "your_",       "your-",       "dummy",    "sample",   "notasecret", "undefined",
      "process.env", "os.environ",  "getenv",   "fixme",    "replace_me"};
  const std::string lower = AsciiLower(v);
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

bool IsReference(std::string_view v) {
  // File paths: absolute, relative, home, Windows drive.
  if (v.front() == '/' || v.front() == '~' || v.starts_with("./") || v.starts_with("../") ||
      (v.size() > 2 && std::isalpha(static_cast<unsigned char>(v[0])) && v[1] == ':' &&
       (v[2] == '\\' || v[2] == '/'))) {
    return true;
  }
  const std::string lower = AsciiLower(v);
  static constexpr std::array<std::string_view, 16> kRefPrefixes = {
      "arn:",  "env:",   "file:",   "vault:",  "ssm:",      "secretsmanager:",
      "sm:",   "gcpsm:", "awssm:",  "azkv:",   "keyvault:", "op:",
      "sops:", "ref:",   "secret:", "secrets."};
  for (std::string_view p : kRefPrefixes) {
    if (lower.starts_with(p)) return true;
  }
  // Any URI (op://vault/item, vault://..., https://..., k8s://...): where a secret is.
  const size_t scheme = v.find("://");
  if (scheme != std::string_view::npos && scheme > 0 &&
      AllOf(v.substr(0, scheme),
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")) {
    return true;
  }
  // Secret-store paths: lower-case segments with slashes ("secret/data/prod/db",
  // "projects/p/secrets/s/versions/latest"). Base64 keys carry upper-case letters.
  if (v.find('/') != std::string_view::npos && AllOf(v, kLowerPath)) return true;
  // Environment variable names: upper-case words joined by underscores (DB_PASSWORD).
  if (v.find('_') != std::string_view::npos && AllOf(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") &&
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

}  // namespace jobgate::policy::analysis
