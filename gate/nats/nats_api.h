// Serves the control API over NATS request-reply: `<api prefix>.<verb>` (e.g.
// jobgate.api.policy.publish) with the JSON body as data and the bearer token in the
// `Authorization` header. The reply carries the JSON answer and the HTTP-equivalent
// status in the `Jobgate-Status` header. All replicas subscribe in one queue group, so
// each request is answered once.
//
// Ownership: borrows the connection and router, which must outlive it; unsubscribes in
// its destructor. Thread-safety: requests are handled on nats.c's delivery thread; the
// router is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "gate/api/api.h"
#include "gate/nats/nats_bus.h"
#include "base/status.h"
#include "subjects/headers.h"

struct __natsSubscription;

namespace jobgate::gate {


class NatsApiResponder {
 public:
  static Result<std::unique_ptr<NatsApiResponder>> Start(NatsConnection* connection,
                                                         const ApiRouter* router,
                                                         const std::string& api_prefix);
  ~NatsApiResponder();
  NatsApiResponder(const NatsApiResponder&) = delete;
  NatsApiResponder& operator=(const NatsApiResponder&) = delete;

 private:
  NatsApiResponder() = default;
  static void OnRequest(struct __natsConnection* nc, __natsSubscription* sub, struct __natsMsg* msg,
                        void* closure);

  NatsConnection* connection_ = nullptr;
  const ApiRouter* router_ = nullptr;
  std::string prefix_;                          // "jobgate.api."
  __natsSubscription* subscription_ = nullptr;  // owned
};

}  // namespace jobgate::gate
