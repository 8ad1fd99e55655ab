#include "policy/tooling/snapshot_signature.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <random>

namespace jobgate::policy {
namespace {

// A fresh key pair as PEM text: private (PKCS#8) and public (SPKI).
struct PemPair {
  std::string private_pem;
  std::string public_pem;
};

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

PemPair NewPair(const char* type = "ED25519") {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  PemPair out{WritePem(key, true), WritePem(key, false)};
  EVP_PKEY_free(key);
  return out;
}

class SnapshotSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pair_ = NewPair();
    auto signing = SnapshotSigningKey::FromPem(pair_.private_pem);
    ASSERT_TRUE(signing.ok()) << signing.status().message();
    signing_ = *signing;
    auto verify = SnapshotVerifyKey::FromPem(pair_.public_pem);
    ASSERT_TRUE(verify.ok()) << verify.status().message();
    keys_.push_back(*verify);
    auto signature = SignSnapshot(signing_, kName, kHash, kPolicy);
    ASSERT_TRUE(signature.ok());
    signature_ = *signature;
  }

  Status Check(std::string_view name, std::string_view hash, std::string_view policy,
               std::string_view signature) const {
    return VerifySnapshotSignature(keys_, name, hash, policy, signature);
  }

  static constexpr const char* kName = "v42";
  static constexpr const char* kHash =
      "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  static constexpr const char* kPolicy = "version: 1\nrules: []\n";
  PemPair pair_;
  SnapshotSigningKey signing_;
  std::vector<SnapshotVerifyKey> keys_;
  std::string signature_;
};

TEST_F(SnapshotSignatureTest, GoodSignatureVerifies) {
  EXPECT_EQ(signature_.size(), kEd25519SignatureBytes);
  EXPECT_TRUE(Check(kName, kHash, kPolicy, signature_).ok());
  EXPECT_EQ(signing_.id(), keys_[0].id());
  EXPECT_EQ(signing_.id().size(), 16u);
  // The public key derived from the private one is the same key.
  auto derived = SnapshotVerifyKey::FromPem(signing_.PublicKeyPem());
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(derived->id(), keys_[0].id());
}

TEST_F(SnapshotSignatureTest, MessageIsDomainSeparatedAndExact) {
  const std::string message = SnapshotSigningMessage("a", "b", "");
  EXPECT_EQ(message, std::string("jobgate-snapshot-v1\0a\0b\0", 24) +
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // A signature over the bare message content (no domain) never verifies.
  auto bare = signing_.Sign(std::string(kName) + kHash + kPolicy);
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(Check(kName, kHash, kPolicy, *bare).ok());
}

TEST_F(SnapshotSignatureTest, WrongKeyIsRefused) {
  auto other = SnapshotVerifyKey::FromPem(NewPair().public_pem);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(VerifySnapshotSignature({*other}, kName, kHash, kPolicy, signature_).code(),
            StatusCode::kPermissionDenied);
  // With several keys, one matching is enough.
  EXPECT_TRUE(VerifySnapshotSignature({*other, keys_[0]}, kName, kHash, kPolicy, signature_).ok());
}

TEST_F(SnapshotSignatureTest, NoKeysNeverVerifies) {
  EXPECT_EQ(VerifySnapshotSignature({}, kName, kHash, kPolicy, signature_).code(),
            StatusCode::kPermissionDenied);
}

TEST_F(SnapshotSignatureTest, MissingSignatureIsRefused) {
  const Status s = Check(kName, kHash, kPolicy, "");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("not signed"), std::string::npos);
}

TEST_F(SnapshotSignatureTest, TamperedFieldsAreRefused) {
  EXPECT_FALSE(Check("v43", kHash, kPolicy, signature_).ok());
  EXPECT_FALSE(Check(kName, std::string(kHash) + "0", kPolicy, signature_).ok());
  EXPECT_FALSE(Check(kName, kHash, std::string(kPolicy) + " ", signature_).ok());
  EXPECT_FALSE(Check(kName, kHash, "version: 1\nrules: [] \n", signature_).ok());
  // Moving bytes between fields changes the message.
  EXPECT_FALSE(Check("v4", std::string("2") + kHash, kPolicy, signature_).ok());
}

TEST_F(SnapshotSignatureTest, TruncatedExtendedAndGarbageSignaturesAreRefused) {
  for (size_t n = 0; n < signature_.size(); ++n) {
    EXPECT_FALSE(Check(kName, kHash, kPolicy, signature_.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(Check(kName, kHash, kPolicy, signature_ + '\0').ok());
  EXPECT_FALSE(Check(kName, kHash, kPolicy, signature_ + signature_).ok());
  EXPECT_FALSE(Check(kName, kHash, kPolicy, std::string(64, '\0')).ok());
  EXPECT_FALSE(Check(kName, kHash, kPolicy, std::string(64, '\xff')).ok());
}

// Thousands of random mutations of a valid signature record (signature bytes and the
// signed fields): every one is refused.
TEST_F(SnapshotSignatureTest, RandomMutationsAreAllRefused) {
  std::mt19937_64 rng(0x5eed2700);
  auto byte = [&] { return static_cast<char>(rng() & 0xff); };
  int refused = 0;
  constexpr int kRounds = 6000;
  for (int i = 0; i < kRounds; ++i) {
    std::string name = kName, hash = kHash, policy = kPolicy, sig = signature_;
    std::string* target = nullptr;
    switch (rng() % 8) {
      case 0: case 1: case 2: case 3: target = &sig; break;
      case 4: target = &name; break;
      case 5: target = &hash; break;
      default: target = &policy; break;
    }
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = target->empty() ? 0 : rng() % target->size();
      switch (rng() % 5) {
        case 0:  // flip one bit
          if (!target->empty()) (*target)[at] ^= static_cast<char>(1u << (rng() % 8));
          break;
        case 1:  // replace one byte with a different one
          if (!target->empty()) (*target)[at] = static_cast<char>((*target)[at] ^ (1 + rng() % 255));
          break;
        case 2:  // delete a byte
          if (!target->empty()) target->erase(at, 1);
          break;
        case 3:  // insert a byte
          target->insert(target->begin() + static_cast<long>(at), byte());
          break;
        default:  // truncate
          target->resize(at);
          break;
      }
    }
    if (name == kName && hash == kHash && policy == kPolicy && sig == signature_) continue;
    const Status s = Check(name, hash, policy, sig);
    EXPECT_FALSE(s.ok()) << "mutation " << i << " verified";
    if (!s.ok()) ++refused;
  }
  EXPECT_GT(refused, kRounds * 9 / 10);
}

TEST(SnapshotKeyTest, KeysOfOtherKindsAndGarbageAreRefused) {
  EXPECT_EQ(SnapshotVerifyKey::FromPem("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(SnapshotVerifyKey::FromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
  EXPECT_FALSE(SnapshotSigningKey::FromPem("garbage").ok());
  const PemPair ed = NewPair();
  // A private key where a public key is expected and the reverse.
  EXPECT_FALSE(SnapshotVerifyKey::FromPem(ed.private_pem).ok());
  EXPECT_FALSE(SnapshotSigningKey::FromPem(ed.public_pem).ok());
  // Other algorithms are refused.
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  EXPECT_FALSE(SnapshotVerifyKey::FromPem(WritePem(ec, false)).ok());
  EXPECT_FALSE(SnapshotSigningKey::FromPem(WritePem(ec, true)).ok());
  EVP_PKEY_free(ec);
  const PemPair x = NewPair("X25519");
  EXPECT_FALSE(SnapshotVerifyKey::FromPem(x.public_pem).ok());
}

}  // namespace
}  // namespace jobgate::policy
