#include "metrics/metrics.h"

namespace jobgate::metrics {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
          0.01,    0.025,    0.05,    0.1,    0.25,    0.5,    1,     2.5,    5};
}

std::string VersionLine() {
  const BuildIdentity build = Build();
  return std::string("jobgate ") + build.version + " (commit " + build.git_commit + ", " +
         build.build_type + ")";
}

BuildMetrics::BuildMetrics(prometheus::Registry& registry)
    : build_info(BuildGauge()
                     .Name("jobgate_build_info")
                     .Help("1, labelled with the version, git commit and build type of this "
                           "binary.")
                     .Register(registry)) {
  const BuildIdentity build = Build();
  build_info
      .Add({{"version", build.version},
            {"git_commit", build.git_commit},
            {"build_type", build.build_type}})
      .Set(1);
}

GateMetrics::GateMetrics(prometheus::Registry& registry)
    : jobs_received_family(BuildCounter()
                               .Name("jobgate_jobs_received_total")
                               .Help("Messages fetched from the job stream, good or bad.")
                               .Register(registry)),
      jobs_received(jobs_received_family.Add({})),
      decisions(BuildCounter()
                    .Name("jobgate_decisions_total")
                    .Help("Jobs decided and routed, by enforced decision and deciding rule "
                          "(rule is empty when the policy defaults decided).")
                    .Register(registry)),
      evaluation_seconds_family(BuildHistogram()
                                    .Name("jobgate_evaluation_seconds")
                                    .Help("Time to evaluate one job against the policy.")
                                    .Register(registry)),
      evaluation_seconds(evaluation_seconds_family.Add({}, LatencyBuckets())),
      dispatch_seconds_family(
          BuildHistogram()
              .Name("jobgate_dispatch_seconds")
              .Help("Time from receipt of a job to JetStream's ack of everything it routed.")
              .Register(registry)),
      dispatch_seconds(dispatch_seconds_family.Add({}, LatencyBuckets())),
      rejected_jobs(BuildCounter()
                        .Name("jobgate_rejected_jobs_total")
                        .Help("Messages that could not be read as jobs, recorded on "
                              "audit.rejected, by reason.")
                        .Register(registry)),
      publish_errors(BuildCounter()
                         .Name("jobgate_publish_errors_total")
                         .Help("Failed bus operations; the job is left for redelivery.")
                         .Register(registry)),
      throttled(BuildCounter()
                    .Name("jobgate_throttled_total")
                    .Help("Jobs over their THROTTLE rate, left for delayed redelivery.")
                    .Register(registry)),
      queue_pending(BuildGauge()
                        .Name("jobgate_queue_pending")
                        .Help("Messages in a stream not yet delivered to the gate's consumer.")
                        .Register(registry)) {}

PolicyMetrics::PolicyMetrics(prometheus::Registry& registry)
    : policy_info(BuildGauge()
                      .Name("jobgate_policy_info")
                      .Help("1 for the active policy snapshot, labelled by name and hash.")
                      .Register(registry)),
      policy_reloads(BuildCounter()
                         .Name("jobgate_policy_reloads_total")
                         .Help("Attempts to activate a new policy snapshot, by result.")
                         .Register(registry)),
      shadow_disagreements(BuildCounter()
                               .Name("jobgate_shadow_disagreements_total")
                               .Help("Jobs the shadow snapshot decided differently.")
                               .Register(registry)),
      shadow_policy_info(BuildGauge()
                             .Name("jobgate_shadow_policy_info")
                             .Help("The shadow snapshot this replica evaluates next to the "
                                   "enforced one (1; no series when there is none).")
                             .Register(registry)) {}

ApprovalMetrics::ApprovalMetrics(prometheus::Registry& registry)
    : approvals_pending_family(BuildGauge()
                                   .Name("jobgate_approvals_pending")
                                   .Help("Jobs held for approval.")
                                   .Register(registry)),
      approvals_pending(approvals_pending_family.Add({})),
      approval_wait_seconds_family(BuildHistogram()
                                       .Name("jobgate_approval_wait_seconds")
                                       .Help("Time from hold to resolution of an approval.")
                                       .Register(registry)),
      approval_wait_seconds(approval_wait_seconds_family.Add(
          {}, prometheus::Histogram::BucketBoundaries{1, 10, 60, 300, 900, 3600, 14400, 86400})),
      approvals_resolved(BuildCounter()
                             .Name("jobgate_approvals_resolved_total")
                             .Help("Resolved approvals, by outcome.")
                             .Register(registry)) {}

SessionMetrics::SessionMetrics(prometheus::Registry& registry)
    : sessions_family(BuildGauge()
                          .Name("jobgate_sessions")
                          .Help("Agent sessions this replica knows, by status.")
                          .Register(registry)),
      sessions_active(sessions_family.Add({{"status", "active"}})),
      sessions_terminated(sessions_family.Add({{"status", "terminated"}})),
      terminations(BuildCounter()
                       .Name("jobgate_session_terminations_total")
                       .Help("Sessions terminated, by who ended them.")
                       .Register(registry)),
      jobs_terminated(BuildCounter()
                          .Name("jobgate_session_jobs_terminated_total")
                          .Help("Jobs decided TERMINATE because their session was terminated.")
                          .Register(registry)
                          .Add({})),
      store_errors(BuildCounter()
                       .Name("jobgate_session_store_errors_total")
                       .Help("Session store failures, by kind (write, stale).")
                       .Register(registry)) {}

}  // namespace jobgate::metrics
