// Ed25519 signatures over policy snapshots, through OpenSSL EVP. Pure: keys arrive as PEM
// text, nothing here reads files or talks to a network.
//
// The signed message binds a snapshot's name, its canonical hash and its exact policy
// bytes, behind a domain-separation prefix so a signature made for anything else can
// never verify as a snapshot signature:
//
//   "jobgate-snapshot-v1" 0x00 name 0x00 hash 0x00 hex(SHA-256(policy bytes))
//
// (name is [A-Za-z0-9_.-] and hash is "sha256:<hex>", so neither holds a 0x00.)
// A signature is the raw 64-byte Ed25519 signature. Verification accepts a signature
// only when it is exactly 64 bytes and verifies under one of the configured keys; a key
// id in a snapshot record is informational and never selects or skips a key.
//
// Keys: private keys are PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----", as written by
// `openssl genpkey -algorithm ed25519`), public keys SubjectPublicKeyInfo PEM
// ("-----BEGIN PUBLIC KEY-----", `openssl pkey -pubout`). Any other key type is refused.
// Thread-safety: keys are immutable after parsing and may be shared across threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace jobgate::policy {

inline constexpr size_t kEd25519SignatureBytes = 64;

// The exact bytes a snapshot signature covers (see above).
std::string SnapshotSigningMessage(std::string_view name, std::string_view hash,
                                   std::string_view policy_bytes);

class SnapshotVerifyKey {
 public:
  // kInvalidArgument unless `pem` holds exactly an Ed25519 public key.
  static Result<SnapshotVerifyKey> FromPem(std::string_view pem);
  // 16 hex digits of SHA-256 over the raw 32-byte public key.
  const std::string& id() const { return id_; }
  // True when `signature` is a valid signature of `message` under this key.
  bool Verify(std::string_view message, std::string_view signature) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
  std::string id_;
};

class SnapshotSigningKey {
 public:
  // kInvalidArgument unless `pem` holds exactly an Ed25519 private key.
  static Result<SnapshotSigningKey> FromPem(std::string_view pem);
  // The id of the matching public key (SnapshotVerifyKey::id).
  const std::string& id() const { return id_; }
  // The 64-byte signature of `message`; kInternal only if OpenSSL fails.
  Result<std::string> Sign(std::string_view message) const;
  // The matching public key as SubjectPublicKeyInfo PEM.
  std::string PublicKeyPem() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
  std::string id_;
};

// Signs a snapshot (SnapshotSigningMessage of the three fields).
Result<std::string> SignSnapshot(const SnapshotSigningKey& key, std::string_view name,
                                 std::string_view hash, std::string_view policy_bytes);

// Ok when `signature` verifies under one of `keys`; kPermissionDenied when the signature
// is missing, malformed or verifies under none (the message says which); kPermissionDenied
// also when `keys` is empty, so a caller can never mistake "no keys" for "verified".
Status VerifySnapshotSignature(const std::vector<SnapshotVerifyKey>& keys, std::string_view name,
                               std::string_view hash, std::string_view policy_bytes,
                               std::string_view signature);

}  // namespace jobgate::policy
