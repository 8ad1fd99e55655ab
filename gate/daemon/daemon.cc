#include "gate/daemon/daemon.h"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

#include "gate/api/http_server.h"
#include "gate/api/tls_credentials.h"
#include "gate/api/ui_server.h"
#include "gate/core/deferred.h"
#include "gate/core/dispatcher.h"
#include "gate/core/heap.h"
#include "gate/core/job_ids.h"
#include "gate/core/marker_key.h"
#include "gate/core/throttle.h"
#include "gate/daemon/control_plane.h"
#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_deferred.h"
#include "gate/nats/nats_job_ids.h"
#include "gate/nats/nats_stream_facts.h"
#include "metrics/metrics.h"
#include "policy/analysis/secrets.h"
#include "policy/policy.h"

namespace jobgate::gate {
namespace {

// How often acked jobs a work-queue JOBS still holds are looked for (PurgeAckedJobs):
// two JetStream API calls when there are none.
constexpr std::chrono::seconds kAckedJobsPurgeInterval{10};

void PurgeJobsLeftAcked(NatsConnection* connection, const ConsumerSpec& consumer) {
  auto purged = PurgeAckedJobs(connection, consumer.stream, consumer.durable);
  if (!purged.ok()) {
    spdlog::warn("acked jobs left in {} not removed: {}", consumer.stream,
                 purged.status().ToString());
  } else if (*purged != 0) {
    spdlog::info(
        "removed the acked jobs {} still held below sequence {} (the server kept "
        "them across a restart)",
        consumer.stream, *purged);
  }
}

// An existing jobs stream is kept as it is; one of limits retention keeps every job, raw,
// for its max_age after the gate acked it. Says so, and where the way out is written.
void WarnIfJobsKeepsAckedJobs(NatsConnection* connection, const StreamSpec& jobs) {
  auto facts = ReadStreamFacts(connection, jobs.name);
  if (!facts.ok() || facts->retention != StreamSpec::Retention::kLimits) return;
  spdlog::warn(
      "stream {} has limits retention: every job stays in it raw (secrets included) until "
      "max_age, after the gate has judged and acked it ({} messages now). The gate leaves an "
      "existing stream as it is; replace it by a work queue as docs/operations.md, \"JOBS "
      "is a work queue\", describes",
      jobs.name, facts->messages);
}

// `address` with its port replaced by the first port actually bound, so that an address
// asking for any port (`:0`) is logged as the one the listener got.
std::string BoundAddress(const std::string& address, const std::vector<int>& ports) {
  std::string host;
  int port = 0;
  if (ports.empty() || !SplitHostPort(address, &host, &port)) return address;
  return host + ":" + std::to_string(ports.front());
}

}  // namespace

Daemon::Daemon(GateConfig config) : config_(std::move(config)) {}

Daemon::~Daemon() = default;

void Daemon::RequestStop() {
  {
    MutexLock lock(&mu_);
    stop_.store(true, std::memory_order_release);
  }
  stop_cv_.NotifyAll();
}

void Daemon::PauseUnlessStopped(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  MutexLock lock(&mu_);
  while (!stopping() && stop_cv_.WaitUntil(&mu_, deadline)) {
  }
}

// What a running gate holds, from start-up to shutdown. Members are declared in the
// order they are made, so what is left at destruction goes in reverse (the HTTP server
// before its TLS credentials, the connection before its audit chain); ShutDown takes
// the rest down in its own order first.
struct Daemon::Parts {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  metrics::BuildMetrics build_metrics{*registry};
  metrics::GateMetrics gate_metrics{*registry};
  metrics::PolicyMetrics policy_metrics{*registry};
  metrics::ApprovalMetrics approval_metrics{*registry};
  metrics::SessionMetrics session_metrics{*registry};
  std::string bootstrap_yaml;  // the --policy file, compiled once to check it
  std::unique_ptr<prometheus::Exposer> exposer;
  std::unique_ptr<TlsCredentials> tls;
  std::unique_ptr<HttpServer> http;
  std::atomic<const ApiRouter*> api_router{nullptr};  // set once the control plane is up
  std::unique_ptr<AuditChain> audit_chain;            // one chain per process start (docs/audit.md)
  std::unique_ptr<NatsConnection> connection;
  SystemClock clock;
  std::unique_ptr<ControlPlane> control;
  int workers = 1;
  // With deferral, one bus more than workers: the publisher of the dispatcher that
  // re-judges parked jobs.
  int buses_needed = 1;
  std::vector<std::unique_ptr<NatsBus>> buses;
  // One job-id store per dispatch thread (each awaits its own batch's claims), the thread
  // that re-judges parked jobs included.
  std::vector<std::unique_ptr<NatsKvJobIdStore>> job_id_stores;
  std::unique_ptr<NatsDeferredStore> deferred_store;
};

int Daemon::Run() {
  spdlog::info("{} starting ({} heap)", metrics::VersionLine(), HeapAllocatorName());
  if (!InstallMarkerKeyOrFail()) return 1;
  Parts parts;
  if (!ReadBootstrapPolicy(&parts.bootstrap_yaml) || !ServeMetrics(parts) || !ServeHttp(parts) ||
      !ConnectToNats(parts)) {
    return 1;
  }
  // The secret detectors compile once (tens of milliseconds); do it now, not on the
  // first job.
  (void)policy::SecretScanner::Default();
  AttachUntilReady(parts);
  std::thread maintenance;
  if (parts.control != nullptr) maintenance = std::thread([&] { MaintenanceLoop(parts); });
  if (!parts.buses.empty()) Dispatch(parts);
  if (maintenance.joinable()) maintenance.join();
  ShutDown(parts);
  spdlog::info("jobgate stopped");
  return 0;
}

bool Daemon::InstallMarkerKeyOrFail() {
  // Redaction markers are keyed: the key must be in place before any job is scanned.
  auto key = InstallMarkerKey();
  if (!key.ok()) {
    spdlog::error("{}", key.status().message());
    return false;
  }
  if (*key == MarkerKeySource::kRandom) {
    spdlog::warn(
        "no {} or {} set: redaction markers use a random key of this process and "
        "will not match across replicas or restarts",
        kMarkerKeyEnv, kMarkerKeyFileEnv);
  } else {
    spdlog::info("redaction marker key from {}",
                 *key == MarkerKeySource::kFile ? kMarkerKeyFileEnv : kMarkerKeyEnv);
  }
  return true;
}

bool Daemon::ReadBootstrapPolicy(std::string* yaml) {
  // The bootstrap policy must compile: a bad one is a start-up error with FILE:LINE:COL.
  // It is only enforced when the snapshot store has no active snapshot yet.
  if (config_.policy_file.empty()) return true;
  auto text = policy::ReadFile(config_.policy_file);
  if (!text.ok()) {
    spdlog::error("{}", text.status().message());
    return false;
  }
  policy::CompileOptions options;
  options.file_name = config_.policy_file;
  policy::CompileResult compiled = policy::Compile(*text, options);
  if (!compiled.ok()) {
    spdlog::error("policy {} does not compile:\n{}", config_.policy_file, compiled.ErrorText());
    return false;
  }
  *yaml = std::move(*text);
  return true;
}

bool Daemon::ServeMetrics(Parts& parts) {
  if (config_.metrics_address == "off" || config_.metrics_address.empty()) return true;
  try {
    parts.exposer = std::make_unique<prometheus::Exposer>(config_.metrics_address);
    parts.exposer->RegisterCollectable(parts.registry);
    spdlog::info("metrics on http://{}/metrics",
                 BoundAddress(config_.metrics_address, parts.exposer->GetListeningPorts()));
  } catch (const std::exception& e) {
    spdlog::error("cannot serve metrics on {}: {}", config_.metrics_address, e.what());
    return false;
  }
  return true;
}

bool Daemon::ServeHttp(Parts& parts) {
  if (!config_.http_tls_cert.empty()) {
    auto loaded = TlsCredentials::Load(config_.http_tls_cert, config_.http_tls_key);
    if (!loaded.ok()) {
      spdlog::error("{}", loaded.status().message());
      return false;
    }
    parts.tls = std::move(*loaded);
    parts.tls->Watch();
  }
  parts.http = std::make_unique<HttpServer>(config_.api_limits, parts.tls.get());
  if (config_.http_address == "off" || config_.http_address.empty()) return true;
  HttpServer& http = *parts.http;
  RegisterHealthRoutes(http, readiness_);
  RegisterApiRoutes(http, parts.api_router);
  RegisterUiRoutes(http);
  if (Status s = http.Start(config_.http_address); !s.ok()) {
    spdlog::error("{}", s.message());
    return false;
  }
  if (parts.tls != nullptr) {
    spdlog::info("http on {} (https only, certificate {}, reloaded when {} or {} change)",
                 BoundAddress(config_.http_address, {http.port()}), parts.tls->subject(),
                 config_.http_tls_cert, config_.http_tls_key);
  } else {
    spdlog::info("http on {}", BoundAddress(config_.http_address, {http.port()}));
  }
  return true;
}

bool Daemon::ConnectToNats(Parts& parts) {
  auto connected = NatsConnection::Connect(config_.nats, /*wait=*/false);
  if (!connected.ok()) {
    spdlog::error("{}", connected.status().ToString());
    return false;
  }
  parts.connection = std::move(connected).value();
  if (config_.audit_chain) {
    parts.audit_chain =
        std::make_unique<AuditChain>(config_.audit_stream.subjects, config_.prefixes.chain);
    parts.connection->set_audit_chain(parts.audit_chain.get());
    spdlog::info("audit chain {} (records on {} carry Jobgate-Chain/-Seq/-Prev)",
                 parts.audit_chain->chain_id(), config_.audit_stream.name);
  }
  return true;
}

void Daemon::AttachUntilReady(Parts& parts) {
  parts.workers = std::max(1, config_.dispatch.workers);
  parts.buses_needed = parts.workers + (config_.defer_throttled ? 1 : 0);
  std::chrono::milliseconds backoff(100);
  while (!stopping() && static_cast<int>(parts.buses.size()) < parts.buses_needed) {
    if (!parts.connection->WaitConnected(std::chrono::milliseconds(200))) continue;
    readiness_.connected = true;
    const Status s = StartUpStep(parts);
    if (static_cast<int>(parts.buses.size()) == parts.buses_needed) {
      readiness_.consumer_attached = true;
      spdlog::info("consumer {}/{} attached by {} worker(s); ready", config_.consumer.stream,
                   config_.consumer.durable, parts.workers);
      return;
    }
    if (s.ok()) {
      // No policy: stay connected with the streams ensured but do not consume.
      PauseUnlessStopped(std::chrono::milliseconds(1000));
      continue;
    }
    spdlog::warn("start-up step failed: {}; retrying in {} ms", s.ToString(), backoff.count());
    PauseUnlessStopped(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

Status Daemon::StartUpStep(Parts& parts) {
  NatsConnection* connection = parts.connection.get();
  for (const StreamSpec* stream : config_.streams()) {
    JOBGATE_RETURN_IF_ERROR(connection->EnsureStream(*stream));
  }
  if (!readiness_.streams_ensured.load()) {
    WarnIfJobsKeepsAckedJobs(connection, config_.jobs_stream);
  }
  readiness_.streams_ensured = true;
  JOBGATE_RETURN_IF_ERROR(connection->EnsureConsumer(config_.consumer));
  if (parts.control == nullptr) {
    ControlPlane::Deps deps{connection,
                            &config_,
                            &active_policy_,
                            &shadow_policy_,
                            &parts.clock,
                            &parts.policy_metrics,
                            &parts.approval_metrics,
                            &parts.session_metrics};
    auto opened = ControlPlane::Open(deps);
    if (!opened.ok()) return opened.status();
    parts.control = std::move(*opened);
    parts.api_router.store(parts.control->router(), std::memory_order_release);
  }
  if (active_policy_.Get() == nullptr) {
    const Status started = parts.control->StartPolicy(parts.bootstrap_yaml);
    if (started.code() == StatusCode::kFailedPrecondition) {
      spdlog::warn("{}: not consuming jobs; /readyz stays 503 (fail closed)", started.message());
    }
    JOBGATE_RETURN_IF_ERROR(started);
    readiness_.policy_active = true;
  }
  if (config_.defer_throttled && parts.deferred_store == nullptr) {
    auto opened = NatsDeferredStore::Open(connection, config_.deferred_stream.name,
                                          config_.prefixes.deferred);
    if (!opened.ok()) return opened.status();
    parts.deferred_store = std::move(opened).value();
  }
  return AttachBuses(parts);
}

Status Daemon::AttachBuses(Parts& parts) {
  JobIdStoreOptions job_id_options;
  job_id_options.ttl = config_.JobIdTtl();
  job_id_options.replicas = config_.jobs_stream.replicas;
  job_id_options.memory_storage = config_.jobs_stream.memory_storage;
  while (active_policy_.Get() != nullptr &&
         static_cast<int>(parts.buses.size()) < parts.buses_needed) {
    if (parts.job_id_stores.size() == parts.buses.size()) {
      auto store = NatsKvJobIdStore::Open(parts.connection.get(), job_id_options);
      if (!store.ok()) return store.status();
      parts.job_id_stores.push_back(std::move(store).value());
    }
    auto attached = NatsBus::Attach(parts.connection.get(), config_.consumer);
    if (!attached.ok()) return attached.status();
    parts.buses.push_back(std::move(attached).value());
  }
  return Status::Ok();
}

void Daemon::MaintenanceLoop(Parts& parts) {
  // The periodic policy re-check, the approval sweep and the consumer backlog.
  pthread_setname_np(pthread_self(), "jg-maintenance");
  ControlPlane& control = *parts.control;
  NatsConnection& connection = *parts.connection;
  prometheus::Gauge& queue_pending =
      parts.gate_metrics.queue_pending.Add({{"stream", config_.consumer.stream}});
  prometheus::Gauge* deferred_pending =
      config_.defer_throttled
          ? &parts.gate_metrics.queue_pending.Add({{"stream", config_.deferred_stream.name}})
          : nullptr;
  auto next_recheck = parts.clock.Now() + config_.policy_recheck;
  // StartPolicy swept once already.
  auto next_sweep = parts.clock.Now() + config_.approval_sweep;
  const policy::Policy* trimmed_after = nullptr;
  auto next_purge = parts.clock.Now();
  while (!stopping()) {
    const auto now = parts.clock.Now();
    if (now >= next_recheck) {
      control.Recheck();
      next_recheck = now + config_.policy_recheck;
    }
    // A re-check may withdraw the policy (its store gone) or bring one back.
    const std::shared_ptr<const policy::Policy> enforced = active_policy_.Get();
    readiness_.policy_active = enforced != nullptr;
    if (enforced.get() != trimmed_after) {
      // Compiling a policy builds and frees a YAML node tree many times its compiled
      // size (~100 MB for 10,000 rules, ~15 MB compiled); the allocator keeps those
      // pages unless asked. Asked here, after the compile's temporaries are gone.
      ReleaseFreeHeapMemory();
      trimmed_after = enforced.get();
    }
    if (now >= next_sweep) {
      control.Sweep();
      next_sweep = now + config_.approval_sweep;
    }
    // The backlog from consumer info. Fetched batches report it too, but only while
    // messages are delivered; this keeps it true when delivery stalls (max_ack_pending
    // reached, workers stuck) and after the queue drains.
    auto consumer = connection.GetConsumerState(config_.consumer.stream, config_.consumer.durable);
    if (consumer.ok()) queue_pending.Set(static_cast<double>(consumer->num_pending));
    if (now >= next_purge) {
      PurgeJobsLeftAcked(&connection, config_.consumer);
      next_purge = now + kAckedJobsPurgeInterval;
    }
    if (SessionService* sessions = control.session_service()) sessions->UpdateGauges();
    // Parked over-rate jobs: every message of the deferred stream waits for a token.
    if (deferred_pending != nullptr) {
      auto parked = connection.StreamMessageCount(config_.deferred_stream.name);
      if (parked.ok()) deferred_pending->Set(static_cast<double>(*parked));
    }
    PauseUnlessStopped(std::chrono::milliseconds(1000));
  }
}

DispatcherOptions Daemon::DispatchOptions(const Parts& parts) const {
  DispatcherOptions options = config_.dispatch;
  options.session_recording.keep_ms = config_.sessions.keep.count();
  options.session_recording.max_events = config_.sessions.max_events;
  // Attached, so connected: the server has announced its max_payload.
  options.max_publish_bytes = static_cast<size_t>(parts.connection->max_payload());
  if (parts.audit_chain != nullptr && options.max_publish_bytes > kChainHeaderReserveBytes) {
    options.max_publish_bytes -= kChainHeaderReserveBytes;  // room for the stamp
  }
  if (config_.defer_throttled) options.deferred_prefix = config_.prefixes.deferred;
  return options;
}

void Daemon::Dispatch(Parts& parts) {
  RateLimiter limiter(&parts.clock);  // shared: the rate is per gate process
  const DispatcherOptions dispatch_options = DispatchOptions(parts);
  // Parked jobs come back through a dispatcher of their own that fetches from the
  // scheduler: judged like new jobs, nak'ed (left parked) while still over rate.
  std::unique_ptr<DeferredScheduler> scheduler;
  DispatcherOptions reinject_options = dispatch_options;
  reinject_options.deferred_prefix.clear();
  if (config_.defer_throttled) {
    DeferredSchedulerOptions scheduler_options;
    scheduler_options.sealer = parts.control->sealer();
    scheduler = std::make_unique<DeferredScheduler>(
        parts.deferred_store.get(), parts.buses.back().get(), &parts.clock, scheduler_options);
  }
  ControlPlane& control = *parts.control;
  std::vector<std::thread> threads;
  for (int index = 0; index < parts.buses_needed; ++index) {
    const bool reinjects = index == parts.workers;  // the extra bus: its publisher
    Bus* bus = reinjects ? static_cast<Bus*>(scheduler.get()) : parts.buses[index].get();
    JobIdStore* job_ids = parts.job_id_stores[index].get();
    threads.emplace_back([&, bus, job_ids, index, reinjects] {
      // Named for `top -H` and profilers. Threads nats.c starts from here (the
      // publish-ack delivery) inherit the name; its connection threads keep "jobgate".
      pthread_setname_np(pthread_self(), reinjects
                                             ? "jg-deferred"
                                             : ("jg-dispatch-" + std::to_string(index)).c_str());
      Dispatcher dispatcher(
          reinjects ? reinject_options : dispatch_options, bus, &parts.clock, &active_policy_,
          &limiter, &parts.gate_metrics,
          DispatcherSeams{&shadow_policy_, control.approvals(), &parts.policy_metrics, job_ids,
                          control.sessions(), &parts.session_metrics, control.decision_stats(),
                          control.recent_denials(), control.sealer()});
      DispatchUntilStopped(dispatcher, *parts.connection, reinjects);
    });
  }
  for (std::thread& t : threads) t.join();
  spdlog::info("shutting down: stopped fetching; in-flight jobs acked");
  readiness_.consumer_attached = false;
  scheduler.reset();
  parts.buses.clear();
  parts.job_id_stores.clear();
}

void Daemon::DispatchUntilStopped(Dispatcher& dispatcher, const NatsConnection& connection,
                                  bool reinjects) {
  std::chrono::milliseconds pause(100);
  bool failing = false;
  while (!stopping()) {
    readiness_.connected = connection.connected();
    auto stats = dispatcher.RunOnce();
    if (stats.ok()) {
      if (failing) spdlog::info("fetching again");
      failing = false;
      pause = std::chrono::milliseconds(100);
      continue;
    }
    if (reinjects && stats.status().code() == StatusCode::kFailedPrecondition) {
      // No policy: the job workers report it (a line that says they fetch nothing);
      // parked jobs simply wait.
      PauseUnlessStopped(config_.dispatch.fetch_timeout);
      continue;
    }
    if (!failing) spdlog::warn("fetch failed: {}; retrying", stats.status().ToString());
    failing = true;
    PauseUnlessStopped(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(2000));
  }
}

void Daemon::ShutDown(Parts& parts) {
  parts.api_router.store(nullptr, std::memory_order_release);
  parts.http->Stop();  // no API handler may run past the control plane
  parts.control.reset();
  if (Status s = parts.connection->Flush(std::chrono::milliseconds(5000)); !s.ok()) {
    spdlog::warn("final flush: {}", s.ToString());
  }
  parts.deferred_store.reset();  // its JetStream context before the connection
  parts.connection.reset();
}

}  // namespace jobgate::gate
