// Configuration of `jobgate run`: a YAML file, overridden by command-line flags.
//
//   nats:
//     servers: [nats://a:4222, nats://b:4222]   # or one URL, or a comma-separated string
//     user: gate            password: secret     # or
//     token: s3cret                              # or
//     credentials_file: /etc/jobgate/gate.creds
//     tls: {ca_file: ca.pem, cert_file: cert.pem, key_file: key.pem}
//     name: jobgate
//     max_reconnect_wait: 5s
//     send_asap: false                           # true: a write per message
//     lock_spin_count: 0                         # nats.c mutex tries before blocking
//   policy: /etc/jobgate/policy.yaml             # bootstraps the first snapshot
//   http: 127.0.0.1:8081                         # "off" disables; or, for HTTPS:
//   http: {address: 0.0.0.0:8443, tls_cert: /etc/jobgate/http.crt,  # PEM, chain after
//          tls_key: /etc/jobgate/http.key}                          # the leaf; reloaded
//                                                # when the files change
//   metrics: 127.0.0.1:9464                      # "off" disables
//   log_level: info                              # trace, debug, info, warn, error
//   subjects: {job: job, worker: worker, approval: approval.requests, decisions:
//              audit.decisions, denied: audit.denied, rejected: audit.rejected,
//              policy_events: audit.policy, alert: alert, api: jobgate.api,
//              deferred: jobgate.deferred, chain: audit.chain}
//   streams:
//     duplicate_window: 2m
//     storage: file                              # or memory
//     replicas: 1
//     jobs:      {name: JOBS, retention: workqueue, max_age: 7d, max_bytes: -1}
//                                                # acked jobs leave; an existing JOBS is
//                                                # kept as it is (docs/operations.md)
//     work:      {name: WORK, retention: limits, max_age: 7d}
//     approvals: {name: APPROVALS, retention: limits, max_age: 30d}
//     audit:     {name: AUDIT, retention: limits, max_age: 90d}
//     deferred:  {name: JOBS_DEFERRED, retention: limits, max_age: 0, max_bytes: -1}
//                                                # parked over-rate jobs; 0: kept until
//                                                # routed. Full: parks fail, jobs stay on JOBS
//   lifecycle: {recheck_interval: 30s, store_grace: 90s, simulation_jobs: 10000,
//               simulation_time: 10s, simulation_window: 7d,   # recent jobs: read from
//               simulation_bytes: 67108864,                    # AUDIT's decision records
//               max_flip_share: 0.05,
//               verify_keys: [/etc/jobgate/snapshot-signer.pub.pem],  # Ed25519 SPKI PEM
//               signing_key: /etc/jobgate/snapshot-signer.pem}        # signs unsigned
//                                                # publishes (the bootstrap); optional
//   audit: {chain: true}                         # hash-chain the AUDIT records
//                                                # (docs/audit.md); false: unchained
//   consumer: {durable: jobgate, ack_wait: 30s, max_ack_pending: 20000}
//   dispatch: {batch_size: 256, workers: 4, max_message_bytes: 1048576,
//              fetch_timeout: 500ms, publish_timeout: 5s, retry_delay: 1s,
//              tenant_from: body,        # or subject_token: job.<tenant>.<action...>
//              job_id_ttl: 4m,           # job-id claims; default twice duplicate_window
//              defer_throttled: true}    # false: over-rate jobs are nak'ed on JOBS
//   sessions: {enabled: true, stream: JOBGATE_SESSIONS, idle: 24h, keep: 1h,
//              max_events: 64, grace: 10s}       # the session log (gate/core/sessions.h)
//
// Durations are seconds or a number with ms, s, m, h or d. Unknown keys are errors, so a
// typo never silently keeps a default. Plain values; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "gate/api/api_limits.h"
#include "gate/core/auth.h"
#include "gate/core/dispatcher.h"
#include "gate/nats/nats_bus.h"
#include "gate/lifecycle/policy_lifecycle.h"
#include "gate/core/sessions.h"
#include "base/status.h"
#include "subjects/subjects.h"

namespace jobgate::gate {

struct GateConfig {
  NatsConnectOptions nats;
  std::string policy_file;
  std::string http_address = "127.0.0.1:8081";
  std::string http_tls_cert;  // both set: the HTTP listener serves HTTPS only
  std::string http_tls_key;
  std::string metrics_address = "127.0.0.1:9464";
  std::string log_level = "info";
  subjects::Prefixes prefixes;
  StreamSpec jobs_stream;
  StreamSpec work_stream;
  StreamSpec approvals_stream;
  StreamSpec audit_stream;
  // Parked over-rate THROTTLE jobs (gate/core/deferred.h): direct get on, discard new.
  StreamSpec deferred_stream;
  // Over-rate THROTTLE jobs are parked in deferred_stream and re-judged from there; off,
  // they are nak'ed with a delay and stay pending on the job consumer.
  bool defer_throttled = true;
  ConsumerSpec consumer;
  DispatcherOptions dispatch;
  std::vector<ApiToken> api_tokens;
  ApiLimits api_limits;
  std::chrono::milliseconds policy_recheck{30'000};
  LifecycleOptions lifecycle;  // lifecycle.replica defaults to "<host>-<pid>"
  std::chrono::milliseconds approval_ttl{24 * 3600 * 1000};
  std::chrono::milliseconds approval_sweep{30'000};
  // Files of the keys that seal held jobs carrying secrets (gate/core/job_sealer.h); the first
  // seals, all open. Empty: JOBGATE_APPROVAL_KEY / _FILE, else no sealing.
  std::vector<std::string> approval_seal_keys;
  // How long the job-id store keeps a claim (gate/core/job_ids.h); 0: twice the streams'
  // duplicate window. Must exceed the window.
  std::chrono::milliseconds job_id_ttl{0};
  // Every record published to audit_stream's subjects carries its hash-chain position
  // (gate/audit/audit_chain.h).
  bool audit_chain = true;
  // Session state shared by the replicas (gate/core/sessions.h); off, jobs are judged without
  // session history and TERMINATE ends no session.
  bool sessions_enabled = true;
  SessionStoreOptions sessions;
  std::chrono::milliseconds JobIdTtl() const {
    return job_id_ttl.count() != 0 ? job_id_ttl
                                   : std::chrono::milliseconds(2 * jobs_stream.duplicate_window);
  }

  GateConfig();
  // Recomputes each stream's subjects from `prefixes` (call after changing them).
  void DeriveStreamSubjects();
  std::vector<const StreamSpec*> streams() const {
    return {&jobs_stream, &work_stream, &approvals_stream, &audit_stream, &deferred_stream};
  }
};

// Applies a YAML document to `config` (keys absent keep their value).
Status ApplyConfigYaml(const std::string& yaml_text, const std::string& file_name,
                       GateConfig* config);
Status ApplyConfigFile(const std::string& path, GateConfig* config);

// "nats://a:4222,nats://b:4222" -> two URLs.
std::vector<std::string> SplitServerList(const std::string& text);


}  // namespace jobgate::gate
