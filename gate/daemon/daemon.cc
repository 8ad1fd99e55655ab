#include "gate/daemon/daemon.h"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

#include "gate/daemon/control_plane.h"
#include "gate/core/deferred.h"
#include "gate/core/dispatcher.h"
#include "gate/core/heap.h"
#include "gate/api/http_server.h"
#include "gate/core/job_ids.h"
#include "gate/core/marker_key.h"
#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_deferred.h"
#include "gate/nats/nats_stream_facts.h"
#include "gate/core/throttle.h"
#include "gate/api/tls_credentials.h"
#include "gate/api/ui_server.h"
#include "gate/nats/nats_job_ids.h"
#include "metrics/metrics.h"
#include "policy/policy.h"
#include "policy/analysis/secrets.h"

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
    spdlog::info("removed the acked jobs {} still held below sequence {} (the server kept "
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

int Daemon::Run() {
  spdlog::info("{} starting ({} heap)", metrics::VersionLine(), HeapAllocatorName());
  // Redaction markers are keyed: the key must be in place before any job is scanned.
  if (auto key = InstallMarkerKey(); !key.ok()) {
    spdlog::error("{}", key.status().message());
    return 1;
  } else if (*key == MarkerKeySource::kRandom) {
    spdlog::warn("no {} or {} set: redaction markers use a random key of this process and "
                 "will not match across replicas or restarts",
                 kMarkerKeyEnv, kMarkerKeyFileEnv);
  } else {
    spdlog::info("redaction marker key from {}",
                 *key == MarkerKeySource::kFile ? kMarkerKeyFileEnv : kMarkerKeyEnv);
  }
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::BuildMetrics build_metrics(*registry);
  metrics::GateMetrics gate_metrics(*registry);
  metrics::PolicyMetrics policy_metrics(*registry);
  metrics::ApprovalMetrics approval_metrics(*registry);
  metrics::SessionMetrics session_metrics(*registry);

  // The bootstrap policy must compile: a bad one is a start-up error with FILE:LINE:COL.
  // It is only enforced when the snapshot store has no active snapshot yet.
  std::string bootstrap_yaml;
  if (!config_.policy_file.empty()) {
    auto text = policy::ReadFile(config_.policy_file);
    if (!text.ok()) {
      spdlog::error("{}", text.status().message());
      return 1;
    }
    policy::CompileOptions options;
    options.file_name = config_.policy_file;
    policy::CompileResult compiled = policy::Compile(*text, options);
    if (!compiled.ok()) {
      spdlog::error("policy {} does not compile:\n{}", config_.policy_file, compiled.ErrorText());
      return 1;
    }
    bootstrap_yaml = std::move(*text);
  }

  std::unique_ptr<prometheus::Exposer> exposer;
  if (config_.metrics_address != "off" && !config_.metrics_address.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(config_.metrics_address);
      exposer->RegisterCollectable(registry);
      spdlog::info("metrics on http://{}/metrics", BoundAddress(config_.metrics_address,
                                                                 exposer->GetListeningPorts()));
    } catch (const std::exception& e) {
      spdlog::error("cannot serve metrics on {}: {}", config_.metrics_address, e.what());
      return 1;
    }
  }
  std::unique_ptr<TlsCredentials> tls;
  if (!config_.http_tls_cert.empty()) {
    auto loaded = TlsCredentials::Load(config_.http_tls_cert, config_.http_tls_key);
    if (!loaded.ok()) {
      spdlog::error("{}", loaded.status().message());
      return 1;
    }
    tls = std::move(*loaded);
    tls->Watch();
  }
  HttpServer http(config_.api_limits, tls.get());
  std::atomic<const ApiRouter*> api_router{nullptr};  // set once the control plane is up
  if (config_.http_address != "off" && !config_.http_address.empty()) {
    RegisterHealthRoutes(http, readiness_);
    RegisterApiRoutes(http, api_router);
    RegisterUiRoutes(http);
    if (Status s = http.Start(config_.http_address); !s.ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
    if (tls != nullptr) {
      spdlog::info("http on {} (https only, certificate {}, reloaded when {} or {} change)",
                   BoundAddress(config_.http_address, {http.port()}), tls->subject(),
                   config_.http_tls_cert, config_.http_tls_key);
    } else {
      spdlog::info("http on {}", BoundAddress(config_.http_address, {http.port()}));
    }
  }

  // One chain per process start (docs/audit.md); it outlives the connection.
  std::unique_ptr<AuditChain> audit_chain;
  auto connected = NatsConnection::Connect(config_.nats, /*wait=*/false);
  if (!connected.ok()) {
    spdlog::error("{}", connected.status().ToString());
    return 1;
  }
  std::unique_ptr<NatsConnection> connection = std::move(connected).value();
  if (config_.audit_chain) {
    audit_chain =
        std::make_unique<AuditChain>(config_.audit_stream.subjects, config_.prefixes.chain);
    connection->set_audit_chain(audit_chain.get());
    spdlog::info("audit chain {} (records on {} carry Jobgate-Chain/-Seq/-Prev)",
                 audit_chain->chain_id(), config_.audit_stream.name);
  }

  // The secret detectors compile once (tens of milliseconds); do it now, not on the
  // first job.
  (void)policy::SecretScanner::Default();

  // Streams, consumer, subscriptions: retried until they succeed or we are stopped.
  SystemClock clock;
  std::unique_ptr<ControlPlane> control;
  const int workers = std::max(1, config_.dispatch.workers);
  // With deferral, one more bus: the publisher of the dispatcher that re-judges parked jobs.
  const int buses_needed = workers + (config_.defer_throttled ? 1 : 0);
  std::vector<std::unique_ptr<NatsBus>> buses;
  // One job-id store per dispatch thread (each awaits its own batch's claims), the thread
  // that re-judges parked jobs included.
  std::vector<std::unique_ptr<NatsKvJobIdStore>> job_id_stores;
  JobIdStoreOptions job_id_options;
  job_id_options.ttl = config_.JobIdTtl();
  job_id_options.replicas = config_.jobs_stream.replicas;
  job_id_options.memory_storage = config_.jobs_stream.memory_storage;
  std::unique_ptr<NatsDeferredStore> deferred_store;
  std::chrono::milliseconds backoff(100);
  while (!stopping() && static_cast<int>(buses.size()) < buses_needed) {
    if (!connection->WaitConnected(std::chrono::milliseconds(200))) continue;
    readiness_.connected = true;
    Status s;
    for (const StreamSpec* stream : config_.streams()) {
      s = connection->EnsureStream(*stream);
      if (!s.ok()) break;
    }
    if (s.ok()) {
      if (!readiness_.streams_ensured.load()) {
        WarnIfJobsKeepsAckedJobs(connection.get(), config_.jobs_stream);
      }
      readiness_.streams_ensured = true;
      s = connection->EnsureConsumer(config_.consumer);
    }
    if (s.ok() && control == nullptr) {
      ControlPlane::Deps deps{connection.get(), &config_,        &active_policy_,  &shadow_policy_,
                              &clock,           &policy_metrics, &approval_metrics,
                              &session_metrics};
      auto opened = ControlPlane::Open(deps);
      if (opened.ok()) {
        control = std::move(*opened);
        api_router.store(control->router(), std::memory_order_release);
      } else {
        s = opened.status();
      }
    }
    if (s.ok() && active_policy_.Get() == nullptr) {
      s = control->StartPolicy(bootstrap_yaml);
      if (s.ok()) {
        readiness_.policy_active = true;
      } else if (s.code() == StatusCode::kFailedPrecondition) {
        spdlog::warn("{}: not consuming jobs; /readyz stays 503 (fail closed)", s.message());
      }
    }
    if (s.ok() && config_.defer_throttled && deferred_store == nullptr) {
      auto opened = NatsDeferredStore::Open(connection.get(), config_.deferred_stream.name,
                                            config_.prefixes.deferred);
      if (opened.ok()) {
        deferred_store = std::move(opened).value();
      } else {
        s = opened.status();
      }
    }
    while (s.ok() && active_policy_.Get() != nullptr &&
           static_cast<int>(buses.size()) < buses_needed) {
      if (job_id_stores.size() == buses.size()) {
        auto store = NatsKvJobIdStore::Open(connection.get(), job_id_options);
        if (!store.ok()) {
          s = store.status();
          break;
        }
        job_id_stores.push_back(std::move(store).value());
      }
      auto attached = NatsBus::Attach(connection.get(), config_.consumer);
      if (!attached.ok()) {
        s = attached.status();
        break;
      }
      buses.push_back(std::move(attached).value());
    }
    if (static_cast<int>(buses.size()) == buses_needed) {
      readiness_.consumer_attached = true;
      spdlog::info("consumer {}/{} attached by {} worker(s); ready", config_.consumer.stream,
                   config_.consumer.durable, workers);
      break;
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

  // Maintenance: the periodic policy re-check, the approval sweep and the consumer backlog.
  std::thread maintenance;
  prometheus::Gauge& queue_pending =
      gate_metrics.queue_pending.Add({{"stream", config_.consumer.stream}});
  prometheus::Gauge* deferred_pending =
      config_.defer_throttled
          ? &gate_metrics.queue_pending.Add({{"stream", config_.deferred_stream.name}})
          : nullptr;
  if (control != nullptr) {
    maintenance = std::thread([&] {
      pthread_setname_np(pthread_self(), "jg-maintenance");
      auto next_recheck = clock.Now() + config_.policy_recheck;
      // StartPolicy swept once already.
      auto next_sweep = clock.Now() + config_.approval_sweep;
      const policy::Policy* trimmed_after = nullptr;
      auto next_purge = clock.Now();
      while (!stopping()) {
        const auto now = clock.Now();
        if (now >= next_recheck) {
          control->Recheck();
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
          control->Sweep();
          next_sweep = now + config_.approval_sweep;
        }
        // The backlog from consumer info. Fetched batches report it too, but only while
        // messages are delivered; this keeps it true when delivery stalls (max_ack_pending
        // reached, workers stuck) and after the queue drains.
        auto consumer =
            connection->GetConsumerState(config_.consumer.stream, config_.consumer.durable);
        if (consumer.ok()) {
          queue_pending.Set(static_cast<double>(consumer->num_pending));
        }
        if (now >= next_purge) {
          PurgeJobsLeftAcked(connection.get(), config_.consumer);
          next_purge = now + kAckedJobsPurgeInterval;
        }
        if (SessionService* sessions = control->session_service()) sessions->UpdateGauges();
        // Parked over-rate jobs: every message of the deferred stream waits for a token.
        if (deferred_pending != nullptr) {
          auto parked = connection->StreamMessageCount(config_.deferred_stream.name);
          if (parked.ok()) deferred_pending->Set(static_cast<double>(*parked));
        }
        PauseUnlessStopped(std::chrono::milliseconds(1000));
      }
    });
  }

  if (!buses.empty()) {
    RateLimiter limiter(&clock);  // shared: the rate is per gate process
    DispatcherOptions dispatch_options = config_.dispatch;
    dispatch_options.session_recording.keep_ms = config_.sessions.keep.count();
    dispatch_options.session_recording.max_events = config_.sessions.max_events;
    // Attached, so connected: the server has announced its max_payload.
    dispatch_options.max_publish_bytes = static_cast<size_t>(connection->max_payload());
    if (audit_chain != nullptr && dispatch_options.max_publish_bytes > kChainHeaderReserveBytes) {
      dispatch_options.max_publish_bytes -= kChainHeaderReserveBytes;  // room for the stamp
    }
    if (config_.defer_throttled) dispatch_options.deferred_prefix = config_.prefixes.deferred;
    // Parked jobs come back through a dispatcher of their own that fetches from the
    // scheduler: judged like new jobs, nak'ed (left parked) while still over rate.
    std::unique_ptr<DeferredScheduler> scheduler;
    DispatcherOptions reinject_options = dispatch_options;
    reinject_options.deferred_prefix.clear();
    if (config_.defer_throttled) {
      DeferredSchedulerOptions scheduler_options;
      scheduler_options.sealer = control->sealer();
      scheduler = std::make_unique<DeferredScheduler>(deferred_store.get(), buses.back().get(),
                                                      &clock, scheduler_options);
    }
    std::vector<std::thread> threads;
    for (int index = 0; index < buses_needed; ++index) {
      const bool reinjects = index == workers;  // the extra bus: its publisher
      Bus* bus = reinjects ? static_cast<Bus*>(scheduler.get()) : buses[index].get();
      JobIdStore* job_ids = job_id_stores[index].get();
      threads.emplace_back([&, bus, job_ids, index, reinjects] {
        // Named for `top -H` and profilers. Threads nats.c starts from here (the
        // publish-ack delivery) inherit the name; its connection threads keep "jobgate".
        pthread_setname_np(pthread_self(), reinjects
                                               ? "jg-deferred"
                                               : ("jg-dispatch-" + std::to_string(index)).c_str());
        Dispatcher dispatcher(
            reinjects ? reinject_options : dispatch_options, bus, &clock, &active_policy_, &limiter,
            &gate_metrics,
            DispatcherSeams{&shadow_policy_, control->approvals(), &policy_metrics, job_ids,
                            control->sessions(), &session_metrics, control->decision_stats(),
                            control->recent_denials(), control->sealer()});
        std::chrono::milliseconds pause(100);
        bool failing = false;
        while (!stopping()) {
          readiness_.connected = connection->connected();
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
      });
    }
    for (std::thread& t : threads) t.join();
    spdlog::info("shutting down: stopped fetching; in-flight jobs acked");
    readiness_.consumer_attached = false;
    scheduler.reset();
    buses.clear();
    job_id_stores.clear();
  }
  if (maintenance.joinable()) maintenance.join();
  api_router.store(nullptr, std::memory_order_release);
  http.Stop();  // no API handler may run past the control plane
  control.reset();
  if (Status s = connection->Flush(std::chrono::milliseconds(5000)); !s.ok()) {
    spdlog::warn("final flush: {}", s.ToString());
  }
  deferred_store.reset();  // its JetStream context before the connection
  connection.reset();
  http.Stop();
  spdlog::info("jobgate stopped");
  return 0;
}

}  // namespace jobgate::gate
