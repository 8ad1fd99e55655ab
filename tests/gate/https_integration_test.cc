// The gate's HTTP listener over HTTPS (http.tls_cert, http.tls_key): /healthz, the API and
// the page answer over TLS with the configured certificate, plain http is not served, and
// a certificate replaced on disk is served without a restart. Certificates are made by
// the openssl CLI (skipped without it).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::Subprocess;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;

constexpr char kPolicy[] = R"(snapshot: https
rules:
  - id: allow-all
    match: {topics: ["job.>"]}
    decision: allow
)";

// A self-signed certificate for 127.0.0.1 named `cn`, written to `stem`.crt / `stem`.key.
bool MakeCertificate(const TempDir& dir, const std::string& stem, const std::string& cn) {
  Subprocess openssl(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-days", "1", "-subj", "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1",
       "-keyout", dir.path() + "/" + stem + ".key", "-out", dir.path() + "/" + stem + ".crt"},
      dir.path() + "/openssl-" + stem + ".log");
  return openssl.Wait() == 0;
}

// GET https://127.0.0.1:port/path trusting only `ca_file`; status 0 when the handshake or
// the verification fails.
int HttpsGet(int port, const std::string& ca_file, const std::string& path,
             std::string* body = nullptr) {
  httplib::SSLClient client("127.0.0.1", port);
  client.set_ca_cert_path(ca_file.c_str());
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(5);
  auto r = client.Get(path.c_str());
  if (!r) return 0;
  if (body != nullptr) *body = r->body;
  return r->status;
}

bool OpensslPresent() { return system("openssl version >/dev/null 2>&1") == 0; }

TEST(Https, ServesOverTlsAndReloadsARenewedCertificate) {
  if (!OpensslPresent()) GTEST_SKIP() << "no openssl CLI to make a certificate";
  NatsServer server;
  TempDir dir;
  ASSERT_TRUE(MakeCertificate(dir, "first", "jobgate-first"));
  ASSERT_TRUE(MakeCertificate(dir, "second", "jobgate-second"));
  // The gate reads served.crt / served.key; the test replaces them.
  ASSERT_EQ(rename((dir.path() + "/first.crt").c_str(), (dir.path() + "/served.crt").c_str()), 0);
  ASSERT_EQ(rename((dir.path() + "/first.key").c_str(), (dir.path() + "/served.key").c_str()), 0);
  const std::string policy = dir.WriteFile("policy.yaml", kPolicy);
  const std::string config = dir.WriteFile(
      "config.yaml",
      "http: {address: 127.0.0.1:0, tls_cert: " + dir.path() +
          "/served.crt, tls_key: " + dir.path() + "/served.key}\n" +
          "api:\n  tokens:\n    - {name: vera, roles: [viewer], token: vera-token}\n");
  GateProcess gate(server.url(), {"--config", config, "--policy", policy}, dir, "gate");
  ASSERT_NE(gate.http_port(), 0) << gate.process().Log();
  const int port = gate.http_port();
  const std::string first_ca = dir.path() + "/served.crt";
  // The first certificate is copied aside: served.crt is replaced below.
  ASSERT_EQ(system(("cp " + first_ca + " " + dir.path() + "/first-ca.crt").c_str()), 0);

  ASSERT_TRUE(WaitFor([&] {
    return HttpsGet(port, dir.path() + "/first-ca.crt", "/readyz") == 200;
  })) << gate.process().Log();
  EXPECT_EQ(HttpsGet(port, dir.path() + "/first-ca.crt", "/healthz"), 200);
  std::string page;
  EXPECT_EQ(HttpsGet(port, dir.path() + "/first-ca.crt", "/ui/", &page), 200);
  EXPECT_NE(page.find("jobgate approvals"), std::string::npos);
  {
    httplib::SSLClient client("127.0.0.1", port);
    client.set_ca_cert_path((dir.path() + "/first-ca.crt").c_str());
    client.enable_server_certificate_verification(true);
    auto who = client.Get("/api/v1/whoami", {{"Authorization", "Bearer vera-token"}});
    ASSERT_TRUE(who);
    EXPECT_EQ(who->status, 200) << who->body;
  }
  // The CLI over https, trusting the certificate it is given.
  {
    const std::string url = "https://127.0.0.1:" + std::to_string(port);
    Subprocess cli({JOBGATE_BINARY, "approvals", "list", "--url", url, "--token", "vera-token",
                    "--ca-file", dir.path() + "/first-ca.crt"},
                   dir.path() + "/cli.log");
    EXPECT_EQ(cli.Wait(), 0) << cli.Log();
    EXPECT_NE(cli.Log().find("0 jobs pending"), std::string::npos) << cli.Log();
    Subprocess untrusted({JOBGATE_BINARY, "approvals", "list", "--url", url, "--token",
                          "vera-token", "--ca-file", dir.path() + "/second.crt"},
                         dir.path() + "/cli-untrusted.log");
    EXPECT_EQ(untrusted.Wait(), 2) << untrusted.Log();
  }
  // Not the second certificate yet, and no plain http.
  EXPECT_EQ(HttpsGet(port, dir.path() + "/second.crt", "/healthz"), 0);
  EXPECT_EQ(gate.Get("/healthz"), 0);

  // Renewal: the files are replaced (as certbot and most tools do: write, then rename).
  ASSERT_EQ(rename((dir.path() + "/second.key").c_str(), (dir.path() + "/served.key").c_str()), 0);
  ASSERT_EQ(system(("cp " + dir.path() + "/second.crt " + dir.path() + "/served.crt.new").c_str()),
            0);
  ASSERT_EQ(rename((dir.path() + "/served.crt.new").c_str(), (dir.path() + "/served.crt").c_str()),
            0);
  ASSERT_TRUE(WaitFor([&] {
    return HttpsGet(port, dir.path() + "/second.crt", "/healthz") == 200;
  })) << gate.process().Log();
  EXPECT_EQ(HttpsGet(port, dir.path() + "/first-ca.crt", "/healthz"), 0);
  EXPECT_NE(gate.process().Log().find("serving the reloaded certificate"), std::string::npos);
}

TEST(Https, AKeyThatDoesNotMatchTheCertificateStopsTheStart) {
  if (!OpensslPresent()) GTEST_SKIP() << "no openssl CLI to make a certificate";
  NatsServer server;
  TempDir dir;
  ASSERT_TRUE(MakeCertificate(dir, "a", "a"));
  ASSERT_TRUE(MakeCertificate(dir, "b", "b"));
  const std::string policy = dir.WriteFile("policy.yaml", kPolicy);
  const std::string config =
      dir.WriteFile("config.yaml", "http: {address: 127.0.0.1:0, tls_cert: " + dir.path() +
                                       "/a.crt, tls_key: " + dir.path() + "/b.key}\n");
  GateProcess gate(server.url(), {"--config", config, "--policy", policy}, dir, "gate");
  EXPECT_NE(gate.process().Wait(), 0);
  EXPECT_NE(gate.process().Log().find("does not match the certificate"), std::string::npos)
      << gate.process().Log();
}

}  // namespace
}  // namespace jobgate::gate
