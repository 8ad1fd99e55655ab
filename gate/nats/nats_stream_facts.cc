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

}  // namespace jobgate::gate
