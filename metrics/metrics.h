// Every metric jobgate exports, declared once (docs/operations.md lists the names).
//
// One struct per component. Each struct registers its families in the Registry it is
// given; the caller owns the Registry and must keep it alive longer than the struct.
// Families and the metrics they hand out are thread-safe (prometheus-cpp), so one
// instance is shared by every thread of its component. Label values are created on first
// use (Family::Add), which takes a lock; callers on the hot path cache the returned
// references where the label set is known in advance.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace jobgate::metrics {

// What this binary is: the CMake project version, the git commit it was built from
// (12 hex digits, "-dirty" when tracked files differed from it; "unknown" outside a git
// checkout) and the CMake build type. Captured at build time; static strings.
struct BuildIdentity {
  const char* version;
  const char* git_commit;
  const char* build_type;
};
BuildIdentity Build();
// "jobgate 0.1.0 (commit 0123456789ab, RelWithDebInfo)": what `jobgate --version` prints.
std::string VersionLine();

// Buckets for per-job latencies: 10 µs .. 5 s.
prometheus::Histogram::BucketBoundaries LatencyBuckets();

// The process itself.
struct BuildMetrics {
  explicit BuildMetrics(prometheus::Registry& registry);

  // jobgate_build_info{version,git_commit,build_type} = 1, from Build().
  prometheus::Family<prometheus::Gauge>& build_info;
};

// The dispatch gate: consumption, evaluation, routing, publishing.
struct GateMetrics {
  explicit GateMetrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Counter>& jobs_received_family;
  prometheus::Counter& jobs_received;  // jobgate_jobs_received_total
  // jobgate_decisions_total{decision,rule}; rule is "" when the defaults decided.
  prometheus::Family<prometheus::Counter>& decisions;
  prometheus::Family<prometheus::Histogram>& evaluation_seconds_family;
  prometheus::Histogram& evaluation_seconds;  // jobgate_evaluation_seconds
  prometheus::Family<prometheus::Histogram>& dispatch_seconds_family;
  prometheus::Histogram& dispatch_seconds;  // jobgate_dispatch_seconds: receipt to publish-ack
  // jobgate_rejected_jobs_total{reason}: decode_error, missing_job_id, too_large, bad_subject
  prometheus::Family<prometheus::Counter>& rejected_jobs;
  // jobgate_publish_errors_total{kind}: publish (a JetStream publish failed or timed out),
  // ack (acking the incoming message failed), nak.
  prometheus::Family<prometheus::Counter>& publish_errors;
  // jobgate_throttled_total{rule}: jobs over their rate, left for redelivery.
  prometheus::Family<prometheus::Counter>& throttled;
  // jobgate_queue_pending{stream}: messages not yet delivered to the consumer (JetStream's
  // num_pending), from consumer info every second by the daemon's maintenance thread (so it
  // stays true while delivery is stalled).
  prometheus::Family<prometheus::Gauge>& queue_pending;
};

// The active policy (the dispatcher reads it; the policy lifecycle swaps it).
struct PolicyMetrics {
  explicit PolicyMetrics(prometheus::Registry& registry);

  // jobgate_policy_info{snapshot,hash} = 1 for the enforced policy (one series at a time;
  // none while the gate enforces no policy).
  prometheus::Family<prometheus::Gauge>& policy_info;
  // jobgate_policy_reloads_total{result}: ok, failed, signature_refused.
  prometheus::Family<prometheus::Counter>& policy_reloads;
  // jobgate_shadow_disagreements_total{from,to}.
  prometheus::Family<prometheus::Counter>& shadow_disagreements;
  // jobgate_shadow_policy_info{snapshot,hash} = 1 for the shadow policy this replica
  // evaluates (no series when there is none).
  prometheus::Family<prometheus::Gauge>& shadow_policy_info;
};

// The approval queue.
struct ApprovalMetrics {
  explicit ApprovalMetrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Gauge>& approvals_pending_family;
  prometheus::Gauge& approvals_pending;  // jobgate_approvals_pending
  prometheus::Family<prometheus::Histogram>& approval_wait_seconds_family;
  prometheus::Histogram& approval_wait_seconds;  // jobgate_approval_wait_seconds
  // jobgate_approvals_resolved_total{outcome}: approved, rejected, expired; refused for a
  // decision the service turned down (self-approval, wrong role, stale snapshot, digest).
  prometheus::Family<prometheus::Counter>& approvals_resolved;
};

// Agent sessions (gate/core/sessions.h).
struct SessionMetrics {
  explicit SessionMetrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Gauge>& sessions_family;
  prometheus::Gauge& sessions_active;      // jobgate_sessions{status="active"}
  prometheus::Gauge& sessions_terminated;  // jobgate_sessions{status="terminated"}
  // jobgate_session_terminations_total{by}: "rule:<id>" or "operator".
  prometheus::Family<prometheus::Counter>& terminations;
  // jobgate_session_jobs_terminated_total: later jobs of terminated sessions.
  prometheus::Counter& jobs_terminated;
  // jobgate_session_store_errors_total{kind}: write (an update failed; the job waits),
  // stale (the store unreachable past the grace period; nothing is fetched).
  prometheus::Family<prometheus::Counter>& store_errors;
};

}  // namespace jobgate::metrics
