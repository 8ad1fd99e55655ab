// How `jobgate approvals list` and `approvals show` print held jobs for a person: an
// aligned table, and one job with the explanation of its decision. (`--json` prints the
// API's JSON instead.)
//
// Job content is written by agents: every string is printed with its control characters
// escaped (\x1b, \n, ...), so a job cannot move the cursor, recolour or clear the
// terminal, or forge extra rows. Cells longer than their column's limit end in "…".
// Pure functions of their arguments; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::gate {

// `text` with every control character (C0, DEL) written as \n, \t or \xHH.
std::string Printable(std::string_view text);

// "3d 4h", "2h 5m", "4m 10s", "12s" for a duration of `seconds` (negative counts as 0).
std::string ShortDuration(int64_t seconds);

// One row per approval under a header (status and resolver columns when `with_status`),
// then a footer: how many are pending and, when there is one, the next page's token.
// `now` dates "held for" and "expires in".
std::string ApprovalTable(const v1::ApprovalList& list, bool with_status,
                          std::chrono::system_clock::time_point now);

// One held job: who and what, the arguments (pretty JSON), the decision's explanation
// (rule, reason, every matched rule, risk, approver role, snapshot), its binding (digest,
// held at, expires at) and, once resolved, by whom, when and why.
std::string ApprovalDetail(const v1::PendingApproval& approval,
                           std::chrono::system_clock::time_point now);

}  // namespace jobgate::gate
