// The audit chain's math (gate/audit/audit_chain.h) and the verifier's classification
// (gate/audit/audit_verify.h), without a server.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "gate/audit/audit_chain.h"
#include "gate/audit/audit_verify.h"

namespace jobgate::gate {
namespace {

const std::string kChainA(32, 'a');
const std::string kChainB(32, 'b');

TEST(RecordHashTest, MatchesTheDocumentedDefinition) {
  // python3: hashlib.sha256(b'jobgate-audit-v1\0' + b'c'*32 + b'\0' + b'1' + b'\0' +
  //          b'0'*64 + b'\0' + b'audit.policy' + b'\0' + b'body').hexdigest()
  EXPECT_EQ(RecordHash(std::string(32, 'c'), 1, GenesisPrev(), "audit.policy", "body"),
            "2a37cd05f147e95d0a2803970c8b474794c0f8e510873df77fe084fec47f862c");
}

TEST(RecordHashTest, EveryPartChangesIt) {
  const std::string base = RecordHash(kChainA, 7, GenesisPrev(), "audit.rejected", "x");
  EXPECT_EQ(base, RecordHash(kChainA, 7, GenesisPrev(), "audit.rejected", "x"));
  EXPECT_NE(base, RecordHash(kChainB, 7, GenesisPrev(), "audit.rejected", "x"));
  EXPECT_NE(base, RecordHash(kChainA, 8, GenesisPrev(), "audit.rejected", "x"));
  EXPECT_NE(base, RecordHash(kChainA, 7, std::string(64, '1'), "audit.rejected", "x"));
  EXPECT_NE(base, RecordHash(kChainA, 7, GenesisPrev(), "audit.policy", "x"));
  EXPECT_NE(base, RecordHash(kChainA, 7, GenesisPrev(), "audit.rejected", "y"));
  // Moving bytes between subject and body is another input.
  EXPECT_NE(RecordHash(kChainA, 7, GenesisPrev(), "a.b", "c"),
            RecordHash(kChainA, 7, GenesisPrev(), "a", ".bc"));
}

TEST(AuditChainTest, ChainsOnlyTheAuditedSubjects) {
  AuditChain chain({"audit.decisions.>", "audit.rejected", "alert.>"});
  EXPECT_TRUE(chain.Audited("audit.decisions.db.migrate"));
  EXPECT_TRUE(chain.Audited("audit.rejected"));
  EXPECT_TRUE(chain.Audited("alert.shell"));
  EXPECT_FALSE(chain.Audited("audit.decisions"));
  EXPECT_FALSE(chain.Audited("worker.db.migrate"));
  EXPECT_FALSE(chain.Audited("audit.rejected.more"));
  EXPECT_EQ(chain.chain_id().size(), 32u);
  EXPECT_NE(chain.chain_id(), AuditChain({}).chain_id());
}

TEST(AuditChainTest, PositionsLinkFromGenesis) {
  AuditChain chain({">"}, "audit.chain", kChainA);
  const ChainStamp one = chain.Stamp("audit.policy", "first");
  const ChainStamp two = chain.Stamp("audit.policy", "second");
  EXPECT_EQ(one.chain, kChainA);
  EXPECT_EQ(one.seq, 1u);
  EXPECT_EQ(one.prev, GenesisPrev());
  EXPECT_EQ(one.hash, RecordHash(kChainA, 1, GenesisPrev(), "audit.policy", "first"));
  EXPECT_EQ(two.seq, 2u);
  EXPECT_EQ(two.prev, one.hash);
  EXPECT_EQ(chain.last_seq(), 2u);
}

TEST(AuditChainTest, ConcurrentStampsFormOneUnbrokenChain) {
  AuditChain chain({">"}, "audit.chain", kChainA);
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::vector<std::vector<ChainStamp>> stamps(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        stamps[t].push_back(chain.Stamp("audit.decisions.t" + std::to_string(t), std::to_string(i)));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<ChainStamp> all;
  for (auto& s : stamps) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  ASSERT_EQ(all.size(), size_t{kThreads * kEach});
  std::string prev = GenesisPrev();
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].seq, i + 1);
    ASSERT_EQ(all[i].prev, prev) << "position " << i + 1;
    prev = all[i].hash;
  }
}

TEST(AuditChainTest, ConcurrentAppendsAreSentInPositionOrder) {
  // What a connection shared by several publishers sees: the order the sends happen in.
  AuditChain chain({">"}, "audit.chain", kChainA);
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::vector<uint64_t> sent;  // written only inside Append's send, under the chain
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        chain.Append("audit.decisions.t" + std::to_string(t), std::to_string(i),
                     [&](const ChainStamp& stamp) {
                       sent.push_back(stamp.seq);
                       return true;
                     });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(sent.size(), size_t{kThreads * kEach});
  for (size_t i = 0; i < sent.size(); ++i) ASSERT_EQ(sent[i], i + 1);
}

TEST(AuditChainTest, ASendThatDidNotLeaveGivesItsPositionBack) {
  AuditChain chain({">"}, "audit.chain", kChainA);
  const ChainStamp one = chain.Stamp("audit.policy", "first");
  ChainStamp refused;
  EXPECT_FALSE(chain.Append("audit.policy", "lost", [&](const ChainStamp& stamp) {
    refused = stamp;
    return false;
  }));
  EXPECT_EQ(refused.seq, 2u);
  EXPECT_EQ(chain.last_seq(), 1u);
  const ChainStamp two = chain.Stamp("audit.policy", "second");
  EXPECT_EQ(two.seq, 2u);
  EXPECT_EQ(two.prev, one.hash);
  EXPECT_EQ(two.hash, RecordHash(kChainA, 2, one.hash, "audit.policy", "second"));
}

// Builds stream records the way the gate writes them.
class RecordsBuilder {
 public:
  explicit RecordsBuilder(const std::string& chain_id) : chain_({">"}, "audit.chain", chain_id) {}

  AuditRecordInfo Next(const std::string& subject, const std::string& body) {
    const ChainStamp stamp = chain_.Stamp(subject, body);
    return Make(subject, body, stamp.chain, std::to_string(stamp.seq), stamp.prev);
  }

  static AuditRecordInfo Make(const std::string& subject, const std::string& body,
                              const std::string& chain, const std::string& seq,
                              const std::string& prev) {
    AuditRecordInfo r;
    r.subject = subject;
    r.chain = chain;
    r.seq = seq;
    r.prev = prev;
    HashRecord(body, &r);
    return r;
  }

 private:
  AuditChain chain_;
};

// `count` records of one chain at stream sequences 1..count.
std::vector<AuditRecordInfo> Chain(const std::string& id, int count) {
  RecordsBuilder builder(id);
  std::vector<AuditRecordInfo> out;
  for (int i = 1; i <= count; ++i) {
    out.push_back(builder.Next("audit.decisions.x", "record " + std::to_string(i)));
    out.back().stream_seq = static_cast<uint64_t>(i);
  }
  return out;
}

AuditWindow Window(uint64_t first, uint64_t last) {
  AuditWindow w;
  w.stream_first_seq = first;
  w.stream_last_seq = last;
  w.read_first_seq = first;
  w.read_last_seq = last;
  return w;
}

TEST(AuditVerifyTest, AnUntouchedChainIsIntact) {
  const auto records = Chain(kChainA, 10);
  const AuditReport report = VerifyAuditRecords(records, Window(1, 10));
  EXPECT_TRUE(report.intact()) << report.Text();
  ASSERT_EQ(report.chains.size(), 1u);
  EXPECT_EQ(report.chains[0].first_seq, 1u);
  EXPECT_EQ(report.chains[0].last_seq, 10u);
  EXPECT_EQ(report.chains[0].records, 10u);
  EXPECT_EQ(report.findings(), 0u);
}

TEST(AuditVerifyTest, InterleavedChainsInAnyStreamOrderAreIntact) {
  auto a = Chain(kChainA, 5);
  auto b = Chain(kChainB, 5);
  std::vector<AuditRecordInfo> records;
  // b's records stored out of their position order (two publishers racing).
  std::swap(b[1], b[2]);
  for (size_t i = 0; i < 5; ++i) {
    records.push_back(a[i]);
    records.push_back(b[i]);
  }
  for (size_t i = 0; i < records.size(); ++i) records[i].stream_seq = i + 1;
  const AuditReport report = VerifyAuditRecords(records, Window(1, 10));
  EXPECT_TRUE(report.intact()) << report.Text();
  EXPECT_EQ(report.chains.size(), 2u);
}

TEST(AuditVerifyTest, ARemovedRecordIsMissingWithItsPosition) {
  auto records = Chain(kChainA, 10);
  records.erase(records.begin() + 4);  // position 5, stream seq 5
  const AuditReport report = VerifyAuditRecords(records, Window(1, 10));
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.chains.size(), 1u);
  EXPECT_EQ(report.chains[0].missing, std::vector<uint64_t>{5});
  EXPECT_TRUE(report.chains[0].altered.empty()) << report.Text();
  EXPECT_EQ(report.deleted_stream_seqs, std::vector<uint64_t>{5});
  EXPECT_NE(report.Text().find("missing: positions 5"), std::string::npos) << report.Text();
}

TEST(AuditVerifyTest, AHeadAgedOutByRetentionIsNotAFinding) {
  auto records = Chain(kChainA, 10);
  records.erase(records.begin(), records.begin() + 3);  // stream now starts at seq 4
  const AuditReport report = VerifyAuditRecords(records, Window(4, 10));
  EXPECT_TRUE(report.intact()) << report.Text();
  EXPECT_EQ(report.chains[0].aged_out, 3u);
  EXPECT_NE(report.Text().find("aged out by retention"), std::string::npos);
}

TEST(AuditVerifyTest, AHeadWithDeletionsBeforeItIsMissing) {
  // Chain b began after a's first record; its head was deleted from inside the stream.
  auto a = Chain(kChainA, 3);
  auto b = Chain(kChainB, 3);
  std::vector<AuditRecordInfo> records = {a[0], b[1], a[1], b[2], a[2]};
  const uint64_t seqs[] = {1, 3, 4, 5, 6};  // stream seq 2 (b's position 1) deleted
  for (size_t i = 0; i < records.size(); ++i) records[i].stream_seq = seqs[i];
  const AuditReport report = VerifyAuditRecords(records, Window(1, 6));
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.chains.size(), 2u);
  EXPECT_TRUE(report.chains[0].intact());
  EXPECT_EQ(report.chains[1].missing, std::vector<uint64_t>{1});
  EXPECT_EQ(report.deleted_stream_seqs, std::vector<uint64_t>{2});
}

TEST(AuditVerifyTest, AHeadBeforeTheWindowReadIsNotAFinding) {
  auto records = Chain(kChainA, 10);
  records.erase(records.begin(), records.begin() + 5);
  AuditWindow window = Window(1, 10);
  window.read_first_seq = 6;  // --from
  const AuditReport report = VerifyAuditRecords(records, window);
  EXPECT_TRUE(report.intact()) << report.Text();
  EXPECT_EQ(report.chains[0].before_window, 5u);
}

TEST(AuditVerifyTest, ARepublishedRecordWithOtherContentIsAltered) {
  auto records = Chain(kChainA, 6);
  // Position 3 again, same chain headers, other body.
  AuditRecordInfo forged =
      RecordsBuilder::Make(records[2].subject, "forged", kChainA, "3", records[2].prev);
  forged.stream_seq = 7;
  records.push_back(forged);
  const AuditReport report = VerifyAuditRecords(records, Window(1, 7));
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.chains[0].altered.size(), 1u) << report.Text();
  EXPECT_EQ(report.chains[0].altered[0].seq, 3u);
  EXPECT_EQ(report.chains[0].altered[0].stream_seq, 7u);
  EXPECT_TRUE(report.chains[0].missing.empty());
  EXPECT_TRUE(report.chains[0].inserted.empty());
}

TEST(AuditVerifyTest, ARecordReplacedInPlaceIsAltered) {
  auto records = Chain(kChainA, 6);
  records[2] = RecordsBuilder::Make(records[2].subject, "forged", kChainA, "3", records[2].prev);
  records[2].stream_seq = 3;
  const AuditReport report = VerifyAuditRecords(records, Window(1, 6));
  ASSERT_EQ(report.chains[0].altered.size(), 1u) << report.Text();
  EXPECT_EQ(report.chains[0].altered[0].seq, 3u);
  EXPECT_NE(report.Text().find("altered: position 3"), std::string::npos) << report.Text();
}

TEST(AuditVerifyTest, RecordsWithoutAValidPositionAreInserted) {
  auto records = Chain(kChainA, 4);
  AuditRecordInfo plain;  // no chain headers at all
  plain.subject = "audit.policy";
  plain.stream_seq = 5;
  records.push_back(plain);
  AuditRecordInfo malformed = RecordsBuilder::Make("audit.policy", "x", "not-a-chain", "1", "0");
  malformed.stream_seq = 6;
  records.push_back(malformed);
  // A second position 2 that does not even claim position 1 as its prev.
  AuditRecordInfo squatter =
      RecordsBuilder::Make("audit.policy", "x", kChainA, "2", std::string(64, 'f'));
  squatter.stream_seq = 7;
  records.push_back(squatter);
  const AuditReport report = VerifyAuditRecords(records, Window(1, 7));
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.unchained.size(), 2u) << report.Text();
  EXPECT_EQ(report.unchained[0].stream_seq, 5u);
  EXPECT_EQ(report.unchained[1].stream_seq, 6u);
  ASSERT_EQ(report.chains[0].inserted.size(), 1u) << report.Text();
  EXPECT_EQ(report.chains[0].inserted[0].seq, 2u);
  EXPECT_EQ(report.chains[0].inserted[0].stream_seq, 7u);
  EXPECT_TRUE(report.chains[0].altered.empty()) << report.Text();
  EXPECT_EQ(report.findings(), 3u);
}

// A placeholder as the gate publishes one for a record the stream dropped as a duplicate.
AuditRecordInfo Placeholder(const AuditRecordInfo& dropped, const std::string& declared_hash) {
  AuditRecordInfo p;
  p.subject = "audit.chain";
  p.chain = dropped.chain;
  p.seq = dropped.seq;
  p.prev = dropped.prev;
  p.placeholder_for = "default:job-1:decision";
  p.declared_hash = declared_hash;
  p.stream_seq = dropped.stream_seq;
  HashRecord("", &p);
  return p;
}

TEST(AuditVerifyTest, APlaceholderHoldsThePositionOfADroppedDuplicate) {
  auto records = Chain(kChainA, 5);
  records[2] = Placeholder(records[2], records[2].hash);
  const AuditReport report = VerifyAuditRecords(records, Window(1, 5));
  EXPECT_TRUE(report.intact()) << report.Text();
  EXPECT_EQ(report.chains[0].placeholders, 1u);
}

TEST(AuditVerifyTest, APlaceholderDeclaringAnotherHashIsAltered) {
  auto records = Chain(kChainA, 5);
  records[2] = Placeholder(records[2], std::string(64, '9'));
  const AuditReport report = VerifyAuditRecords(records, Window(1, 5));
  ASSERT_EQ(report.chains[0].altered.size(), 1u) << report.Text();
  EXPECT_EQ(report.chains[0].altered[0].seq, 3u);
  // One with a body, or no declared hash, has no valid position.
  AuditRecordInfo bodied = Placeholder(Chain(kChainB, 1)[0], std::string(64, '1'));
  HashRecord("not empty", &bodied);
  EXPECT_TRUE(bodied.hash.empty());
}

TEST(AuditVerifyTest, ALatePlaceholderThatOutlivedTheHeadIsNotAHole) {
  // Position 2's record was a duplicate; its placeholder, published after the batch,
  // landed after position 5. Retention then took stream seqs 1-5 (positions 1 and 3-5):
  // the placeholder survives in front of the head, position 6.
  auto records = Chain(kChainA, 8);
  AuditRecordInfo late = Placeholder(records[1], records[1].hash);
  std::vector<AuditRecordInfo> kept = {late, records[5], records[6], records[7]};
  const uint64_t seqs[] = {6, 7, 8, 9};
  for (size_t i = 0; i < kept.size(); ++i) kept[i].stream_seq = seqs[i];
  const AuditReport report = VerifyAuditRecords(kept, Window(6, 9));
  EXPECT_TRUE(report.intact()) << report.Text();
  EXPECT_EQ(report.chains[0].first_seq, 2u);
  EXPECT_EQ(report.chains[0].aged_out, 5u);
  EXPECT_EQ(report.chains[0].placeholders, 1u);
}

TEST(AuditVerifyTest, AHoleAfterTheHeadIsMissingEvenWithALatePlaceholder) {
  auto records = Chain(kChainA, 8);
  AuditRecordInfo late = Placeholder(records[1], records[1].hash);
  std::vector<AuditRecordInfo> kept = {late, records[5], records[7]};  // position 7 gone
  const uint64_t seqs[] = {6, 7, 9};
  for (size_t i = 0; i < kept.size(); ++i) kept[i].stream_seq = seqs[i];
  const AuditReport report = VerifyAuditRecords(kept, Window(6, 9));
  EXPECT_FALSE(report.intact());
  EXPECT_EQ(report.chains[0].missing, std::vector<uint64_t>{7}) << report.Text();
  EXPECT_EQ(report.deleted_stream_seqs, std::vector<uint64_t>{8});
}

TEST(AuditVerifyTest, TrailingDeletionsShow) {
  auto records = Chain(kChainA, 10);
  records.resize(8);
  const AuditReport report = VerifyAuditRecords(records, Window(1, 10));
  EXPECT_FALSE(report.intact());
  EXPECT_EQ(report.deleted_stream_seqs, (std::vector<uint64_t>{9, 10}));
}

TEST(AuditVerifyTest, JsonNamesEachFinding) {
  auto records = Chain(kChainA, 5);
  records.erase(records.begin() + 1);
  const std::string json = VerifyAuditRecords(records, Window(1, 5)).ToJson().Dump();
  EXPECT_NE(json.find("\"intact\":false"), std::string::npos) << json;
  EXPECT_NE(json.find("\"missing\":[2]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"deleted_stream_seqs\":[2]"), std::string::npos) << json;
}

}  // namespace
}  // namespace jobgate::gate
