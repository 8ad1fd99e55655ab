#include "gate/daemon.h"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

#include "gate/dispatcher.h"
#include "gate/nats_bus.h"
#include "gate/throttle.h"
#include "metrics/metrics.h"
#include "policy/policy.h"

namespace jobgate::gate {

Daemon::Daemon(GateConfig config) : config_(std::move(config)) {}

Daemon::~Daemon() = default;

void Daemon::RequestStop() {
  {
    std::lock_guard lock(mu_);
    stop_.store(true, std::memory_order_release);
  }
  stop_cv_.notify_all();
}

void Daemon::PauseUnlessStopped(std::chrono::milliseconds duration) {
  std::unique_lock lock(mu_);
  stop_cv_.wait_for(lock, duration, [this] { return stopping(); });
}

int Daemon::Run() {
  spdlog::info("jobgate starting");
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::GateMetrics gate_metrics(*registry);
  metrics::PolicyMetrics policy_metrics(*registry);

  // The bootstrap policy. A policy that does not compile is a start-up error rather than
  // a gate that silently never becomes ready.
  if (!config_.policy_file.empty()) {
    policy::CompileResult compiled = policy::CompileFile(config_.policy_file);
    if (!compiled.ok()) {
      spdlog::error("policy {} does not compile:\n{}", config_.policy_file, compiled.ErrorText());
      return 1;
    }
    active_policy_.Set(compiled.policy);
    readiness_.policy_active = true;
    policy_metrics.policy_info
        .Add({{"snapshot", compiled.policy->snapshot_name()}, {"hash", compiled.policy->hash()}})
        .Set(1);
    policy_metrics.policy_reloads.Add({{"result", "ok"}}).Increment();
    spdlog::info("policy active: {} snapshot '{}' {} ({} rules)", config_.policy_file,
                 compiled.policy->snapshot_name(), compiled.policy->hash(),
                 compiled.policy->rule_count());
  } else {
    spdlog::warn("no policy given (--policy): not consuming jobs; /readyz stays 503");
  }

  std::unique_ptr<prometheus::Exposer> exposer;
  if (config_.metrics_address != "off" && !config_.metrics_address.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(config_.metrics_address);
      exposer->RegisterCollectable(registry);
      spdlog::info("metrics on http://{}/metrics", config_.metrics_address);
    } catch (const std::exception& e) {
      spdlog::error("cannot serve metrics on {}: {}", config_.metrics_address, e.what());
      return 1;
    }
  }
  HttpServer http;
  if (config_.http_address != "off" && !config_.http_address.empty()) {
    RegisterHealthRoutes(http, readiness_);
    if (Status s = http.Start(config_.http_address); !s.ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
    spdlog::info("http on {}", config_.http_address);
  }

  auto connected = NatsConnection::Connect(config_.nats, /*wait=*/false);
  if (!connected.ok()) {
    spdlog::error("{}", connected.status().ToString());
    return 1;
  }
  std::unique_ptr<NatsConnection> connection = std::move(connected).value();

  // Streams, consumer, subscriptions: retried until they succeed or we are stopped.
  const int workers = std::max(1, config_.dispatch.workers);
  std::vector<std::unique_ptr<NatsBus>> buses;
  std::chrono::milliseconds backoff(100);
  while (!stopping() && static_cast<int>(buses.size()) < workers) {
    if (!connection->WaitConnected(std::chrono::milliseconds(200))) continue;
    readiness_.connected = true;
    Status s;
    for (const StreamSpec* stream : config_.streams()) {
      s = connection->EnsureStream(*stream);
      if (!s.ok()) break;
    }
    if (s.ok()) {
      readiness_.streams_ensured = true;
      s = connection->EnsureConsumer(config_.consumer);
    }
    while (s.ok() && active_policy_.Get() != nullptr &&
           static_cast<int>(buses.size()) < workers) {
      auto attached = NatsBus::Attach(connection.get(), config_.consumer);
      if (!attached.ok()) {
        s = attached.status();
        break;
      }
      buses.push_back(std::move(attached).value());
    }
    if (static_cast<int>(buses.size()) == workers) {
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

  if (!buses.empty()) {
    SystemClock clock;
    RateLimiter limiter(&clock);  // shared: the rate is per gate process
    std::vector<std::thread> threads;
    for (auto& bus : buses) {
      threads.emplace_back([&, bus = bus.get()] {
        Dispatcher dispatcher(config_.dispatch, bus, &clock, &active_policy_, &limiter,
                              &gate_metrics);
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
    buses.clear();
  }
  if (Status s = connection->Flush(std::chrono::milliseconds(5000)); !s.ok()) {
    spdlog::warn("final flush: {}", s.ToString());
  }
  connection.reset();
  http.Stop();
  spdlog::info("jobgate stopped");
  return 0;
}

}  // namespace jobgate::gate
