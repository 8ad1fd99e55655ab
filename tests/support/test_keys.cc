#include "tests/support/test_keys.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>

namespace jobgate::testing {
namespace {

std::string WritePem(EVP_PKEY* key, bool is_private) {
  BIO* bio = BIO_new(BIO_s_mem());
  const int ok = is_private
                     ? PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr)
                     : PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out = ok == 1 ? std::string(data, static_cast<size_t>(size)) : "";
  BIO_free(bio);
  return out;
}

}  // namespace

TestKeyPair NewEd25519KeyPair() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) std::abort();
  TestKeyPair out{WritePem(key, true), WritePem(key, false)};
  EVP_PKEY_free(key);
  if (out.private_pem.empty() || out.public_pem.empty()) std::abort();
  return out;
}

}  // namespace jobgate::testing
