// Signing a snapshot before it is published, and checking a stored one offline: the
// glue between policy/tooling/snapshot_signature.h (the pure crypto) and snapshot records.
// Thread-compatible free functions; no I/O.
#pragma once

#include <string>
#include <vector>

#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "policy/tooling/snapshot_signature.h"
#include "base/status.h"

namespace jobgate::gate {

namespace v1 = ::jobgate::v1;

// The name a snapshot is published under when the request names none: the policy's own
// `snapshot:` key, else "sha-" and 12 hex digits of its hash.
std::string DefaultSnapshotName(const policy::Policy& compiled);

// Compiles request->policy() to learn the name and hash the gate will store, and fills
// request->signature and signature_key_id. kInvalidArgument when there is no policy to
// sign or it does not compile.
Status SignPublishRequest(const policy::SnapshotSigningKey& key, v1::PublishRequest* request);

// What a full offline check of a snapshot record found.
struct SnapshotCheck {
  Status status;       // Ok: the record compiles to its hash and its signature verifies
  std::string key_id;  // the configured key that verified it (when ok)
};

// Compiles `snapshot.policy`, requires its hash to be `snapshot.hash`, and verifies the
// signature under `keys` (policy/tooling/snapshot_signature.h).
SnapshotCheck CheckSnapshotRecord(const std::vector<policy::SnapshotVerifyKey>& keys,
                                  const v1::PolicySnapshot& snapshot);

}  // namespace jobgate::gate
