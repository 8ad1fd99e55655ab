#include "gate/daemon/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <functional>
#include <map>

#include "base/duration.h"
#include "base/hash.h"
#include "base/yaml_loader.h"
#include "base/yaml_map.h"
#include "policy/policy.h"
#include "policy/tooling/snapshot_signature.h"

namespace jobgate::gate {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Where(const std::string& file, const YAML::Node& node) {
  return file + ":" + std::to_string(node.Mark().line + 1) + ":" +
         std::to_string(node.Mark().column + 1) + ": ";
}

// Reads one YAML mapping with a handler per known key; unknown keys are errors.
class MapReader {
 public:
  MapReader(const std::string& file, const YAML::Node& node, std::string what)
      : file_(file), node_(node), what_(std::move(what)) {}

  using Handler = std::function<Status(const YAML::Node&)>;
  MapReader& On(const std::string& key, Handler handler) {
    handlers_[key] = std::move(handler);
    return *this;
  }

  Status Read() {
    if (!node_ || node_.IsNull()) return Status::Ok();
    std::vector<std::string_view> known;
    for (const auto& [k, unused] : handlers_) known.push_back(k);
    Status first;
    CheckYamlMap(node_, what_, known, [&](const YAML::Node& at, const std::string& message) {
      if (first.ok()) first = InvalidArgument(Where(file_, at) + message);
    });
    JOBGATE_RETURN_IF_ERROR(first);
    for (const auto& entry : node_) {
      const auto it = handlers_.find(entry.first.Scalar());
      if (it != handlers_.end()) JOBGATE_RETURN_IF_ERROR(it->second(entry.second));
    }
    return Status::Ok();
  }

  // Typed setters.
  Handler String(std::string* out) {
    return [this, out](const YAML::Node& n) -> Status {
      if (!n.IsScalar()) return InvalidArgument(Where(file_, n) + "expected a string");
      *out = n.Scalar();
      return Status::Ok();
    };
  }
  Handler Bool(bool* out) {
    return [this, out](const YAML::Node& n) -> Status {
      const std::string& s = n.IsScalar() ? n.Scalar() : std::string();
      if (s != "true" && s != "false") {
        return InvalidArgument(Where(file_, n) + "expected true or false");
      }
      *out = s == "true";
      return Status::Ok();
    };
  }
  template <typename Int>
  Handler Integer(Int* out) {
    return [this, out](const YAML::Node& n) -> Status {
      int64_t value = 0;
      const std::string& s = n.IsScalar() ? n.Scalar() : std::string();
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
      if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
        return InvalidArgument(Where(file_, n) + "expected an integer");
      }
      *out = static_cast<Int>(value);
      return Status::Ok();
    };
  }
  template <typename Duration>
  Handler Dur(Duration* out) {
    return [this, out](const YAML::Node& n) -> Status {
      const int64_t ms = n.IsScalar() ? jobgate::ParseDurationMillis(n.Scalar()).value_or(-1) : -1;
      if (ms < 0) {
        return InvalidArgument(Where(file_, n) +
                               "expected a duration such as 500ms, 30s, 2m, 24h or 7d");
      }
      *out = std::chrono::duration_cast<Duration>(milliseconds(ms));
      return Status::Ok();
    };
  }

 private:
  const std::string& file_;
  YAML::Node node_;
  std::string what_;
  std::map<std::string, Handler> handlers_;
};

Status ReadStream(const std::string& file, const YAML::Node& node, const std::string& what,
                  StreamSpec* spec) {
  MapReader reader(file, node, what);
  reader.On("name", reader.String(&spec->name))
      .On("retention",
          [&](const YAML::Node& n) -> Status {
            const std::string value = n.IsScalar() ? n.Scalar() : "";
            if (value == "limits")
              spec->retention = StreamSpec::Retention::kLimits;
            else if (value == "interest")
              spec->retention = StreamSpec::Retention::kInterest;
            else if (value == "workqueue")
              spec->retention = StreamSpec::Retention::kWorkQueue;
            else
              return InvalidArgument(Where(file, n) + "retention is limits, interest or workqueue");
            return Status::Ok();
          })
      .On("max_age", reader.Dur(&spec->max_age))
      .On("max_bytes", reader.Integer(&spec->max_bytes));
  return reader.Read();
}

// The settings `streams:` gives every stream (and the session log) alike.
struct SharedStreamSettings {
  std::chrono::seconds duplicate_window;
  std::string storage = "file";
  int replicas = 1;
};

Status ReadNats(const std::string& file, const YAML::Node& node, NatsConnectOptions* nats) {
  MapReader tls(file, node["tls"], "nats.tls");
  tls.On("ca_file", tls.String(&nats->tls_ca_file))
      .On("cert_file", tls.String(&nats->tls_cert_file))
      .On("key_file", tls.String(&nats->tls_key_file));
  MapReader nats_reader(file, node, "nats");
  nats_reader
      .On("servers",
          [&](const YAML::Node& n) -> Status {
            nats->servers.clear();
            if (n.IsSequence()) {
              for (const auto& url : n) nats->servers.push_back(url.as<std::string>());
            } else if (n.IsScalar()) {
              nats->servers = SplitServerList(n.Scalar());
            }
            if (nats->servers.empty()) {
              return InvalidArgument(Where(file, n) + "nats.servers needs at least one URL");
            }
            return Status::Ok();
          })
      .On("user", nats_reader.String(&nats->user))
      .On("password", nats_reader.String(&nats->password))
      .On("token", nats_reader.String(&nats->token))
      .On("credentials_file", nats_reader.String(&nats->credentials_file))
      .On("name", nats_reader.String(&nats->name))
      .On("max_reconnect_wait", nats_reader.Dur(&nats->max_reconnect_wait))
      .On("send_asap", nats_reader.Bool(&nats->send_asap))
      .On("lock_spin_count", nats_reader.Integer(&nats->lock_spin_count))
      .On("tls", [&](const YAML::Node&) { return tls.Read(); });
  return nats_reader.Read();
}

Status ReadSubjects(const std::string& file, const YAML::Node& node, subjects::Prefixes* p) {
  MapReader subjects_reader(file, node, "subjects");
  subjects_reader.On("job", subjects_reader.String(&p->job))
      .On("worker", subjects_reader.String(&p->worker))
      .On("approval", subjects_reader.String(&p->approval))
      .On("decisions", subjects_reader.String(&p->decisions))
      .On("denied", subjects_reader.String(&p->denied))
      .On("rejected", subjects_reader.String(&p->rejected))
      .On("policy_events", subjects_reader.String(&p->policy_events))
      .On("chain", subjects_reader.String(&p->chain))
      .On("alert", subjects_reader.String(&p->alert))
      .On("api", subjects_reader.String(&p->api))
      .On("deferred", subjects_reader.String(&p->deferred));
  return subjects_reader.Read();
}

Status ReadStreams(const std::string& file, const YAML::Node& node, GateConfig* config,
                   SharedStreamSettings* shared) {
  MapReader streams(file, node, "streams");
  streams.On("duplicate_window", streams.Dur(&shared->duplicate_window))
      .On("storage", streams.String(&shared->storage))
      .On("replicas", streams.Integer(&shared->replicas))
      .On("jobs",
          [&](const YAML::Node& n) {
            return ReadStream(file, n, "streams.jobs", &config->jobs_stream);
          })
      .On("work",
          [&](const YAML::Node& n) {
            return ReadStream(file, n, "streams.work", &config->work_stream);
          })
      .On("approvals",
          [&](const YAML::Node& n) {
            return ReadStream(file, n, "streams.approvals", &config->approvals_stream);
          })
      .On("audit",
          [&](const YAML::Node& n) {
            return ReadStream(file, n, "streams.audit", &config->audit_stream);
          })
      .On("deferred", [&](const YAML::Node& n) {
        return ReadStream(file, n, "streams.deferred", &config->deferred_stream);
      });
  return streams.Read();
}

Status ReadConsumer(const std::string& file, const YAML::Node& node, ConsumerSpec* consumer) {
  MapReader consumer_reader(file, node, "consumer");
  consumer_reader.On("durable", consumer_reader.String(&consumer->durable))
      .On("ack_wait", consumer_reader.Dur(&consumer->ack_wait))
      .On("max_ack_pending", consumer_reader.Integer(&consumer->max_ack_pending));
  return consumer_reader.Read();
}

Status ReadDispatch(const std::string& file, const YAML::Node& node, GateConfig* config) {
  DispatcherOptions& d = config->dispatch;
  MapReader dispatch(file, node, "dispatch");
  dispatch.On("batch_size", dispatch.Integer(&d.batch_size))
      .On("workers", dispatch.Integer(&d.workers))
      .On("max_message_bytes", dispatch.Integer(&d.max_message_bytes))
      .On("fetch_timeout", dispatch.Dur(&d.fetch_timeout))
      .On("publish_timeout", dispatch.Dur(&d.publish_timeout))
      .On("retry_delay", dispatch.Dur(&d.retry_delay))
      .On("tenant_from",
          [&](const YAML::Node& n) -> Status {
            if (!n.IsScalar() || !subjects::ParseTenantSource(n.Scalar(), &d.tenant_from)) {
              return InvalidArgument(Where(file, n) +
                                     "dispatch.tenant_from is body or subject_token");
            }
            return Status::Ok();
          })
      .On("job_id_ttl", dispatch.Dur(&config->job_id_ttl))
      .On("defer_throttled", dispatch.Bool(&config->defer_throttled));
  return dispatch.Read();
}

Status ReadApiTokens(const std::string& file, const YAML::Node& list,
                     std::vector<ApiToken>* tokens) {
  if (!list.IsSequence()) return InvalidArgument(Where(file, list) + "api.tokens must be a list");
  for (const auto& entry : list) {
    std::string name, token, sha;
    std::vector<std::string> roles;
    MapReader t(file, entry, "an api token");
    t.On("name", t.String(&name))
        .On("token", t.String(&token))
        .On("token_sha256", t.String(&sha))
        .On("roles", [&](const YAML::Node& n) -> Status {
          if (!n.IsSequence()) return InvalidArgument(Where(file, n) + "roles must be a list");
          for (const auto& r : n) roles.push_back(r.as<std::string>());
          return Status::Ok();
        });
    JOBGATE_RETURN_IF_ERROR(t.Read());
    if (name.empty()) return InvalidArgument(Where(file, entry) + "an api token needs a name");
    if (token.empty() == sha.empty()) {
      return InvalidArgument(Where(file, entry) + "api token '" + name +
                             "' needs exactly one of token and token_sha256");
    }
    if (!sha.empty() &&
        (sha.size() != 64 || sha.find_first_not_of("0123456789abcdef") != std::string::npos)) {
      return InvalidArgument(Where(file, entry) + "token_sha256 of '" + name +
                             "' must be 64 lower-case hex digits");
    }
    if (roles.empty())
      return InvalidArgument(Where(file, entry) + "api token '" + name + "' has no roles");
    tokens->push_back(MakeApiToken(name, sha.empty() ? jobgate::Sha256Hex(token) : sha, roles));
  }
  return Status::Ok();
}

Status ReadApi(const std::string& file, const YAML::Node& node, GateConfig* config,
               std::vector<ApiToken>* tokens) {
  ApiLimits& limits = config->api_limits;
  MapReader api_limits(file, node["limits"], "api.limits");
  api_limits.On("max_body_bytes", api_limits.Integer(&limits.max_body_bytes))
      .On("max_policy_body_bytes", api_limits.Integer(&limits.max_policy_body_bytes))
      .On("calls_per_second", api_limits.Integer(&limits.calls_per_second))
      .On("burst", api_limits.Integer(&limits.burst))
      .On("http_threads", api_limits.Integer(&limits.http_threads))
      .On("http_queue", api_limits.Integer(&limits.http_queue))
      .On("read_timeout", api_limits.Dur(&limits.http_read_timeout))
      .On("write_timeout", api_limits.Dur(&limits.http_write_timeout))
      .On("idle_timeout", api_limits.Dur(&limits.http_idle_timeout));
  MapReader api(file, node, "api");
  api.On("tokens", [&](const YAML::Node& list) { return ReadApiTokens(file, list, tokens); })
      .On("limits", [&](const YAML::Node&) { return api_limits.Read(); });
  return api.Read();
}

Status ReadLifecycle(const std::string& file, const YAML::Node& node, GateConfig* config) {
  LifecycleOptions& lc = config->lifecycle;
  MapReader lifecycle(file, node, "lifecycle");
  lifecycle.On("recheck_interval", lifecycle.Dur(&config->policy_recheck))
      .On("store_grace", lifecycle.Dur(&lc.store_grace))
      .On("simulation_jobs", lifecycle.Integer(&lc.simulation_jobs))
      .On("simulation_time", lifecycle.Dur(&lc.simulation_time))
      .On("simulation_window", lifecycle.Dur(&lc.simulation_window))
      .On("simulation_bytes", lifecycle.Integer(&lc.simulation_bytes))
      .On("verify_keys",
          [&](const YAML::Node& n) -> Status {
            if (!n.IsSequence() || n.size() == 0) {
              return InvalidArgument(Where(file, n) +
                                     "lifecycle.verify_keys is a non-empty list of PEM files");
            }
            lc.verify_keys.clear();
            for (const auto& item : n) {
              const std::string path = item.IsScalar() ? item.Scalar() : std::string();
              auto pem = policy::ReadFile(path);
              if (!pem.ok()) return InvalidArgument(Where(file, item) + pem.status().message());
              auto key = policy::SnapshotVerifyKey::FromPem(*pem);
              if (!key.ok()) {
                return InvalidArgument(Where(file, item) + path + ": " + key.status().message());
              }
              lc.verify_keys.push_back(std::move(*key));
            }
            return Status::Ok();
          })
      .On("signing_key",
          [&](const YAML::Node& n) -> Status {
            const std::string path = n.IsScalar() ? n.Scalar() : std::string();
            auto pem = policy::ReadFile(path);
            if (!pem.ok()) return InvalidArgument(Where(file, n) + pem.status().message());
            auto key = policy::SnapshotSigningKey::FromPem(*pem);
            if (!key.ok()) {
              return InvalidArgument(Where(file, n) + path + ": " + key.status().message());
            }
            lc.signing_key = std::move(*key);
            return Status::Ok();
          })
      .On("max_flip_share", [&](const YAML::Node& n) -> Status {
        double v = -1;
        const std::string& text = n.IsScalar() ? n.Scalar() : std::string();
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < 0 ||
            v > 1) {
          return InvalidArgument(Where(file, n) + "max_flip_share is a share between 0 and 1");
        }
        lc.max_flip_share = v;
        return Status::Ok();
      });
  return lifecycle.Read();
}

Status ReadApprovals(const std::string& file, const YAML::Node& node, GateConfig* config) {
  MapReader approvals(file, node, "approvals");
  approvals.On("default_ttl", approvals.Dur(&config->approval_ttl))
      .On("sweep_interval", approvals.Dur(&config->approval_sweep))
      .On("seal_keys", [&](const YAML::Node& n) -> Status {
        if (!n.IsSequence()) {
          return InvalidArgument(Where(file, n) + "approvals.seal_keys is a list of key files");
        }
        for (const auto& item : n) {
          if (!item.IsScalar() || item.Scalar().empty()) {
            return InvalidArgument(Where(file, item) + "approvals.seal_keys: a file path");
          }
          config->approval_seal_keys.push_back(item.Scalar());
        }
        return Status::Ok();
      });
  return approvals.Read();
}

Status ReadSessions(const std::string& file, const YAML::Node& node, GateConfig* config) {
  MapReader sessions(file, node, "sessions");
  SessionStoreOptions& so = config->sessions;
  sessions.On("enabled", sessions.Bool(&config->sessions_enabled))
      .On("stream", sessions.String(&so.stream))
      .On("idle", sessions.Dur(&so.idle))
      .On("keep", sessions.Dur(&so.keep))
      .On("max_events", sessions.Integer(&so.max_events))
      .On("grace", sessions.Dur(&so.grace));
  return sessions.Read();
}

Status ReadHttp(const std::string& file, const YAML::Node& node, GateConfig* config) {
  MapReader http(file, node, "http");
  http.On("address", http.String(&config->http_address))
      .On("tls_cert", http.String(&config->http_tls_cert))
      .On("tls_key", http.String(&config->http_tls_key));
  JOBGATE_RETURN_IF_ERROR(http.Read());
  if (config->http_tls_cert.empty() != config->http_tls_key.empty()) {
    return InvalidArgument(Where(file, node) + "http.tls_cert and http.tls_key go together");
  }
  return Status::Ok();
}

// The checks across sections, and what the shared stream settings set.
Status CheckAndDerive(const std::string& file, const SharedStreamSettings& shared,
                      GateConfig* config) {
  if (shared.storage != "file" && shared.storage != "memory") {
    return InvalidArgument(file + ": streams.storage is file or memory");
  }
  const DispatcherOptions& d = config->dispatch;
  if (d.batch_size <= 0) return InvalidArgument(file + ": dispatch.batch_size must be positive");
  if (d.workers <= 0) return InvalidArgument(file + ": dispatch.workers must be positive");
  if (shared.replicas <= 0) return InvalidArgument(file + ": streams.replicas must be positive");
  const bool memory = shared.storage == "memory";
  for (StreamSpec* s : {&config->jobs_stream, &config->work_stream, &config->approvals_stream,
                        &config->audit_stream, &config->deferred_stream}) {
    s->duplicate_window = shared.duplicate_window;
    s->memory_storage = memory;
    s->replicas = shared.replicas;
  }
  SessionStoreOptions& so = config->sessions;
  if (so.max_events == 0 || so.max_events > 10'000) {
    return InvalidArgument(file + ": sessions.max_events is between 1 and 10000");
  }
  if (so.idle.count() <= 0 || so.keep.count() <= 0 || so.keep > so.idle) {
    return InvalidArgument(file + ": sessions.keep and sessions.idle are positive, keep <= idle");
  }
  so.replicas = shared.replicas;
  so.memory_storage = memory;
  if (config->job_id_ttl.count() != 0 &&
      config->job_id_ttl <= std::chrono::milliseconds(shared.duplicate_window)) {
    return InvalidArgument(file +
                           ": dispatch.job_id_ttl must exceed streams.duplicate_window (the "
                           "claims guard the streams' deduplication)");
  }
  config->DeriveStreamSubjects();
  return Status::Ok();
}

}  // namespace

GateConfig::GateConfig() {
  jobs_stream.name = "JOBS";
  // A work queue: a job leaves JOBS once the gate acked it (judged and routed, or parked),
  // so no raw job stays at rest there; max_age bounds how long an unjudged job waits.
  jobs_stream.retention = StreamSpec::Retention::kWorkQueue;
  jobs_stream.max_age = std::chrono::hours(24 * 7);
  work_stream.name = "WORK";
  work_stream.max_age = std::chrono::hours(24 * 7);
  approvals_stream.name = "APPROVALS";
  approvals_stream.max_age = std::chrono::hours(24 * 30);
  audit_stream.name = "AUDIT";
  audit_stream.max_age = std::chrono::hours(24 * 90);
  audit_stream.deny_delete = true;  // records leave the audit trail only by retention
  audit_stream.deny_purge = true;
  deferred_stream.name = "JOBS_DEFERRED";  // max_age 0: a parked job waits until routed
  deferred_stream.allow_direct = true;
  deferred_stream.discard_new = true;
  DeriveStreamSubjects();
}

void GateConfig::DeriveStreamSubjects() {
  jobs_stream.subjects = {prefixes.job + ".>"};
  work_stream.subjects = {prefixes.worker + ".>"};
  approvals_stream.subjects = {prefixes.approval + ".>"};
  audit_stream.subjects = {prefixes.decisions + ".>", prefixes.denied + ".>", prefixes.rejected,
                           prefixes.policy_events,    prefixes.alert + ".>",  prefixes.chain};
  deferred_stream.subjects = {prefixes.deferred + ".>"};
  consumer.stream = jobs_stream.name;
  dispatch.prefixes = prefixes;
}

Status ApplyConfigYaml(const std::string& yaml_text, const std::string& file, GateConfig* config) {
  YAML::Node root;
  jobgate::YamlError yaml_error;
  if (!jobgate::LoadYaml(yaml_text, jobgate::YamlBudget::Default(), &root, &yaml_error)) {
    return InvalidArgument(file + ":" + std::to_string(yaml_error.line) + ":" +
                           std::to_string(yaml_error.column) + ": " + yaml_error.message);
  }
  try {
    SharedStreamSettings shared{config->jobs_stream.duplicate_window, "file",
                                config->jobs_stream.replicas};
    std::vector<ApiToken> tokens;
    MapReader top(file, root, "the configuration");
    top.On("nats", [&](const YAML::Node& n) { return ReadNats(file, n, &config->nats); })
        .On("policy", top.String(&config->policy_file))
        .On("http",
            [&](const YAML::Node& n) -> Status {
              if (n.IsScalar()) return top.String(&config->http_address)(n);
              return ReadHttp(file, n, config);
            })
        .On("metrics", top.String(&config->metrics_address))
        .On("log_level", top.String(&config->log_level))
        .On("subjects",
            [&](const YAML::Node& n) { return ReadSubjects(file, n, &config->prefixes); })
        .On("streams", [&](const YAML::Node& n) { return ReadStreams(file, n, config, &shared); })
        .On("consumer",
            [&](const YAML::Node& n) { return ReadConsumer(file, n, &config->consumer); })
        .On("dispatch", [&](const YAML::Node& n) { return ReadDispatch(file, n, config); })
        .On("api", [&](const YAML::Node& n) { return ReadApi(file, n, config, &tokens); })
        .On("lifecycle", [&](const YAML::Node& n) { return ReadLifecycle(file, n, config); })
        .On("approvals", [&](const YAML::Node& n) { return ReadApprovals(file, n, config); })
        .On("audit",
            [&](const YAML::Node& n) {
              MapReader audit(file, n, "audit");
              audit.On("chain", audit.Bool(&config->audit_chain));
              return audit.Read();
            })
        .On("sessions", [&](const YAML::Node& n) { return ReadSessions(file, n, config); })
        .On("replica", top.String(&config->lifecycle.replica));
    JOBGATE_RETURN_IF_ERROR(top.Read());
    if (!tokens.empty()) config->api_tokens = std::move(tokens);
    return CheckAndDerive(file, shared, config);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Status ApplyConfigFile(const std::string& path, GateConfig* config) {
  auto text = policy::ReadFile(path);
  if (!text.ok()) return text.status();
  return ApplyConfigYaml(*text, path, config);
}

std::vector<std::string> SplitServerList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string url = text.substr(start, comma - start);
    while (!url.empty() && url.front() == ' ') url.erase(url.begin());
    while (!url.empty() && url.back() == ' ') url.pop_back();
    if (!url.empty()) out.push_back(std::move(url));
    start = comma + 1;
  }
  return out;
}

}  // namespace jobgate::gate
