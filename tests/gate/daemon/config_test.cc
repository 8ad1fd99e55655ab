#include "gate/daemon/config.h"
#include "gate/api/http_server.h"

#include <gtest/gtest.h>

#include "tests/support/nats_server.h"
#include "tests/support/test_keys.h"

namespace jobgate::gate {
namespace {

TEST(ConfigTest, DefaultsFollowTheContract) {
  GateConfig config;
  EXPECT_EQ(config.http_address, "127.0.0.1:8081");
  EXPECT_EQ(config.metrics_address, "127.0.0.1:9464");
  EXPECT_EQ(config.jobs_stream.name, "JOBS");
  EXPECT_EQ(config.jobs_stream.subjects, std::vector<std::string>{"job.>"});
  // A job leaves JOBS once acked; the other streams keep what they hold by limits.
  EXPECT_EQ(config.jobs_stream.retention, StreamSpec::Retention::kWorkQueue);
  EXPECT_EQ(config.audit_stream.retention, StreamSpec::Retention::kLimits);
  EXPECT_EQ(config.lifecycle.simulation_window, std::chrono::hours(24 * 7));
  EXPECT_EQ(config.work_stream.subjects, std::vector<std::string>{"worker.>"});
  EXPECT_EQ(config.approvals_stream.subjects, std::vector<std::string>{"approval.requests.>"});
  EXPECT_EQ(config.audit_stream.subjects,
            (std::vector<std::string>{"audit.decisions.>", "audit.denied.>", "audit.rejected",
                                      "audit.policy", "alert.>", "audit.chain"}));
  EXPECT_EQ(config.consumer.durable, "jobgate");
  EXPECT_EQ(config.consumer.ack_wait, std::chrono::seconds(30));
  EXPECT_EQ(config.consumer.max_deliver, -1);
  EXPECT_EQ(config.jobs_stream.duplicate_window, std::chrono::seconds(120));
  EXPECT_EQ(config.dispatch.max_message_bytes, size_t{1} << 20);
  EXPECT_FALSE(config.nats.send_asap);        // batches are flushed by the dispatcher
  EXPECT_EQ(config.nats.lock_spin_count, 0);  // block at once on a contended nats.c mutex
}

TEST(ConfigTest, HttpIsAnAddressOrAMapWithACertificate) {
  GateConfig plain;
  ASSERT_TRUE(ApplyConfigYaml("http: 0.0.0.0:8081\n", "g.yaml", &plain).ok());
  EXPECT_EQ(plain.http_address, "0.0.0.0:8081");
  EXPECT_TRUE(plain.http_tls_cert.empty());

  GateConfig tls;
  const Status s = ApplyConfigYaml(
      "http: {address: 0.0.0.0:8443, tls_cert: /etc/jobgate/http.crt, tls_key: /k.pem}\n",
      "g.yaml", &tls);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(tls.http_address, "0.0.0.0:8443");
  EXPECT_EQ(tls.http_tls_cert, "/etc/jobgate/http.crt");
  EXPECT_EQ(tls.http_tls_key, "/k.pem");

  GateConfig half;
  const Status missing = ApplyConfigYaml("http: {tls_cert: /c.pem}\n", "g.yaml", &half);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("go together"), std::string::npos) << missing.message();
  GateConfig typo;
  EXPECT_FALSE(ApplyConfigYaml("http: {tls_crt: /c.pem}\n", "g.yaml", &typo).ok());
}

TEST(ConfigTest, OverRateJobsAreDeferredToTheirOwnStreamByDefault) {
  GateConfig config;
  EXPECT_TRUE(config.defer_throttled);
  EXPECT_EQ(config.deferred_stream.name, "JOBS_DEFERRED");
  EXPECT_EQ(config.deferred_stream.subjects, std::vector<std::string>{"jobgate.deferred.>"});
  EXPECT_EQ(config.deferred_stream.max_age, std::chrono::seconds(0));  // kept until routed
  EXPECT_TRUE(config.deferred_stream.allow_direct);                    // read back by subject
  EXPECT_TRUE(config.deferred_stream.discard_new);  // full: the park fails, nothing dropped
  EXPECT_EQ(config.streams().size(), 5u);

  const Status s = ApplyConfigYaml(R"(
subjects: {deferred: parked}
streams:
  replicas: 3
  deferred: {name: PARKED, max_bytes: 1000000}
dispatch: {defer_throttled: false}
)",
                                   "gate.yaml", &config);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(config.defer_throttled);
  EXPECT_EQ(config.deferred_stream.name, "PARKED");
  EXPECT_EQ(config.deferred_stream.subjects, std::vector<std::string>{"parked.>"});
  EXPECT_EQ(config.deferred_stream.max_bytes, 1000000);
  EXPECT_EQ(config.deferred_stream.replicas, 3);
  EXPECT_TRUE(config.deferred_stream.discard_new);

  EXPECT_FALSE(ApplyConfigYaml("dispatch: {defer_throttled: maybe}\n", "gate.yaml", &config).ok());
  EXPECT_FALSE(ApplyConfigYaml("streams: {deferred: {nmae: X}}\n", "gate.yaml", &config).ok());
}

TEST(ConfigTest, FileOverridesDefaults) {
  GateConfig config;
  const Status s = ApplyConfigYaml(R"(
nats:
  servers: [nats://a:4222, nats://b:4222]
  user: gate
  password: pw
  send_asap: true
  lock_spin_count: -1
  tls: {ca_file: ca.pem}
policy: p.yaml
http: 0.0.0.0:9000
subjects: {job: jobs, worker: work}
streams:
  duplicate_window: 5m
  storage: memory
  jobs: {name: J, retention: limits, max_age: 1d}
consumer: {durable: g2, ack_wait: 10s}
dispatch: {batch_size: 64, max_message_bytes: 4096, retry_delay: 250ms}
lifecycle: {simulation_window: 36h, simulation_bytes: 1048576}
)",
                                   "gate.yaml", &config);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(config.nats.servers, (std::vector<std::string>{"nats://a:4222", "nats://b:4222"}));
  EXPECT_EQ(config.nats.user, "gate");
  EXPECT_EQ(config.nats.tls_ca_file, "ca.pem");
  EXPECT_TRUE(config.nats.send_asap);
  EXPECT_EQ(config.nats.lock_spin_count, -1);
  EXPECT_EQ(config.policy_file, "p.yaml");
  EXPECT_EQ(config.http_address, "0.0.0.0:9000");
  EXPECT_EQ(config.jobs_stream.name, "J");
  EXPECT_EQ(config.consumer.stream, "J");
  EXPECT_EQ(config.jobs_stream.subjects, std::vector<std::string>{"jobs.>"});
  EXPECT_EQ(config.work_stream.subjects, std::vector<std::string>{"work.>"});
  EXPECT_EQ(config.dispatch.prefixes.worker, "work");
  EXPECT_EQ(config.jobs_stream.retention, StreamSpec::Retention::kLimits);
  EXPECT_EQ(config.jobs_stream.max_age, std::chrono::hours(24));
  EXPECT_EQ(config.lifecycle.simulation_window, std::chrono::hours(36));
  EXPECT_EQ(config.lifecycle.simulation_bytes, 1048576u);
  EXPECT_EQ(config.audit_stream.duplicate_window, std::chrono::minutes(5));
  EXPECT_TRUE(config.audit_stream.memory_storage);
  EXPECT_EQ(config.consumer.durable, "g2");
  EXPECT_EQ(config.consumer.ack_wait, std::chrono::seconds(10));
  EXPECT_EQ(config.dispatch.batch_size, 64);
  EXPECT_EQ(config.dispatch.max_message_bytes, 4096u);
  EXPECT_EQ(config.dispatch.retry_delay, std::chrono::milliseconds(250));
}

TEST(ConfigTest, UnknownKeysAndBadValuesAreErrorsWithPositions) {
  GateConfig config;
  Status s = ApplyConfigYaml("dispatch:\n  batch_sise: 3\n", "g.yaml", &config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("g.yaml:2:3: unknown key 'batch_sise' in dispatch"), std::string::npos)
      << s.message();
  s = ApplyConfigYaml("consumer: {ack_wait: soon}\n", "g.yaml", &config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("duration"), std::string::npos);
  s = ApplyConfigYaml("streams: {jobs: {retention: forever}}\n", "g.yaml", &config);
  EXPECT_FALSE(s.ok());
  s = ApplyConfigYaml("nats:\n  send_asap: yes\n", "g.yaml", &config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("g.yaml:2:14: expected true or false"), std::string::npos)
      << s.message();
  s = ApplyConfigYaml("nats: [unclosed\n", "g.yaml", &config);
  EXPECT_FALSE(s.ok());
}

TEST(ConfigTest, TenantSourceAndJobIdTtl) {
  GateConfig config;
  EXPECT_EQ(config.dispatch.tenant_from, subjects::TenantSource::kBody);
  EXPECT_EQ(config.JobIdTtl(), std::chrono::minutes(4));  // twice the duplicate window
  ASSERT_TRUE(ApplyConfigYaml("streams: {duplicate_window: 5m}\n"
                              "dispatch: {tenant_from: subject_token}\n",
                              "g.yaml", &config)
                  .ok());
  EXPECT_EQ(config.dispatch.tenant_from, subjects::TenantSource::kSubjectToken);
  EXPECT_EQ(config.JobIdTtl(), std::chrono::minutes(10));
  ASSERT_TRUE(ApplyConfigYaml("dispatch: {job_id_ttl: 6m}\n", "g.yaml", &config).ok());
  EXPECT_EQ(config.JobIdTtl(), std::chrono::minutes(6));

  GateConfig fresh;
  const Status bad_source = ApplyConfigYaml("dispatch: {tenant_from: header}\n", "g.yaml", &fresh);
  EXPECT_NE(bad_source.message().find("tenant_from is body or subject_token"), std::string::npos)
      << bad_source.ToString();
  // Claims that expire inside the duplicate window would let a conflicting job be
  // dropped downstream: refused.
  const Status short_ttl = ApplyConfigYaml("dispatch: {job_id_ttl: 2m}\n", "g.yaml", &fresh);
  EXPECT_NE(short_ttl.message().find("must exceed streams.duplicate_window"), std::string::npos)
      << short_ttl.ToString();
}

TEST(ConfigTest, Helpers) {
  EXPECT_EQ(SplitServerList("nats://a:1, nats://b:2,,"),
            (std::vector<std::string>{"nats://a:1", "nats://b:2"}));
  std::string host;
  int port = 0;
  EXPECT_TRUE(SplitHostPort("127.0.0.1:8081", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8081);
  EXPECT_FALSE(SplitHostPort("nohost", &host, &port));
  EXPECT_FALSE(SplitHostPort("h:99999", &host, &port));
}


TEST(ConfigTest, SnapshotKeysAreReadAndCheckedAtLoad) {
  testing::TempDir dir;
  const auto pair = testing::NewEd25519KeyPair();
  const std::string pub = dir.WriteFile("signer.pub.pem", pair.public_pem);
  const std::string priv = dir.WriteFile("signer.pem", pair.private_pem);
  GateConfig config;
  EXPECT_TRUE(config.lifecycle.verify_keys.empty());  // verification is opt-in
  ASSERT_TRUE(ApplyConfigYaml("lifecycle: {verify_keys: [" + pub + ", " + pub +
                                  "], signing_key: " + priv + "}\n",
                              "g.yaml", &config)
                  .ok());
  EXPECT_EQ(config.lifecycle.verify_keys.size(), 2u);
  ASSERT_TRUE(config.lifecycle.signing_key.has_value());
  EXPECT_EQ(config.lifecycle.signing_key->id(), config.lifecycle.verify_keys[0].id());
  // A missing file, a private key where a public one belongs (and the reverse), garbage,
  // an empty list and a scalar are errors naming the place: never "no verification".
  for (const std::string& bad :
       {"lifecycle: {verify_keys: [" + dir.path() + "/missing.pem]}\n",
        "lifecycle: {verify_keys: [" + priv + "]}\n",
        "lifecycle: {verify_keys: [" + dir.WriteFile("junk.pem", "junk") + "]}\n",
        std::string("lifecycle: {verify_keys: []}\n"), "lifecycle: {verify_keys: " + pub + "}\n",
        "lifecycle: {signing_key: " + pub + "}\n"}) {
    GateConfig fresh;
    const Status s = ApplyConfigYaml(bad, "g.yaml", &fresh);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("g.yaml:"), std::string::npos) << s.message();
  }
}

TEST(ConfigTest, AuditStreamDeniesDeletesAndPurges) {
  GateConfig config;
  EXPECT_TRUE(config.audit_stream.deny_delete);
  EXPECT_TRUE(config.audit_stream.deny_purge);
  EXPECT_FALSE(config.jobs_stream.deny_delete);
}

}  // namespace
}  // namespace jobgate::gate
