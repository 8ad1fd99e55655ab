// Sealing of held jobs at rest: AES-256-GCM under the gate's approval keys.
//
// A held job must reach its worker as it came (the worker may need the credential it
// carries), but the approvals bucket must never hold a raw secret. The approval service
// stores the scrubbed job in the clear and, when scrubbing changed it, the original job
// sealed by a JobSealer: a fresh 96-bit nonce per seal, the record's identity as
// additional authenticated data (so a sealed job moved to another record does not open),
// and the id of the key that sealed it.
//
// Keys: 32 bytes each. The first key seals; every key opens, so a key is rotated by
// putting the new one first and keeping the old ones until the jobs they sealed are
// resolved. A key's id is derived from the key (16 hex digits of SHA-256 over a label
// and the key): the same key has the same id on every replica, and the id reveals
// nothing usable about the key.
//
// Loading (LoadJobSealer): the files named in the config (`approvals.seal_keys`), or the
// environment: JOBGATE_APPROVAL_KEY (64 hex digits) or JOBGATE_APPROVAL_KEY_FILE. A file
// holds 32 raw bytes or 64 hex digits (one trailing newline dropped). No key anywhere:
// no sealer (nullptr), and held jobs are kept scrubbed (see docs/operations.md).
//
// Thread-safety: a JobSealer is immutable after construction; Seal and Open may be called
// from any thread.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace jobgate::gate {

inline constexpr char kApprovalKeyEnv[] = "JOBGATE_APPROVAL_KEY";
inline constexpr char kApprovalKeyFileEnv[] = "JOBGATE_APPROVAL_KEY_FILE";

// What Seal produces: the key id and nonce || ciphertext || 16-byte tag.
struct Sealed {
  std::string key_id;
  std::string blob;
};

class JobSealer {
 public:
  using Key = std::array<unsigned char, 32>;

  // At least one key; duplicate keys are dropped.
  static Result<std::unique_ptr<JobSealer>> FromKeys(std::vector<Key> keys);

  // The id of the key that seals.
  const std::string& sealing_key_id() const { return ids_.front(); }

  Result<Sealed> Seal(std::string_view plaintext, std::string_view associated_data) const;
  // kNotFound when no key has `key_id`; kFailedPrecondition when the blob does not
  // authenticate (altered, truncated, or sealed for other associated data).
  Result<std::string> Open(std::string_view key_id, std::string_view blob,
                           std::string_view associated_data) const;

  static std::string KeyId(const Key& key);

 private:
  JobSealer() = default;
  std::vector<Key> keys_;
  std::vector<std::string> ids_;
};

// Parses one key: 32 raw bytes, or 64 hex digits; one trailing newline is dropped.
Result<JobSealer::Key> ParseSealKey(std::string_view text, std::string_view where);

// Loads the keys as described above: `files` first (from the config), else the
// environment. Returns nullptr (OK) when no key is configured anywhere.
Result<std::unique_ptr<JobSealer>> LoadJobSealer(const std::vector<std::string>& files);

}  // namespace jobgate::gate
