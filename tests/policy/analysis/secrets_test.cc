// Secret detection: a corpus of true positives for every detector and of look-alikes
// that must not fire, with the rates printed. Secret-shaped samples are assembled at
// run time from a fixed-seed generator, so the repository carries no secret literals.
#include "policy/analysis/secrets.h"

#include <gtest/gtest.h>

#include <random>

#include "policy/policy.h"
#include "subjects/codec.h"

namespace jobgate::policy {
namespace {

class Fake {
 public:
  std::string Chars(const std::string& alphabet, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      out.push_back(alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng_)]);
    }
    return out;
  }
  std::string Alnum(size_t n) { return Chars(kAlnum, n); }
  std::string Upper32(size_t n) { return Chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", n); }
  std::string Base64Url(size_t n) { return Chars(kAlnum + "_-", n); }

 private:
  std::mt19937 rng_{20261121};
  const std::string kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
};

struct Sample {
  std::string detector;  // expected detector id
  std::string text;      // text containing the secret
  std::string secret;    // the part that must disappear
};

std::vector<Sample> TruePositives() {
  Fake f;
  std::vector<Sample> out;
  auto add = [&](std::string detector, std::string prefix, std::string secret,
                 std::string suffix = "") {
    out.push_back({std::move(detector), prefix + secret + suffix, secret});
  };
  const std::string pem_body =
      f.Chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 64);
  for (const char* kind : {"RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", ""}) {
    const std::string key = std::string("-----BEGIN ") + kind + "PRIVATE KEY-----\n" + pem_body +
                            "\n" + pem_body + "\n-----END " + kind + "PRIVATE KEY-----";
    add("private-key", "key file:\n", key, "\ntrailing text");
  }
  add("private-key", "",
      "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + pem_body +
          "\n-----END PGP PRIVATE KEY BLOCK-----");
  add("private-key", "truncated: ", "-----BEGIN RSA PRIVATE KEY-----\n" + pem_body);
  add("aws-access-key-id", "AWS_ACCESS_KEY_ID=", "AKIA" + f.Upper32(16));
  add("aws-access-key-id", "creds ", "ASIA" + f.Upper32(16), " expire soon");
  add("aws-secret-access-key", "aws_secret_access_key = ",
      f.Chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+", 40));
  add("github-pat", "git clone https://", "ghp_" + f.Alnum(36), "@github.com/org/repo");
  add("github-pat", "GH_TOKEN=", "github_pat_" + f.Alnum(22) + "_" + f.Alnum(59));
  add("github-oauth", "token ", "gho_" + f.Alnum(36));
  add("github-app-token", "installation token ", "ghs_" + f.Alnum(36));
  add("github-app-token", "", "ghu_" + f.Alnum(36));
  add("github-refresh-token", "refresh=", "ghr_" + f.Alnum(76));
  add("gitlab-token", "PRIVATE-TOKEN: ", "glpat-" + f.Base64Url(20));
  add("gitlab-token", "", "glrt-" + f.Base64Url(20));
  add("gitlab-token", "deploy ", "gldt-" + f.Base64Url(20));
  add("slack-token", "SLACK_BOT_TOKEN=",
      "xoxb-" + f.Chars("0123456789", 12) + "-" + f.Chars("0123456789", 13) + "-" + f.Alnum(24));
  add("slack-token", "",
      "xoxp-" + f.Chars("0123456789", 11) + "-" + f.Chars("0123456789", 11) + "-" +
          f.Chars("0123456789", 12) + "-" + f.Chars("0123456789abcdef", 32));
  add("slack-webhook", "curl -X POST ",
      "https://hooks.slack.com/services/T" + f.Upper32(8) + "/B" + f.Upper32(8) + "/" +
          f.Alnum(24));
  add("jwt", "Authorization: Bearer ",
      "eyJhbGciOiJSUzI1NiJ9.eyJ" + f.Base64Url(60) + "." + f.Base64Url(43));
  add("stripe-key", "stripe.api_key = '", "sk_live_" + f.Alnum(24), "'");
  add("stripe-key", "", "rk_test_" + f.Alnum(24));
  add("stripe-key", "STRIPE_WEBHOOK_SECRET=", "whsec_" + f.Alnum(32));
  add("google-api-key",
      "https://maps.googleapis.com/maps/api/geocode/json?key=", "AIza" + f.Base64Url(35),
      "&address=x");
  add("openai-api-key", "OPENAI_API_KEY=", "sk-proj-" + f.Base64Url(120));
  add("openai-api-key", "", "sk-" + f.Alnum(20) + "T3BlbkFJ" + f.Alnum(20));
  add("anthropic-api-key", "x-api-key: ", "sk-ant-api03-" + f.Base64Url(93) + "AA");
  add("npm-token", "//registry.npmjs.org/:_authToken=", "npm_" + f.Alnum(36));
  add("pypi-token", "password = ", "pypi-AgEIcHlwaS5vcmc" + f.Base64Url(70));
  for (const char* scheme : {"postgres", "postgresql", "mysql", "mongodb+srv", "redis", "amqps"}) {
    const std::string password = f.Alnum(16);
    out.push_back({"database-url-password",
                   std::string(scheme) + "://app:" + password + "@db.internal:5432/main",
                   password});
  }
  add("database-url-password", "REDIS_URL=redis://:", f.Alnum(20), "@cache:6379/0");
  const std::string hex = "0123456789abcdef";
  const std::string b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string bech32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
  add("putty-private-key", "ppk:\n",
      "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ci\nPublic-Lines: 2\n" +
          f.Chars(b64, 64) + "\nPrivate-Lines: 1\n" + f.Chars(b64, 44) + "\nPrivate-MAC: " +
          f.Chars(hex, 64));
  add("age-secret-key", "AGE_KEY=", "AGE-SECRET-KEY-1" + f.Chars(bech32, 58));
  add("aws-session-token", "AWS_SESSION_TOKEN=", "IQoJb3JpZ2luX2VjE" + f.Chars(b64, 300));
  add("aws-session-token", "\"SessionToken\": \"", "FwoGZXIvYXdzE" + f.Chars(b64, 200), "\"");
  add("aws-secret-access-key", "\"SecretAccessKey\": \"", f.Chars(b64, 40), "\"");
  add("github-pat", "token ", "github_pat_11" + f.Alnum(20) + "_" + f.Alnum(59));
  add("gitlab-token", "CI_JOB_TOKEN=", "glcbt-64_" + f.Base64Url(20));
  add("gitlab-token", "register --token ", "GR1348941" + f.Base64Url(20));
  add("gitlab-token", "", "glpat-" + f.Base64Url(27) + ".01." + f.Base64Url(9));
  add("atlassian-token", "JIRA_API_TOKEN=", "ATATT3xFfGF0" + f.Base64Url(180) + "=" + f.Chars("ABCDEF0123456789", 8));
  add("atlassian-token", "bitbucket app password ", "ATBB" + f.Alnum(32));
  add("discord-webhook", "notify https://discord.com/api/webhooks/" + f.Chars("0123456789", 18) + "/",
      f.Base64Url(68));
  add("discord-bot-token", "Bot ", "M" + f.Alnum(25) + "." + f.Base64Url(6) + "." + f.Base64Url(38));
  add("telegram-bot-token", "https://api.telegram.org/bot", f.Chars("0123456789", 10) + ":AA" + f.Base64Url(33), "/getMe");
  add("square-token", "SQUARE_ACCESS_TOKEN=", "EAAA" + f.Base64Url(60));
  add("square-token", "", "sq0csp-" + f.Base64Url(43));
  add("gcp-oauth-secret", "\"client_secret\":\"", "GOCSPX-" + f.Base64Url(28), "\"");
  add("gcp-oauth-secret", "Authorization: Bearer ", "ya29." + f.Base64Url(150));
  add("azure-storage-key",
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=", f.Chars(b64, 86) + "==",
      ";EndpointSuffix=core.windows.net");
  add("azure-sas-token",
      "https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&sig=",
      f.Alnum(40) + "%2B" + f.Alnum(3) + "%3D");
  add("azure-client-secret", "AZURE_CLIENT_SECRET=", f.Alnum(3) + "8Q~" + f.Base64Url(34));
  add("digitalocean-token", "DIGITALOCEAN_TOKEN=", "dop_v1_" + f.Chars(hex, 64));
  add("huggingface-token", "HF_TOKEN=", "hf_" + f.Chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 34));
  add("openai-api-key", "", "sk-svcacct-" + f.Base64Url(150));
  add("anthropic-api-key", "", "sk-ant-admin01-" + f.Base64Url(93) + "AA");
  add("cohere-api-key", "COHERE_API_KEY=", f.Alnum(40));
  add("twilio-key", "TWILIO_API_KEY=", "SK" + f.Chars(hex, 32));
  add("twilio-key", "TWILIO_AUTH_TOKEN=", f.Chars(hex, 32));
  add("sendgrid-api-key", "SENDGRID_API_KEY=", "SG." + f.Base64Url(22) + "." + f.Base64Url(43));
  add("mailgun-api-key", "api:", "key-" + f.Chars(hex, 32));
  add("mailgun-api-key", "MAILGUN_KEY ", f.Chars(hex, 32) + "-" + f.Chars(hex, 8) + "-" + f.Chars(hex, 8));
  add("shopify-token", "X-Shopify-Access-Token: ", "shpat_" + f.Chars(hex, 32));
  add("linear-api-key", "LINEAR_API_KEY=", "lin_api_" + f.Alnum(40));
  add("datadog-key", "DD_API_KEY=", f.Chars(hex, 32));
  add("datadog-key", "datadog_app_key: ", f.Chars(hex, 40));
  add("sentry-token", "SENTRY_AUTH_TOKEN=", "sntryu_" + f.Chars(hex, 64));
  add("sentry-token", "", "sntrys_eyJpYXQiOjE3" + f.Base64Url(80) + "_" + f.Base64Url(43));
  add("npm-token", "//registry.npmjs.org/:_authToken=", "8f2b7c9e-1d3a-4b5c-9e8f-" + f.Chars(hex, 12));
  add("rubygems-api-key", "GEM_HOST_API_KEY=", "rubygems_" + f.Chars(hex, 48));
  add("nuget-api-key", "dotnet nuget push -k ", "oy2" + f.Chars("abcdefghijklmnopqrstuvwxyz0123456789", 43));
  add("dockerhub-token", "docker login -p ", "dckr_pat_" + f.Base64Url(27));
  add("vault-token", "VAULT_TOKEN=", "hvs." + f.Base64Url(90));
  add("doppler-token", "DOPPLER_TOKEN=", "dp.st.prd." + f.Alnum(43));
  add("onepassword-token", "OP_SERVICE_ACCOUNT_TOKEN=", "ops_eyJzaWduSW5BZGRyZXNzIjoi" + f.Chars(b64, 300));
  add("url-basic-auth", "git clone https://deploy:", f.Alnum(20), "@git.example.org/org/repo.git");
  add("url-basic-auth", "curl ftp://ops:", "S3cr" + f.Alnum(10), "@files.internal/x");
  add("groq-api-key", "GROQ_API_KEY=", "gsk_" + f.Alnum(52));
  add("notion-token", "NOTION_TOKEN=", "ntn_" + f.Chars("0123456789", 11) + f.Alnum(35));
  add("vercel-token", "VERCEL_TOKEN=", "vcp_" + f.Alnum(24));
  add("databricks-token", "DATABRICKS_TOKEN=", "dapi" + f.Chars(hex, 32));
  add("figma-token", "X-Figma-Token: ", "figd_" + f.Base64Url(40));
  add("cloudflare-token", "CLOUDFLARE_API_TOKEN=", "cfut_" + f.Alnum(40) + f.Chars(hex, 8));
  add("tailscale-key", "TS_AUTHKEY=", "tskey-auth-" + f.Alnum(12) + "-" + f.Alnum(30));
  add("grafana-token", "GRAFANA_TOKEN=", "glsa_" + f.Alnum(32) + "_" + f.Chars(hex, 8));
  add("github-app-token", "", "ghs_12345_" + f.Base64Url(30) + "." + f.Base64Url(60) + "." + f.Base64Url(43));
  add("github-oauth", "git clone https://", f.Alnum(40), ":x-oauth-basic@github.com/org/repo");
  add("generic-secret", "password=", "Tr0ub4dor&3x!" + f.Alnum(4));
  add("generic-secret", "{\"client_secret\": \"", f.Alnum(32), "\"}");
  add("generic-secret", "DB_PASSWORD: ", f.Alnum(14));
  add("generic-secret", "export API_KEY=", f.Alnum(32));
  add("generic-secret", "--auth-token=", f.Base64Url(40));
  return out;
}

std::vector<std::string> LookAlikes() {
  return {
      "7c9e6679-7425-40de-944b-e07fc1f90ae7",  // UUID
      "request_id=7c9e6679-7425-40de-944b-e07fc1f90ae7",
      "session_token: 7c9e6679-7425-40de-944b-e07fc1f90ae7",  // a UUID is an id, not a key
      "commit da39a3ee5e6b4b0d3255bfef95601890afd80709",      // git SHA-1
      "git checkout 3f786850e387550fdab836ed7e6dc881de23001b",
      "token: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  // sha256
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "data:image/"
      "png;base64,"
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJg"
      "gg==",
      "AKIAIOSFODNN7EXAMPLE",  // AWS's documented example
      "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
      "sk_test_4eC39HqLyjWDarjtT1zdp7dc",  // Stripe's documented example
      "password: ${DB_PASSWORD}",
      "token={{ secrets.GITHUB_TOKEN }}",
      "api_key: <your-api-key>",
      "password=changeme",
      "secret: xxxxxxxxxxxx",
      "token: required",
      "password = process.env.DB_PASSWORD",
      "the password field must be at least 12 characters",
      "pip install scikit-learn; import sklearn as sk",
      "sk-learn is a typo",
      "ghp_ is the prefix of GitHub personal access tokens",
      "postgres://app@db.internal:5432/main",
      "postgres://db.internal:5432/main",
      "mysql://localhost/test",
      "redis://cache:6379/0",
      "https://hooks.slack.com/",
      "AIza is how Google API keys start",
      "npm test -- --watch=false",
      "git status && npm run build",
      "SELECT id, name FROM customers WHERE id = 42",
      "The quick brown fox jumps over the lazy dog",
      "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
      "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
      "max_tokens=4096",
      "tokenizer = AutoTokenizer.from_pretrained(model)",
      "passwordless login enabled",
      // References: the generic detector names where a secret is, never the secret.
      "password_file=/run/secrets/db_password",
      "api_key: ./config/keys/api.key",
      "private_key=~/.ssh/id_ed25519",
      "client_secret: C:\\secrets\\client.txt",
      "secret_arn=arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
      "token: vault:secret/data/prod/github#token",
      "DB_PASSWORD=secret/data/prod/postgres",
      "gcp_secret: projects/my-proj/secrets/db-pass/versions/latest",
      "password: op://Engineering/Postgres/password",
      "api_key=env:OPENAI_API_KEY",
      "token = GITHUB_TOKEN",
      "password: POSTGRES_PASSWORD_PROD",
      "secret = config.database.password",
      "api_key = settings.OPENAI_API_KEY",
      "token = os.getenv(\"GITHUB_TOKEN\")",
      "password = getSecret(\"db/prod\")",
      "client_secret: @Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)",
      "password: <password>",
      "https://user:${TOKEN}@git.example.org/repo.git",
      "https://user:password@example.com/",
      "https://git.example.org:8443/repo.git",
      "ssh://git@github.com:22/org/repo.git",
      "token_url=https://oauth2.googleapis.com/token",
      "ERROR auth: token expired for user 4211 after 3600s",
      "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
  };
}

TEST(SecretScannerTest, CatalogueCompiles) {
  const auto& ids = SecretScanner::Default().detector_ids();
  EXPECT_EQ(ids.size(), 56u) << "a detector pattern failed to compile";
}

TEST(SecretScannerTest, EveryDetectorHasTruePositives) {
  const auto& scanner = SecretScanner::Default();
  std::set<std::string> covered;
  for (const auto& s : TruePositives()) covered.insert(s.detector);
  for (const auto& id : scanner.detector_ids()) {
    EXPECT_EQ(covered.count(id), 1u) << "no true-positive sample for " << id;
  }
}

TEST(SecretScannerTest, CorpusRates) {
  const auto& scanner = SecretScanner::Default();
  const auto positives = TruePositives();
  int caught = 0;
  int right_detector = 0;
  for (const auto& s : positives) {
    std::vector<v1::Redaction> redactions;
    const std::string redacted = scanner.Redact(s.text, "args.x", &redactions);
    const bool gone = redacted.find(s.secret) == std::string::npos && !redactions.empty();
    caught += gone;
    EXPECT_TRUE(gone) << s.detector << ": " << s.text << "\n-> " << redacted;
    if (!redactions.empty() && redactions[0].detector() == s.detector) ++right_detector;
    EXPECT_TRUE(!redactions.empty() && redactions[0].detector() == s.detector)
        << "expected " << s.detector << " for " << s.text << ", got "
        << (redactions.empty() ? "nothing" : redactions[0].detector());
  }
  const auto negatives = LookAlikes();
  int false_positives = 0;
  for (const auto& text : negatives) {
    std::vector<SecretMatch> matches;
    scanner.Scan(text, &matches);
    false_positives += !matches.empty();
    EXPECT_TRUE(matches.empty())
        << "fired " << scanner.detector_ids()[matches.empty() ? 0 : matches[0].detector]
        << " on look-alike: " << text;
  }
  std::printf(
      "secret corpus: %d/%zu true positives caught (%.1f%%), %d with the expected detector; "
      "%d/%zu look-alikes fired (%.1f%% false positives)\n",
      caught, positives.size(), 100.0 * caught / positives.size(), right_detector, false_positives,
      negatives.size(), 100.0 * false_positives / negatives.size());
}

// Markers carry a keyed digest (HMAC-SHA256 with the gate's key), not the plain SHA-256
// of the secret: whoever holds the audit trail cannot test guesses against it.
TEST(SecretScannerTest, MarkerNamesDetectorAndKeyedDigest) {
  const std::string plain = "[REDACTED:github-pat:ba7816]";  // sha256("abc") = ba7816bf...
  EXPECT_NE(SecretScanner::Marker("github-pat", "abc"), plain);
  EXPECT_FALSE(SecretScanner::SetMarkerKey("short"));
  ASSERT_TRUE(SecretScanner::SetMarkerKey("0123456789abcdef-test-key"));
  // HMAC-SHA256("0123456789abcdef-test-key", "abc"), first 3 bytes (openssl dgst -hmac).
  const std::string marker = SecretScanner::Marker("github-pat", "abc");
  EXPECT_EQ(marker, "[REDACTED:github-pat:34a0a7]");
  EXPECT_NE(marker, plain);
  EXPECT_EQ(marker, SecretScanner::Marker("github-pat", "abc"));  // stable: correlates
  EXPECT_NE(marker, SecretScanner::Marker("github-pat", "abd"));
  ASSERT_TRUE(SecretScanner::SetMarkerKey("another-key-of-the-gate-0001"));
  EXPECT_NE(marker, SecretScanner::Marker("github-pat", "abc"));  // the key decides
}

TEST(SecretScannerTest, DatabaseUrlKeepsItsHost) {
  const std::string redacted = SecretScanner::Default().Redact(
      "postgres://app:hunter2hunter2@db.internal:5432/main", "x", nullptr);
  EXPECT_EQ(redacted.rfind("postgres://app:[REDACTED:database-url-password:", 0), 0u) << redacted;
  EXPECT_NE(redacted.find("]@db.internal:5432/main"), std::string::npos) << redacted;
}

TEST(SecretScannerTest, SeveralSecretsInOneString) {
  Fake f;
  const std::string a = "ghp_" + f.Alnum(36);
  const std::string b = "npm_" + f.Alnum(36);
  std::vector<v1::Redaction> redactions;
  const std::string out = SecretScanner::Default().Redact("first " + a + " then " + b + " done",
                                                          "args.cmd", &redactions);
  EXPECT_EQ(out.find(a), std::string::npos);
  EXPECT_EQ(out.find(b), std::string::npos);
  ASSERT_EQ(redactions.size(), 2u);
  EXPECT_EQ(redactions[0].detector(), "github-pat");
  EXPECT_EQ(redactions[1].detector(), "npm-token");
  EXPECT_EQ(redactions[0].path(), "args.cmd");
  EXPECT_NE(out.find("first [REDACTED:github-pat:"), std::string::npos) << out;
  EXPECT_NE(out.find(" done"), std::string::npos) << out;
}

TEST(SecretScannerTest, RedactJobWalksArgsLabelsAndTextPayload) {
  Fake f;
  const std::string pat = "ghp_" + f.Alnum(36);
  const std::string npm = "npm_" + f.Alnum(36);
  const std::string slack = "xoxb-" + f.Chars("0123456789", 12) + "-" + f.Alnum(24);
  auto job = subjects::DecodeJob(R"({"job_id":"j","labels":{"note":"token )" + slack + R"("},
          "args":{"env":{"GH":")" + pat +
                                     R"("},"argv":["x",")" + npm + R"("],"n":3}})",
                                 subjects::BodyFormat::kJson);
  ASSERT_TRUE(job.ok()) << job.status().message();
  job->set_payload("config: ghp_" + f.Alnum(36));
  const auto before = SecretScanner::Default().DetectorsIn(*job);
  EXPECT_EQ(before, (std::vector<std::string>{"github-pat", "npm-token", "slack-token"}));

  std::vector<v1::Redaction> redactions;
  EXPECT_EQ(SecretScanner::Default().RedactJob(&*job, &redactions), 4);
  const std::string serialized = job->DebugString();
  EXPECT_EQ(serialized.find(pat), std::string::npos);
  EXPECT_EQ(serialized.find(npm), std::string::npos);
  EXPECT_EQ(serialized.find(slack), std::string::npos);
  ASSERT_EQ(redactions.size(), 4u);
  EXPECT_EQ(redactions[0].path(), "args.argv[1]");
  EXPECT_EQ(redactions[1].path(), "args.env.GH");
  EXPECT_EQ(redactions[2].path(), "labels.note");
  EXPECT_EQ(redactions[3].path(), "payload");
  EXPECT_TRUE(SecretScanner::Default().DetectorsIn(*job).empty());
  EXPECT_EQ(job->args().fields().at("n").number_value(), 3);
}

// A binary payload is scanned as bytes: NUL bytes and invalid UTF-8 next to a secret
// do not hide it (they used to: binary payloads were skipped).
TEST(SecretScannerTest, BinaryPayloadIsScanned) {
  v1::Job job;
  job.set_payload(std::string("\xff\x00ghp_", 6) + std::string(36, 'a') + std::string("\0", 1));
  EXPECT_EQ(SecretScanner::Default().DetectorsIn(job), std::vector<std::string>{"github-pat"});
  std::vector<v1::Redaction> redactions;
  EXPECT_EQ(SecretScanner::Default().RedactJob(&job, &redactions), 1);
  EXPECT_EQ(job.payload().find("ghp_"), std::string::npos);
  EXPECT_EQ(job.payload().substr(0, 2), std::string("\xff\x00", 2));
  EXPECT_FALSE(SecretScanner::Default().ContainsSecret(job));
}

// Redacting a redacted value finds nothing: markers name detectors
// ("database-url-password") and digests, which must not read as new secrets. Found by
// fuzz/job_decoder (fuzz/corpus/job_decoder/regress-marker-rescan.pb).
TEST(SecretScannerTest, RedactionIsIdempotent) {
  const SecretScanner& s = SecretScanner::Default();
  for (const std::string& text :
       {std::string("postgres://u:hunter2hunter2@db/x"),
        std::string("password=Zx9!kQ2#'P7$vL4&\0binary\xff", 33),
        "aws_secret_access_key=" + std::string("abcdEFGHijklMNOPqrstUVWXyz0123456789+/ab"),
        "token: ghp_" + std::string(36, 'b') + " and password=Zx9!kQ2#mP7vL4&q"}) {
    const std::string once = s.Redact(text, "x", nullptr);
    EXPECT_NE(once, text);
    EXPECT_FALSE(s.Contains(once)) << once;
    EXPECT_EQ(s.Redact(once, "x", nullptr), once);
  }
  // A marker is only blanked when well formed; a look-alike around a secret still counts.
  EXPECT_TRUE(s.Contains("[REDACTED:x:zz] ghp_" + std::string(36, 'c')));
}

TEST(SecretScannerTest, HostileInputIsBounded) {
  // Long runs of near-matches: RE2 keeps this linear.
  const std::string text = std::string(1 << 20, 'a') + "password=" + std::string(1 << 16, '=');
  std::vector<SecretMatch> matches;
  SecretScanner::Default().Scan(text, &matches);
  SUCCEED();
}

TEST(EntropyTest, Values) {
  EXPECT_DOUBLE_EQ(ShannonEntropy(""), 0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abcd"), 2);
}

}  // namespace
}  // namespace jobgate::policy
