// `jobgate policy verify`: checks a snapshot's signature without a running gate, from a
// file (the JSON `jobgate policy show` prints) or straight from the snapshot bucket.

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "gate/nats/nats_bus.h"
#include "gate/lifecycle/snapshot_signing.h"
#include "gate/lifecycle/snapshot_store.h"
#include "gate/nats/nats_snapshot_store.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

struct VerifyArgs {
  std::string snapshot;  // a file, else a snapshot name
  std::vector<std::string> key_files;
  std::string nats_url = "nats://127.0.0.1:4222";
  std::string bucket = "jobgate-snapshots";
};

// Reads the record from a file when `args.snapshot` names one, else from the bucket.
Result<v1::PolicySnapshot> ReadRecord(const VerifyArgs& args) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(args.snapshot, ec)) {
    auto text = policy::ReadFile(args.snapshot);
    if (!text.ok()) return text.status();
    v1::PolicySnapshot snapshot;
    if (Status s = subjects::FromJson(*text, &snapshot); !s.ok()) {
      return InvalidArgument(args.snapshot + ": " + s.message());
    }
    return snapshot;
  }
  NatsConnectOptions options;
  options.servers = {args.nats_url};
  auto connection = NatsConnection::Connect(options, /*wait=*/true);
  if (!connection.ok()) return connection.status();
  KvStoreOptions store_options;
  store_options.snapshots_bucket = args.bucket;
  auto store = NatsKvSnapshotStore::Open(connection->get(), store_options);
  if (!store.ok()) return store.status();
  return (*store)->GetSnapshot(args.snapshot);
}

int RunVerify(const VerifyArgs& args) {
  std::vector<policy::SnapshotVerifyKey> keys;
  for (const auto& path : args.key_files) {
    auto pem = policy::ReadFile(path);
    if (!pem.ok()) {
      std::cerr << "jobgate: " << pem.status().message() << "\n";
      return kExitUnreachable;
    }
    auto key = policy::SnapshotVerifyKey::FromPem(*pem);
    if (!key.ok()) {
      std::cerr << "jobgate: " << path << ": " << key.status().message() << "\n";
      return kExitUnreachable;
    }
    keys.push_back(std::move(*key));
  }
  auto record = ReadRecord(args);
  if (!record.ok()) {
    std::cerr << "jobgate: " << record.status().message() << "\n";
    return kExitUnreachable;
  }
  const SnapshotCheck check = CheckSnapshotRecord(keys, *record);
  if (!check.status.ok()) {
    std::cout << "REFUSED " << record->name() << ": " << check.status.message() << "\n";
    return kExitRefused;
  }
  std::cout << "OK " << record->name() << " " << record->hash() << " signed by key "
            << check.key_id << "\n";
  return kExitOk;
}

}  // namespace

void AddPolicyVerifyCommand(CLI::App* policy, int* exit_code) {
  auto* cmd = policy->add_subcommand(
      "verify", "Check a snapshot's signature offline (exit 0 valid, 1 refused, 2 unreadable)");
  auto args = std::make_shared<VerifyArgs>();
  cmd->add_option("SNAPSHOT", args->snapshot,
                  "A snapshot record file (JSON, as `policy show` prints), or a snapshot name "
                  "read from the bucket")
      ->required();
  cmd->add_option("--key", args->key_files, "Ed25519 public key (PEM); repeat for several")
      ->required();
  cmd->add_option("--nats", args->nats_url, "NATS server, when SNAPSHOT is a name");
  cmd->add_option("--bucket", args->bucket, "Snapshot bucket, when SNAPSHOT is a name");
  cmd->callback([=] { *exit_code = RunVerify(*args); });
}

}  // namespace jobgate::gate
