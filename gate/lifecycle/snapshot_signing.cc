#include "gate/lifecycle/snapshot_signing.h"

namespace jobgate::gate {

std::string DefaultSnapshotName(const policy::Policy& compiled) {
  if (!compiled.snapshot_name().empty()) return compiled.snapshot_name();
  const std::string& hash = compiled.hash();  // "sha256:<hex>"
  return "sha-" + hash.substr(7, 12);
}

Status SignPublishRequest(const policy::SnapshotSigningKey& key, v1::PublishRequest* request) {
  if (request->policy().empty()) {
    return InvalidArgument("signing needs the policy (a stored snapshot keeps its signature)");
  }
  policy::CompileResult compiled = policy::Compile(request->policy());
  if (!compiled.ok()) return InvalidArgument("the policy does not compile:\n" + compiled.ErrorText());
  const std::string name =
      request->snapshot().empty() ? DefaultSnapshotName(*compiled.policy) : request->snapshot();
  auto signature =
      policy::SignSnapshot(key, name, compiled.policy->hash(), request->policy());
  if (!signature.ok()) return signature.status();
  request->set_signature(*signature);
  request->set_signature_key_id(key.id());
  return Status::Ok();
}

SnapshotCheck CheckSnapshotRecord(const std::vector<policy::SnapshotVerifyKey>& keys,
                                  const v1::PolicySnapshot& snapshot) {
  SnapshotCheck out;
  policy::CompileResult compiled = policy::Compile(snapshot.policy());
  if (!compiled.ok()) {
    out.status = InvalidArgument("snapshot '" + snapshot.name() +
                                 "' does not compile: " + compiled.ErrorText());
    return out;
  }
  if (compiled.policy->hash() != snapshot.hash()) {
    out.status = Status(StatusCode::kPermissionDenied,
                        "snapshot '" + snapshot.name() + "' hashes to " +
                            compiled.policy->hash() + ", recorded as " + snapshot.hash());
    return out;
  }
  for (const auto& key : keys) {
    if (policy::VerifySnapshotSignature({key}, snapshot.name(), snapshot.hash(), snapshot.policy(),
                                        snapshot.signature())
            .ok()) {
      out.key_id = key.id();
      out.status = Status::Ok();
      return out;
    }
  }
  out.status = policy::VerifySnapshotSignature(keys, snapshot.name(), snapshot.hash(),
                                               snapshot.policy(), snapshot.signature());
  return out;
}

}  // namespace jobgate::gate
