// JobSealer: what seals opens only under its key and its context, every alteration of a
// sealed blob is refused, and keys rotate.
#include "gate/core/job_sealer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

JobSealer::Key KeyOf(unsigned char seed) {
  JobSealer::Key key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(seed * 31 + i);
  return key;
}

std::unique_ptr<JobSealer> SealerOf(std::vector<JobSealer::Key> keys) {
  auto sealer = JobSealer::FromKeys(std::move(keys));
  EXPECT_TRUE(sealer.ok()) << sealer.status().ToString();
  return sealer.ok() ? std::move(sealer).value() : nullptr;
}

TEST(JobSealerTest, OpensWhatItSealedAndNothingElse) {
  auto sealer = SealerOf({KeyOf(1)});
  auto sealed = sealer->Seal("the job ghp_secret", "ctx-a");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->key_id, sealer->sealing_key_id());
  EXPECT_EQ(sealed->blob.find("ghp_secret"), std::string::npos);
  auto opened = sealer->Open(sealed->key_id, sealed->blob, "ctx-a");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "the job ghp_secret");
  // Bound to its context: another record's context does not open it.
  EXPECT_EQ(sealer->Open(sealed->key_id, sealed->blob, "ctx-b").status().code(),
            StatusCode::kFailedPrecondition);
  // Two seals of the same job differ (a fresh nonce each).
  EXPECT_NE(sealer->Seal("the job ghp_secret", "ctx-a")->blob, sealed->blob);
}

TEST(JobSealerTest, AnotherKeyNeitherKnowsTheIdNorOpens) {
  auto a = SealerOf({KeyOf(1)});
  auto b = SealerOf({KeyOf(2)});
  auto sealed = a->Seal("job", "ctx");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(b->Open(sealed->key_id, sealed->blob, "ctx").status().code(), StatusCode::kNotFound);
  // Even told a's id is its own, b's key does not authenticate a's blob.
  EXPECT_FALSE(b->Open(b->sealing_key_id(), sealed->blob, "ctx").ok());
}

TEST(JobSealerTest, EveryAlterationOfABlobIsRefused) {
  auto sealer = SealerOf({KeyOf(3)});
  const std::string plain(300, 'x');
  auto sealed = sealer->Seal(plain, "ctx");
  ASSERT_TRUE(sealed.ok());
  std::mt19937 rng(20261205);
  int refused = 0;
  constexpr int kMutations = 5000;
  for (int i = 0; i < kMutations; ++i) {
    std::string blob = sealed->blob;
    switch (rng() % 4) {
      case 0:  // flip one bit anywhere: nonce, ciphertext or tag
        blob[rng() % blob.size()] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // truncate
        blob.resize(rng() % blob.size());
        break;
      case 2:  // append
        blob.append(1 + rng() % 8, static_cast<char>(rng()));
        break;
      default:  // overwrite a run with random bytes
        for (size_t at = rng() % blob.size(), n = 1 + rng() % 16; n > 0 && at < blob.size();
             --n, ++at) {
          const char before = blob[at];
          do blob[at] = static_cast<char>(rng());
          while (blob[at] == before);
        }
        break;
    }
    if (!sealer->Open(sealed->key_id, blob, "ctx").ok()) ++refused;
  }
  EXPECT_EQ(refused, kMutations);
}

TEST(JobSealerTest, RotationSealsWithTheFirstKeyAndOpensWithAll) {
  auto old_sealer = SealerOf({KeyOf(4)});
  auto sealed_before = old_sealer->Seal("before", "ctx");
  auto rotated = SealerOf({KeyOf(5), KeyOf(4)});
  auto sealed_after = rotated->Seal("after", "ctx");
  EXPECT_EQ(sealed_after->key_id, JobSealer::KeyId(KeyOf(5)));
  EXPECT_EQ(*rotated->Open(sealed_before->key_id, sealed_before->blob, "ctx"), "before");
  EXPECT_EQ(*rotated->Open(sealed_after->key_id, sealed_after->blob, "ctx"), "after");
  EXPECT_FALSE(old_sealer->Open(sealed_after->key_id, sealed_after->blob, "ctx").ok());
}

TEST(JobSealerTest, KeysAreThirtyTwoBytesOrSixtyFourHexDigits) {
  const std::string hex(64, 'a');
  ASSERT_TRUE(ParseSealKey(hex + "\n", "k").ok());
  EXPECT_EQ((*ParseSealKey(hex, "k"))[0], 0xaa);
  EXPECT_TRUE(ParseSealKey(std::string(32, 'z'), "k").ok());
  EXPECT_FALSE(ParseSealKey(std::string(63, 'a'), "k").ok());
  EXPECT_FALSE(ParseSealKey(std::string(63, 'a') + "g", "k").ok());
  EXPECT_FALSE(ParseSealKey("short", "k").ok());
  EXPECT_FALSE(ParseSealKey("", "k").ok());
}

TEST(JobSealerTest, LoadsFilesFirstThenTheEnvironmentElseNothing) {
  testing::TempDir dir;
  ::unsetenv(kApprovalKeyEnv);
  ::unsetenv(kApprovalKeyFileEnv);
  auto none = LoadJobSealer({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);

  const std::string file = dir.WriteFile("k1", std::string(64, 'b') + "\n");
  auto from_file = LoadJobSealer({file});
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  ASSERT_NE(*from_file, nullptr);

  ::setenv(kApprovalKeyEnv, std::string(64, 'c').c_str(), 1);
  auto from_env = LoadJobSealer({});
  ASSERT_TRUE(from_env.ok());
  ASSERT_NE(*from_env, nullptr);
  EXPECT_NE((*from_env)->sealing_key_id(), (*from_file)->sealing_key_id());
  ::setenv(kApprovalKeyFileEnv, file.c_str(), 1);
  EXPECT_FALSE(LoadJobSealer({}).ok());  // both set: ambiguous
  ::unsetenv(kApprovalKeyEnv);
  ::unsetenv(kApprovalKeyFileEnv);
  EXPECT_FALSE(LoadJobSealer({dir.path() + "/missing"}).ok());
}

}  // namespace
}  // namespace jobgate::gate
