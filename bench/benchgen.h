// The benchmark policy and jobs, shared by policy_bench (Google Benchmark) and
// jobgate_benchgen (which writes them to files for bench/run and the Cedar comparison).
//
// The generator mimics a large organisation's policy: most rules are scoped to a
// service's topics (`job.svc<k>.<verb>.*`), some to a capability or a risk tag, and a
// fixed handful are broad guards that every job must be checked against (deny
// destructive, regex on SQL, ...). Broad rules stay at 5 whatever the size: they are
// the rules no index can skip, and real policies keep them few.
//
// Every rule is emitted twice from one description: as jobgate YAML and as a Cedar
// policy (permit for the verdicts that dispatch the job to a worker, forbid for DENY,
// TERMINATE and REQUIRE_APPROVAL; see bench/cedar/README.md for the mapping and the one
// approximation, the SQL regex). Pure functions, deterministic for a seed; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::bench {

struct GeneratedPolicy {
  std::string yaml;   // jobgate policy
  std::string cedar;  // the same rules as Cedar policies
};

GeneratedPolicy GeneratePolicy(int rules, uint32_t seed = 42);

// A realistic job: a prod write on one service's topic, with actor, labels and args.
v1::Job RealisticJob(int rules);

// The benchmark job set for a policy of `rules` rules: RealisticJob first, then `count - 1`
// varied jobs (topics inside and outside the services, every broad guard hit by some).
std::vector<v1::Job> JobSet(int rules, int count = 100, uint32_t seed = 7);

// RealisticJob padded with ordinary text (args.note, a label, payload) to about `bytes`
// serialized bytes.
v1::Job SizedJob(int rules, size_t bytes);

}  // namespace jobgate::bench
