// Fresh Ed25519 key pairs as PEM text, for tests of signed snapshots.
#pragma once

#include <string>

namespace jobgate::testing {

struct TestKeyPair {
  std::string private_pem;  // PKCS#8
  std::string public_pem;   // SubjectPublicKeyInfo
};

// A new random Ed25519 key pair; aborts the test binary if OpenSSL cannot make one.
TestKeyPair NewEd25519KeyPair();

}  // namespace jobgate::testing
