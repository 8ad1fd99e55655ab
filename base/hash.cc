#include "base/hash.h"

#include <openssl/evp.h>

#include <memory>

namespace jobgate {
namespace {

struct DigestContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

// The algorithm is fetched once (EVP_sha256() makes OpenSSL 3 look it up on every use) and
// each thread keeps one context (EVP_Digest allocates and frees one per call).
const EVP_MD* Sha256Algorithm() {
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return algorithm;
}

}  // namespace

void Sha256(std::initializer_list<std::string_view> parts, unsigned char digest[kSha256Bytes]) {
  thread_local std::unique_ptr<EVP_MD_CTX, DigestContextFree> context(EVP_MD_CTX_new());
  unsigned int size = 0;
  bool ok = context != nullptr && EVP_DigestInit_ex2(context.get(), Sha256Algorithm(), nullptr);
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(context.get(), part.data(), part.size()) == 1;
  }
  if (ok && EVP_DigestFinal_ex(context.get(), digest, &size) == 1) return;
  // Out of memory inside OpenSSL: hash the concatenation the one-shot way.
  std::string whole;
  for (std::string_view part : parts) whole.append(part);
  EVP_Digest(whole.data(), whole.size(), digest, &size, EVP_sha256(), nullptr);
}

void Sha256(std::string_view data, unsigned char digest[kSha256Bytes]) { Sha256({data}, digest); }

void AppendHex(const unsigned char* bytes, size_t size, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t at = out->size();
  out->resize(at + 2 * size);  // one size check, not one per character
  char* hex = out->data() + at;
  for (size_t i = 0; i < size; ++i) {
    hex[2 * i] = kHex[bytes[i] >> 4];
    hex[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[kSha256Bytes];
  Sha256(data, digest);
  std::string out;
  out.reserve(2 * kSha256Bytes);
  AppendHex(digest, kSha256Bytes, &out);
  return out;
}

}  // namespace jobgate
