#include "gate/core/job_sealer.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>

#include "base/hash.h"
#include "policy/policy.h"

namespace jobgate::gate {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

struct CipherContextFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextFree>;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string JobSealer::KeyId(const Key& key) {
  std::string labelled = "jobgate-approval-key-id";
  labelled.push_back('\0');
  labelled.append(reinterpret_cast<const char*>(key.data()), key.size());
  return jobgate::Sha256Hex(labelled).substr(0, 16);
}

Result<std::unique_ptr<JobSealer>> JobSealer::FromKeys(std::vector<Key> keys) {
  if (keys.empty()) return InvalidArgument("a sealer needs at least one key");
  std::unique_ptr<JobSealer> sealer(new JobSealer());
  for (const Key& key : keys) {
    std::string id = KeyId(key);
    if (std::find(sealer->ids_.begin(), sealer->ids_.end(), id) != sealer->ids_.end()) continue;
    sealer->keys_.push_back(key);
    sealer->ids_.push_back(std::move(id));
  }
  return sealer;
}

Result<Sealed> JobSealer::Seal(std::string_view plaintext,
                               std::string_view associated_data) const {
  Sealed out;
  out.key_id = ids_.front();
  out.blob.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* nonce = reinterpret_cast<unsigned char*>(out.blob.data());
  if (RAND_bytes(nonce, kNonceBytes) != 1) return Internal("no randomness for a nonce");
  CipherContext ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, keys_.front().data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(associated_data),
                        static_cast<int>(associated_data.size())) != 1) {
    return Internal("AES-256-GCM set-up failed");
  }
  unsigned char* cipher = nonce + kNonceBytes;
  if (EVP_EncryptUpdate(ctx.get(), cipher, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), cipher + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          cipher + plaintext.size()) != 1) {
    return Internal("AES-256-GCM encryption failed");
  }
  return out;
}

Result<std::string> JobSealer::Open(std::string_view key_id, std::string_view blob,
                                    std::string_view associated_data) const {
  const auto it = std::find(ids_.begin(), ids_.end(), key_id);
  if (it == ids_.end()) {
    return NotFound("sealed with key " + std::string(key_id) + ", which this gate does not have");
  }
  const Key& key = keys_[static_cast<size_t>(it - ids_.begin())];
  if (blob.size() < kNonceBytes + kTagBytes) return FailedPrecondition("sealed job is truncated");
  const size_t cipher_bytes = blob.size() - kNonceBytes - kTagBytes;
  std::string plain(cipher_bytes, '\0');
  std::string tag(blob.substr(kNonceBytes + cipher_bytes));
  CipherContext ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), Bytes(blob)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(associated_data),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &len, Bytes(blob) + kNonceBytes,
                        static_cast<int>(cipher_bytes)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1) {
    return Internal("AES-256-GCM set-up failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out + len, &len) != 1) {
    return FailedPrecondition("sealed job does not authenticate under key " + std::string(key_id));
  }
  return plain;
}

Result<JobSealer::Key> ParseSealKey(std::string_view text, std::string_view where) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  JobSealer::Key key{};
  if (text.size() == key.size()) {
    std::copy(text.begin(), text.end(), key.begin());
    return key;
  }
  if (text.size() == 2 * key.size()) {
    for (size_t i = 0; i < key.size(); ++i) {
      const int hi = HexValue(text[2 * i]);
      const int lo = HexValue(text[2 * i + 1]);
      if (hi < 0 || lo < 0) break;
      key[i] = static_cast<unsigned char>(hi * 16 + lo);
      if (i + 1 == key.size()) return key;
    }
  }
  return InvalidArgument(std::string(where) +
                         ": an approval key is 32 bytes, or 64 hex digits");
}

Result<std::unique_ptr<JobSealer>> LoadJobSealer(const std::vector<std::string>& files) {
  std::vector<JobSealer::Key> keys;
  for (const std::string& file : files) {
    auto text = policy::ReadFile(file);
    if (!text.ok()) return text.status();
    auto key = ParseSealKey(*text, file);
    if (!key.ok()) return key.status();
    keys.push_back(*key);
  }
  if (keys.empty()) {
    const char* inline_key = std::getenv(kApprovalKeyEnv);
    const char* key_file = std::getenv(kApprovalKeyFileEnv);
    if (inline_key != nullptr && key_file != nullptr) {
      return InvalidArgument(std::string("set ") + kApprovalKeyEnv + " or " + kApprovalKeyFileEnv +
                             ", not both");
    }
    if (inline_key != nullptr) {
      auto key = ParseSealKey(inline_key, kApprovalKeyEnv);
      if (!key.ok()) return key.status();
      keys.push_back(*key);
    } else if (key_file != nullptr) {
      auto text = policy::ReadFile(key_file);
      if (!text.ok()) return text.status();
      auto key = ParseSealKey(*text, key_file);
      if (!key.ok()) return key.status();
      keys.push_back(*key);
    }
  }
  if (keys.empty()) return std::unique_ptr<JobSealer>();
  return JobSealer::FromKeys(std::move(keys));
}

}  // namespace jobgate::gate
