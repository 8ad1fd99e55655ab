// Reading a stream from a point in time (gate/nats/nats_util.h FirstSequenceAtTime and
// ReadStream) against a real nats-server: the start found for every stored timestamp is
// past every older message and at or before the first newer one, with deleted sequences
// stepped over.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <string>
#include <vector>

#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_util.h"
#include "tests/support/gate_connection.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::ConnectGate;
using ::jobgate::testing::NatsServer;

class StreamReadIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connection_ = ConnectGate(server_);
    ASSERT_NE(connection_, nullptr);
    ASSERT_EQ(natsConnection_JetStream(&js_, connection_->raw(), nullptr), NATS_OK);
    StreamSpec spec;
    spec.name = "TIMES";
    spec.subjects = {"times.>"};
    ASSERT_TRUE(connection_->EnsureStream(spec).ok());
    for (uint64_t i = 1; i <= kMessages; ++i) {
      OutboundMessage message;
      message.subject = "times." + std::to_string(i % 3);
      message.body = "message " + std::to_string(i);
      ASSERT_TRUE(connection_->Publish(message, std::chrono::seconds(10)).ok());
    }
  }
  void TearDown() override { jsCtx_Destroy(js_); }

  // Sequence and stored time of every message still in the stream.
  std::vector<std::pair<uint64_t, int64_t>> Stored() {
    std::vector<std::pair<uint64_t, int64_t>> out;
    for (uint64_t seq = 1; seq <= kMessages; ++seq) {
      natsMsg* msg = nullptr;
      if (js_GetMsg(&msg, js_, "TIMES", seq, nullptr, nullptr) != NATS_OK) continue;
      out.emplace_back(seq, natsMsg_GetTime(msg));
      natsMsg_Destroy(msg);
    }
    return out;
  }

  // The first message stored at or after `time_ns`, from a scan of `stored`.
  static uint64_t FirstAtOrAfter(const std::vector<std::pair<uint64_t, int64_t>>& stored,
                                 int64_t time_ns) {
    for (const auto& [seq, at] : stored) {
      if (at >= time_ns) return seq;
    }
    return kMessages + 1;
  }
  // The message stored last before that one (0: none).
  static uint64_t LastBefore(const std::vector<std::pair<uint64_t, int64_t>>& stored,
                             int64_t time_ns) {
    uint64_t last = 0;
    for (const auto& [seq, at] : stored) {
      if (at < time_ns) last = seq;
    }
    return last;
  }

  void CheckEveryTime() {
    const auto stored = Stored();
    ASSERT_FALSE(stored.empty());
    std::vector<int64_t> times = {stored.front().second - 1, stored.back().second + 1};
    for (const auto& [seq, at] : stored) {
      times.push_back(at);
      times.push_back(at + 1);
    }
    for (int64_t t : times) {
      auto start = FirstSequenceAtTime(js_, "TIMES", 1, kMessages, t);
      ASSERT_TRUE(start.ok()) << start.status().ToString();
      // Past every older message, at or before the first newer one (deleted sequences
      // between the two are the same start).
      EXPECT_GT(*start, LastBefore(stored, t)) << "time " << t;
      EXPECT_LE(*start, FirstAtOrAfter(stored, t)) << "time " << t;
    }
  }

  static constexpr uint64_t kMessages = 40;
  NatsServer server_;
  std::unique_ptr<NatsConnection> connection_;
  jsCtx* js_ = nullptr;
};

TEST_F(StreamReadIntegrationTest, TheStartOfEveryStoredTimeIsItsFirstMessage) {
  CheckEveryTime();
}

TEST_F(StreamReadIntegrationTest, DeletedSequencesAreSteppedOver) {
  for (uint64_t seq : {1, 2, 7, 8, 9, 10, 11, 20, 39, 40}) {
    ASSERT_EQ(js_DeleteMsg(js_, "TIMES", seq, nullptr, nullptr), NATS_OK) << seq;
  }
  CheckEveryTime();
}

TEST_F(StreamReadIntegrationTest, ReadingFromTheStartFoundDeliversTheRest) {
  const auto stored = Stored();
  const auto [middle_seq, middle_time] = stored[stored.size() / 2];
  auto start = FirstSequenceAtTime(js_, "TIMES", 1, kMessages, middle_time);
  ASSERT_TRUE(start.ok());
  StreamReadOptions read;
  read.stream = "TIMES";
  read.start_sequence = *start;
  read.batch = 7;
  std::vector<uint64_t> seen;
  ASSERT_TRUE(ReadStream(js_, read, kMessages, [&](natsMsg*, const jsMsgMetaData& meta) {
                seen.push_back(meta.Sequence.Stream);
              }).ok());
  ASSERT_FALSE(seen.empty());
  EXPECT_LE(seen.front(), middle_seq);
  EXPECT_EQ(seen.back(), kMessages);
  EXPECT_EQ(seen.size(), kMessages - seen.front() + 1);
}

}  // namespace
}  // namespace jobgate::gate
