// Signed snapshots end to end: a `jobgate run` with verify keys on a real nats-server,
// and snapshots written straight into the KV buckets, around the gate, unsigned or
// signed by a stranger. None of them is ever enforced; a properly signed one written the
// same way is (so the refusals are not the watch failing to see changes).
#include <gtest/gtest.h>
#include <httplib.h>

#include "gate/nats/nats_bus.h"
#include "gate/lifecycle/snapshot_signing.h"
#include "gate/lifecycle/snapshot_store.h"
#include "gate/nats/nats_snapshot_store.h"
#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "subjects/codec.h"
#include "tests/support/gate_connection.h"
#include "tests/support/nats_server.h"
#include "tests/support/test_keys.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::ConnectGate;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::Subprocess;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;

std::string PolicyYaml(const std::string& prod_write_decision) {
  return "defaults: {decision: deny}\nrules:\n"
         "  - {id: reads, match: {topics: ['job.read.>']}, decision: allow}\n"
         "  - {id: prod-writes, match: {topics: ['job.db.>'], environment: prod}, decision: " +
         prod_write_decision + "}\n";
}

constexpr char kAdminToken[] = "admin-token-for-signing-tests";

bool Enforces(const GateProcess& gate, const std::string& snapshot, const std::string& yaml) {
  auto compiled = policy::Compile(yaml);
  return compiled.ok() &&
         gate.Metric("jobgate_policy_info{hash=\"" + compiled.policy->hash() + "\",snapshot=\"" +
                     snapshot + "\"}") == 1;
}

class SignedSnapshotsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto signer = testing::NewEd25519KeyPair();
    signer_private_ = dir_.WriteFile("signer.pem", signer.private_pem);
    signer_public_ = dir_.WriteFile("signer.pub.pem", signer.public_pem);
    signer_key_ = *policy::SnapshotSigningKey::FromPem(signer.private_pem);
    stranger_key_ =
        *policy::SnapshotSigningKey::FromPem(testing::NewEd25519KeyPair().private_pem);
    policy_file_ = dir_.WriteFile("policy.yaml", "snapshot: v1\n" + PolicyYaml("require_approval"));
    config_file_ = dir_.WriteFile(
        "config.yaml", "api:\n  tokens:\n    - {name: admin, roles: [policy-admin], token: \"" +
                           std::string(kAdminToken) +
                           "\"}\n"
                           "lifecycle: {recheck_interval: 1s, verify_keys: [" +
                           signer_public_ + "], signing_key: " + signer_private_ + "}\n");
    gate_ = std::make_unique<GateProcess>(
        server_.url(),
        std::vector<std::string>{"--config", config_file_, "--policy", policy_file_}, dir_,
        "signed-gate");
    ASSERT_TRUE(gate_->WaitReady()) << gate_->process().Log();
    ASSERT_TRUE(WaitFor([&] { return Enforces(*gate_, "v1", PolicyYaml("require_approval")); }));

    connection_ = ConnectGate(server_);
    ASSERT_NE(connection_, nullptr);
    auto store = NatsKvSnapshotStore::Open(connection_.get(), {});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  // Writes a snapshot and moves the pointer to it straight in KV, as anyone with write
  // access to the buckets could.
  void WriteAround(const std::string& name, const std::string& yaml,
                   const policy::SnapshotSigningKey* key) {
    v1::PolicySnapshot snapshot;
    snapshot.set_name(name);
    snapshot.set_policy(yaml);
    snapshot.set_hash(policy::Compile(yaml).policy->hash());
    snapshot.set_author("mallory");
    if (key != nullptr) {
      snapshot.set_signature(*policy::SignSnapshot(*key, name, snapshot.hash(), yaml));
    }
    ASSERT_TRUE(store_->PutSnapshot(snapshot).ok());
    auto current = store_->GetActive();
    ASSERT_TRUE(current.ok());
    v1::ActiveSnapshot pointer;
    pointer.set_name(name);
    pointer.set_hash(snapshot.hash());
    pointer.set_changed_by("mallory");
    ASSERT_TRUE(store_->SetActive(pointer, current->revision()).ok());
  }

  double SignatureRefusals() const {
    return gate_->Metric("jobgate_policy_reloads_total{result=\"signature_refused\"}");
  }

  int RunVerify(const std::string& snapshot, const std::string& key_file) {
    Subprocess verify({JOBGATE_BINARY, "policy", "verify", snapshot, "--key", key_file, "--nats",
                       server_.url()},
                      dir_.path() + "/verify.log");
    return verify.Wait();
  }

  TempDir dir_;
  NatsServer server_;
  std::string signer_private_, signer_public_, policy_file_, config_file_;
  policy::SnapshotSigningKey signer_key_, stranger_key_;
  std::unique_ptr<GateProcess> gate_;
  std::unique_ptr<NatsConnection> connection_;
  std::unique_ptr<NatsKvSnapshotStore> store_;
};

TEST_F(SignedSnapshotsIntegrationTest, UnsignedOrStrangerSignedSnapshotInKvIsNeverEnforced) {
  const std::string loose = PolicyYaml("allow");
  WriteAround("unsigned", loose, nullptr);
  // The watch, then several 1 s re-checks, all refuse it.
  ASSERT_TRUE(WaitFor([&] { return SignatureRefusals() >= 3; })) << gate_->process().Log();
  EXPECT_TRUE(Enforces(*gate_, "v1", PolicyYaml("require_approval")));
  EXPECT_FALSE(Enforces(*gate_, "unsigned", loose));

  WriteAround("stranger", loose, &stranger_key_);
  const double before = SignatureRefusals();
  ASSERT_TRUE(WaitFor([&] { return SignatureRefusals() >= before + 3; }));
  EXPECT_TRUE(Enforces(*gate_, "v1", PolicyYaml("require_approval")));
  EXPECT_FALSE(Enforces(*gate_, "stranger", loose));

  // A gate starting on that pointer enforces nothing: it keeps refusing and never
  // becomes ready (nothing consumed).
  GateProcess second(server_.url(), {"--config", config_file_, "--policy", policy_file_}, dir_,
                     "second");
  ASSERT_TRUE(WaitFor([&] {
    return second.Metric("jobgate_policy_reloads_total{result=\"signature_refused\"}") >= 2;
  })) << second.process().Log();
  EXPECT_NE(second.Get("/readyz"), 200);
  EXPECT_EQ(second.Metric("jobgate_policy_info"), 0) << second.process().Log();
}

TEST_F(SignedSnapshotsIntegrationTest, SignedSnapshotWrittenTheSameWayIsEnforced) {
  const std::string stricter = PolicyYaml("deny");
  WriteAround("v2", stricter, &signer_key_);
  ASSERT_TRUE(WaitFor([&] { return Enforces(*gate_, "v2", stricter); })) << gate_->process().Log();
  EXPECT_EQ(SignatureRefusals(), 0);
}

TEST_F(SignedSnapshotsIntegrationTest, PolicyVerifyChecksOffline) {
  WriteAround("unsigned", PolicyYaml("allow"), nullptr);
  WriteAround("stranger", PolicyYaml("deny"), &stranger_key_);
  EXPECT_EQ(RunVerify("v1", signer_public_), 0);  // the bootstrap, signed by the gate's key
  EXPECT_EQ(RunVerify("unsigned", signer_public_), 1);
  EXPECT_EQ(RunVerify("stranger", signer_public_), 1);
  EXPECT_EQ(RunVerify("no-such-snapshot", signer_public_), 2);
  // From a file (what `policy show` prints): the record, then the record tampered with.
  auto record = store_->GetSnapshot("v1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(RunVerify(dir_.WriteFile("v1.json", subjects::ToJson(*record)), signer_public_), 0);
  v1::PolicySnapshot edited = *record;
  edited.set_policy(edited.policy() + "# edited\n");
  EXPECT_EQ(RunVerify(dir_.WriteFile("edited.json", subjects::ToJson(edited)), signer_public_), 1);
}

TEST_F(SignedSnapshotsIntegrationTest, CliSignsPublishes) {
  const std::string stricter = PolicyYaml("deny");
  const std::string file = dir_.WriteFile("v3.yaml", stricter);
  const std::string url = "http://127.0.0.1:" + std::to_string(gate_->http_port());
  const std::string stranger_file = dir_.WriteFile("stranger.pem", [&] {
    return testing::NewEd25519KeyPair().private_pem;
  }());
  // Signed by a key the gate does not trust: refused.
  Subprocess refused({JOBGATE_BINARY, "policy", "publish", file, "--snapshot", "v3", "--force",
                      "--url", url, "--token", kAdminToken, "--signing-key", stranger_file},
                     dir_.path() + "/refused.log");
  EXPECT_EQ(refused.Wait(), 1) << refused.Log();
  EXPECT_NE(refused.Log().find("bad_signature"), std::string::npos) << refused.Log();
  Subprocess published({JOBGATE_BINARY, "policy", "publish", file, "--snapshot", "v3", "--force",
                        "--url", url, "--token", kAdminToken, "--signing-key", signer_private_},
                       dir_.path() + "/published.log");
  EXPECT_EQ(published.Wait(), 0) << published.Log();
  EXPECT_TRUE(WaitFor([&] { return Enforces(*gate_, "v3", stricter); }));
  EXPECT_EQ(store_->GetSnapshot("v3")->signature_key_id(), signer_key_.id());
}

}  // namespace
}  // namespace jobgate::gate
