#include "policy/tooling/snapshot_signature.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/hash.h"

namespace jobgate::policy {

namespace {

constexpr std::string_view kDomain = "jobgate-snapshot-v1";

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

enum class KeyKind { kPublic, kPrivate };

Result<PkeyPtr> ParsePem(std::string_view pem, KeyKind kind) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Internal("out of memory reading a key");
  PkeyPtr key(kind == KeyKind::kPublic ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)
                                       : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr,
                                                                 nullptr));
  const char* what = kind == KeyKind::kPublic ? "public" : "private";
  if (!key) return InvalidArgument(std::string("not a PEM ") + what + " key");
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return InvalidArgument(std::string("the ") + what + " key is not an Ed25519 key");
  }
  return key;
}

// 16 hex digits of SHA-256 over the raw public key.
std::string KeyId(EVP_PKEY* key) {
  unsigned char raw[32];
  size_t size = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key, raw, &size) != 1 || size != sizeof(raw)) return "";
  return Sha256Hex(std::string_view(reinterpret_cast<const char*>(raw), size)).substr(0, 16);
}

}  // namespace

std::string SnapshotSigningMessage(std::string_view name, std::string_view hash,
                                   std::string_view policy_bytes) {
  std::string message;
  message.reserve(kDomain.size() + name.size() + hash.size() + 67);
  message.append(kDomain);
  message.push_back('\0');
  message.append(name);
  message.push_back('\0');
  message.append(hash);
  message.push_back('\0');
  message.append(Sha256Hex(policy_bytes));
  return message;
}

struct SnapshotVerifyKey::Impl {
  PkeyPtr key;
};

Result<SnapshotVerifyKey> SnapshotVerifyKey::FromPem(std::string_view pem) {
  auto key = ParsePem(pem, KeyKind::kPublic);
  if (!key.ok()) return key.status();
  SnapshotVerifyKey out;
  out.id_ = KeyId(key->get());
  auto impl = std::make_shared<Impl>();
  impl->key = std::move(*key);
  out.impl_ = std::move(impl);
  return out;
}

bool SnapshotVerifyKey::Verify(std::string_view message, std::string_view signature) const {
  if (!impl_ || signature.size() != kEd25519SignatureBytes) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

struct SnapshotSigningKey::Impl {
  PkeyPtr key;
};

Result<SnapshotSigningKey> SnapshotSigningKey::FromPem(std::string_view pem) {
  auto key = ParsePem(pem, KeyKind::kPrivate);
  if (!key.ok()) return key.status();
  SnapshotSigningKey out;
  out.id_ = KeyId(key->get());
  auto impl = std::make_shared<Impl>();
  impl->key = std::move(*key);
  out.impl_ = std::move(impl);
  return out;
}

Result<std::string> SnapshotSigningKey::Sign(std::string_view message) const {
  if (!impl_) return Internal("no signing key");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1) {
    return Internal("cannot start an Ed25519 signature");
  }
  std::string signature(kEd25519SignatureBytes, '\0');
  size_t size = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      size != kEd25519SignatureBytes) {
    return Internal("Ed25519 signing failed");
  }
  return signature;
}

std::string SnapshotSigningKey::PublicKeyPem() const {
  if (!impl_) return "";
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), impl_->key.get()) != 1) return "";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

Result<std::string> SignSnapshot(const SnapshotSigningKey& key, std::string_view name,
                                 std::string_view hash, std::string_view policy_bytes) {
  return key.Sign(SnapshotSigningMessage(name, hash, policy_bytes));
}

Status VerifySnapshotSignature(const std::vector<SnapshotVerifyKey>& keys, std::string_view name,
                               std::string_view hash, std::string_view policy_bytes,
                               std::string_view signature) {
  if (keys.empty()) return Status(StatusCode::kPermissionDenied, "no snapshot verify keys");
  if (signature.empty()) {
    return Status(StatusCode::kPermissionDenied, "the snapshot is not signed");
  }
  if (signature.size() != kEd25519SignatureBytes) {
    return Status(StatusCode::kPermissionDenied,
                  "the snapshot signature is malformed (" + std::to_string(signature.size()) +
                      " bytes, an Ed25519 signature has 64)");
  }
  const std::string message = SnapshotSigningMessage(name, hash, policy_bytes);
  for (const auto& key : keys) {
    if (key.Verify(message, signature)) return Status::Ok();
  }
  return Status(StatusCode::kPermissionDenied,
                "the snapshot signature verifies under none of the " +
                    std::to_string(keys.size()) + " configured keys");
}

}  // namespace jobgate::policy
