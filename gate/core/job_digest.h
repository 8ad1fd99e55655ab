// The digest that names a job's exact content: what an approval binds, what the job-id
// store compares a redelivered or reused id against, and what decision records carry
// as job_hash. Pure; thread-safe.
#pragma once

#include <string>

#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::gate {

// "sha256:<hex>": SHA-256 of the job's deterministic protobuf serialization (protobuf's
// SetSerializationDeterministic: fields in field-number order, map entries — labels and
// the keys of args — sorted by key), after dropping unknown fields. Two jobs have the
// same digest exactly when they are equal as jobgate.v1.Job messages, whatever JSON key
// order or protobuf encoding they arrived in. Stable within a protobuf version; the gate
// computes and checks digests itself, so it never compares across versions.
std::string JobDigest(const v1::Job& job);

}  // namespace jobgate::gate
