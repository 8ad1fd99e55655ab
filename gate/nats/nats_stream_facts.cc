#include "gate/nats/nats_stream_facts.h"

#include "gate/nats/nats_util.h"

namespace jobgate::gate {

Result<StreamFacts> ReadStreamFacts(NatsConnection* connection, const std::string& stream) {
  auto js = NewJetStreamContext(connection->raw(), std::chrono::seconds(5), "stream " + stream);
  if (!js.ok()) return js.status();
  auto info = GetStreamInfo(js->get(), stream);
  if (!info.ok()) return info.status();
  StreamFacts facts;
  switch ((*info)->Config->Retention) {
    case js_InterestPolicy:
      facts.retention = StreamSpec::Retention::kInterest;
      break;
    case js_WorkQueuePolicy:
      facts.retention = StreamSpec::Retention::kWorkQueue;
      break;
    default:
      facts.retention = StreamSpec::Retention::kLimits;
      break;
  }
  facts.messages = (*info)->State.Msgs;
  return facts;
}

Result<uint64_t> PurgeAckedJobs(NatsConnection* connection, const std::string& stream,
                                const std::string& durable) {
  auto js = NewJetStreamContext(connection->raw(), std::chrono::seconds(5), "stream " + stream);
  if (!js.ok()) return js.status();
  auto info = GetStreamInfo(js->get(), stream);
  if (!info.ok()) return info.status();
  if ((*info)->Config->Retention != js_WorkQueuePolicy || (*info)->State.Msgs == 0) {
    return uint64_t{0};
  }
  jsConsumerInfo* raw_consumer = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&raw_consumer, js->get(), stream.c_str(), durable.c_str(),
                                    nullptr, &js_error);
  if (s != NATS_OK) return FromNats(s, "consumer info " + durable, js_error);
  NatsPtr<jsConsumerInfo> consumer(raw_consumer);
  const uint64_t ack_floor = consumer->AckFloor.Stream;
  if (ack_floor < (*info)->State.FirstSeq) return uint64_t{0};
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = 5000;
  options.Stream.Purge.Sequence = ack_floor + 1;  // up to, not including
  js_error = static_cast<jsErrCode>(0);
  s = js_PurgeStream(js->get(), stream.c_str(), &options, &js_error);
  if (s != NATS_OK) return FromNats(s, "purge acked jobs of " + stream, js_error);
  return ack_floor + 1;
}

}  // namespace jobgate::gate
