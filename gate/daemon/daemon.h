// `jobgate run`: the daemon that wires configuration, policy, NATS, the dispatcher, the
// HTTP listener and the metrics exposer together, and owns their lifecycle.
//
// Start-up: compile the bootstrap policy (a bad one is a start-up error), serve HTTP and
// metrics, connect to NATS (retrying forever in the background), ensure the streams and
// the durable consumer, open the control plane (snapshot store, lifecycle, approvals,
// API) and enforce the store's active snapshot (bootstrapping --policy when there is
// none), then dispatch until asked to stop. Without a policy the gate never consumes
// (fail closed) and /readyz answers 503.
// Stop: RequestStop() makes Run() finish the batch in flight (publish, wait for acks,
// ack), flush, close the connection and return 0.
//
// Thread-safety: Run() is called once, from one thread; RequestStop() from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "base/mutex.h"
#include "gate/core/active_policy.h"
#include "gate/daemon/config.h"
#include "gate/api/http_server.h"

namespace jobgate::gate {

class Dispatcher;
struct DispatcherOptions;
class NatsConnection;

class Daemon {
 public:
  explicit Daemon(GateConfig config);
  ~Daemon();

  // Runs until RequestStop(); returns the process exit code (0 after a clean stop, 1 when
  // start-up failed).
  int Run();
  void RequestStop();

  // The policy holder; the policy lifecycle swaps snapshots through it.
  ActivePolicy& active_policy() { return active_policy_; }

 private:
  struct Parts;  // what a running gate holds (daemon.cc)

  // The steps of Run, in order. The bool ones log why they failed: Run returns 1.
  bool InstallMarkerKeyOrFail();
  bool ReadBootstrapPolicy(std::string* yaml);
  bool ServeMetrics(Parts& parts);
  bool ServeHttp(Parts& parts);
  bool ConnectToNats(Parts& parts);
  // Retries StartUpStep, with backoff, until every dispatch bus is attached or a stop
  // is requested; without a policy it stays connected and consumes nothing.
  void AttachUntilReady(Parts& parts);
  // One pass: streams, consumer, control plane, policy, deferred store, buses.
  Status StartUpStep(Parts& parts);
  // A job-id store and a bus per dispatch thread, while there is a policy.
  Status AttachBuses(Parts& parts);
  // The periodic policy re-check, approval sweep, backlog gauges and acked-job purge.
  void MaintenanceLoop(Parts& parts);
  DispatcherOptions DispatchOptions(const Parts& parts) const;
  // One dispatch thread per bus until stopped; then lets go of the buses.
  void Dispatch(Parts& parts);
  void DispatchUntilStopped(Dispatcher& dispatcher, const NatsConnection& connection,
                            bool reinjects);
  // Stops the API, closes the control plane, flushes and closes the connection.
  void ShutDown(Parts& parts);

  bool stopping() const { return stop_.load(std::memory_order_acquire); }
  // Sleeps up to `duration`, waking early on RequestStop(). Used for retry backoff only.
  void PauseUnlessStopped(std::chrono::milliseconds duration);

  const GateConfig config_;
  ActivePolicy active_policy_;
  ActivePolicy shadow_policy_;  // the shadow snapshot, judged but not enforced
  Readiness readiness_;
  std::atomic<bool> stop_{false};
  // stop_ is atomic (read on every loop); it is set under mu_ so a pause cannot miss it.
  Mutex mu_;
  CondVar stop_cv_;  // signalled with mu_ by RequestStop()
};

}  // namespace jobgate::gate
