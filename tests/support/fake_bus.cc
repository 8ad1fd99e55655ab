#include "tests/support/fake_bus.h"

namespace jobgate::testing {
namespace {

class FakeInbound final : public gate::InboundMessage {
 public:
  FakeInbound(std::string subject, std::string data, std::map<std::string, std::string> headers,
              uint64_t sequence, bool redelivered, Settlement* settlement)
      : subject_(std::move(subject)),
        data_(std::move(data)),
        headers_(std::move(headers)),
        sequence_(sequence),
        redelivered_(redelivered),
        settlement_(settlement) {}

  std::string_view subject() const override { return subject_; }
  std::string_view data() const override { return data_; }
  std::string_view header(std::string_view key) const override {
    const auto it = headers_.find(std::string(key));
    return it == headers_.end() ? std::string_view() : std::string_view(it->second);
  }
  uint64_t stream_sequence() const override { return sequence_; }
  bool redelivered() const override { return redelivered_; }
  Status Ack() override {
    settlement_->kind = Settlement::Kind::kAck;
    return Status::Ok();
  }
  Status NakWithDelay(std::chrono::milliseconds delay) override {
    settlement_->kind = Settlement::Kind::kNak;
    settlement_->delay = delay;
    return Status::Ok();
  }

 private:
  std::string subject_;
  std::string data_;
  std::map<std::string, std::string> headers_;
  uint64_t sequence_;
  bool redelivered_;
  Settlement* settlement_;
};

}  // namespace

size_t FakeBus::Enqueue(std::string subject, std::string data,
                        std::map<std::string, std::string> headers) {
  const size_t index = settlements_.size();
  settlements_.emplace_back();
  queue_.push_back({index, std::move(subject), std::move(data), std::move(headers)});
  return index;
}

Status FakeBus::Fetch(int max_messages, std::chrono::milliseconds timeout,
                      gate::InboundBatch* out) {
  if (!fetch_error.ok()) return fetch_error;
  if (during_fetch) during_fetch();
  for (int i = 0; i < max_messages && !queue_.empty(); ++i) {
    Stored& s = queue_.front();
    out->push_back(std::make_unique<FakeInbound>(std::move(s.subject), std::move(s.data),
                                                 std::move(s.headers), s.index + 1,
                                                 mark_redelivered, &settlements_[s.index]));
    queue_.pop_front();
  }
  return Status::Ok();
}

void FakeBus::PublishBatch(std::span<const gate::OutboundMessage> messages,
                           std::chrono::milliseconds timeout, std::vector<Status>* results) {
  results->clear();
  for (const gate::OutboundMessage& m : messages) {
    if (fail_publish && fail_publish(m.subject)) {
      results->push_back(Unavailable("injected publish failure"));
      continue;
    }
    results->push_back(Status::Ok());
    if (seen_ids_.emplace(m.msg_id, true).second) published_.push_back(m);
  }
}

std::vector<const gate::OutboundMessage*> FakeBus::PublishedOn(const std::string& prefix) const {
  std::vector<const gate::OutboundMessage*> out;
  for (const auto& m : published_) {
    if (m.subject.rfind(prefix, 0) == 0) out.push_back(&m);
  }
  return out;
}

}  // namespace jobgate::testing
