// The read-only activity routes behind the approvers' page:
//   GET /api/v1/stats             viewer  stats    decisions of the last hour
//   GET /api/v1/denials?limit=N   viewer  denials  the newest denied/terminated decisions
// Both answer this gate process's view (per replica): see gate/core/decision_stats.h and
// gate/core/recent_denials.h. docs/api.md describes the JSON.
//
// Ownership: the router's handlers borrow `stats` and `denials`, which must outlive it.
#pragma once

#include "gate/api/api.h"
#include "gate/core/decision_stats.h"
#include "gate/core/recent_denials.h"

namespace jobgate::gate {

// The JSON of GET /api/v1/stats for `snapshot`.
ApiResponse StatsResponse(const DecisionStats::Snapshot& snapshot);

// The JSON of GET /api/v1/denials for `records` (newest first).
ApiResponse DenialsResponse(const std::vector<v1::DecisionRecord>& records, size_t capacity);

void AddActivityRoutes(ApiRouter* router, const DecisionStats* stats, const RecentDenials* denials);

}  // namespace jobgate::gate
