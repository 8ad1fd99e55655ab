#include "gate/nats/nats_api.h"

#include <spdlog/spdlog.h>

#include "gate/nats/nats_util.h"
#include "subjects/headers.h"

namespace jobgate::gate {

Result<std::unique_ptr<NatsApiResponder>> NatsApiResponder::Start(NatsConnection* connection,
                                                                  const ApiRouter* router,
                                                                  const std::string& api_prefix) {
  std::unique_ptr<NatsApiResponder> responder(new NatsApiResponder());
  responder->connection_ = connection;
  responder->router_ = router;
  responder->prefix_ = api_prefix + ".";
  const std::string subject = api_prefix + ".>";
  natsSubscription* sub = nullptr;
  const natsStatus s =
      natsConnection_QueueSubscribe(&sub, connection->raw(), subject.c_str(), "jobgate-api",
                                    &NatsApiResponder::OnRequest, responder.get());
  if (s != NATS_OK) return FromNats(s, "subscribe " + subject);
  responder->subscription_ = sub;
  return responder;
}

NatsApiResponder::~NatsApiResponder() {
  if (subscription_ != nullptr) {
    natsSubscription_Unsubscribe(subscription_);
    natsSubscription_Destroy(subscription_);
  }
}

void NatsApiResponder::OnRequest(natsConnection* nc, natsSubscription*, natsMsg* raw,
                                 void* closure) {
  NatsPtr<natsMsg> msg(raw);
  auto* self = static_cast<NatsApiResponder*>(closure);
  const char* reply = natsMsg_GetReply(msg.get());
  if (reply == nullptr || *reply == '\0') return;  // not a request: nothing to answer
  const std::string subject = natsMsg_GetSubject(msg.get());
  const std::string verb = subject.substr(self->prefix_.size());
  const char* authorization = nullptr;
  natsMsgHeader_Get(msg.get(), "Authorization", &authorization);
  const std::string body(natsMsg_GetData(msg.get()),
                         static_cast<size_t>(natsMsg_GetDataLength(msg.get())));
  const ApiResponse response =
      self->router_->HandleNats(verb, body, authorization != nullptr ? authorization : "");

  natsMsg* raw_reply = nullptr;
  if (natsMsg_Create(&raw_reply, reply, nullptr, response.body.data(),
                     static_cast<int>(response.body.size())) != NATS_OK) {
    return;
  }
  NatsPtr<natsMsg> answer(raw_reply);
  natsMsgHeader_Set(answer.get(), subjects::kApiStatusHeader, std::to_string(response.status).c_str());
  natsMsgHeader_Set(answer.get(), "Content-Type", "application/json");
  if (const natsStatus s = natsConnection_PublishMsg(nc, answer.get()); s != NATS_OK) {
    spdlog::warn("API reply on {} failed: {}", verb, natsStatus_GetText(s));
  }
}

}  // namespace jobgate::gate
