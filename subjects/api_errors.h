// The control API's error codes: the `code` of every jobgate.v1.ErrorResponse, over HTTP
// and over NATS request-reply, and the `refusal` an approval attempt records. This is
// the one place each is spelled; docs/api.md ("Status codes") lists the same codes, and a
// test holds the two together. Codes are part of the contract: never renamed or reused.
// The HTTP status comes from the error's StatusCode (gate/api/api.h HttpStatusFor).
//
// A refusal with a reason of its own names its code here; any other error answers the
// code of its StatusCode (ApiErrorForStatus). Constant data; thread-safe.
#pragma once

#include <span>
#include <string_view>

#include "base/status.h"

namespace jobgate::subjects {

namespace api_error {
// The request, its parameters or its candidate policy.
inline constexpr std::string_view kInvalidRequest = "invalid_request";
inline constexpr std::string_view kInvalidArgument = "invalid_argument";
inline constexpr std::string_view kInvalidPolicy = "invalid_policy";
inline constexpr std::string_view kTestsFailed = "tests_failed";
inline constexpr std::string_view kInvalidSnapshotName = "invalid_snapshot_name";
// Who is calling.
inline constexpr std::string_view kUnauthenticated = "unauthenticated";
inline constexpr std::string_view kPermissionDenied = "permission_denied";
// The refusal an approval attempt records when its token lacks the approver role.
inline constexpr std::string_view kForbidden = "forbidden";
inline constexpr std::string_view kWrongRole = "wrong_role";
inline constexpr std::string_view kSelfApproval = "self_approval";
// What the request names.
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kMethodNotAllowed = "method_not_allowed";
inline constexpr std::string_view kLengthRequired = "length_required";
inline constexpr std::string_view kTooLarge = "too_large";
// Another change, or the state the request expected.
inline constexpr std::string_view kConflict = "conflict";
inline constexpr std::string_view kAlreadyExists = "already_exists";
inline constexpr std::string_view kSnapshotExists = "snapshot_exists";
inline constexpr std::string_view kAlreadyActive = "already_active";
inline constexpr std::string_view kAlreadyResolved = "already_resolved";
inline constexpr std::string_view kExpired = "expired";
inline constexpr std::string_view kDigestMismatch = "digest_mismatch";
inline constexpr std::string_view kStaleSnapshot = "stale_snapshot";
// A publish its guards refused (the body carries the simulation), a snapshot whose
// signature does not hold.
inline constexpr std::string_view kFailedPrecondition = "failed_precondition";
inline constexpr std::string_view kLoosening = "loosening";
inline constexpr std::string_view kTooManyFlips = "too_many_flips";
inline constexpr std::string_view kBadSignature = "bad_signature";
inline constexpr std::string_view kSignatureRefused = "signature_refused";
// Budgets.
inline constexpr std::string_view kRateLimited = "rate_limited";
inline constexpr std::string_view kResourceExhausted = "resource_exhausted";
// The gate or what it depends on.
inline constexpr std::string_view kInternal = "internal";
inline constexpr std::string_view kSigningFailed = "signing_failed";
inline constexpr std::string_view kCorruptSnapshot = "corrupt_snapshot";
inline constexpr std::string_view kUnavailable = "unavailable";
inline constexpr std::string_view kStoreUnavailable = "store_unavailable";
inline constexpr std::string_view kNoPolicy = "no_policy";
inline constexpr std::string_view kOverloaded = "overloaded";
// GET /readyz while the gate cannot dispatch (no policy, no NATS, streams not ensured).
inline constexpr std::string_view kNotReady = "NOT_READY";
inline constexpr std::string_view kDeadlineExceeded = "deadline_exceeded";
}  // namespace api_error

// Every code above, once.
std::span<const std::string_view> AllApiErrorCodes();

// The code of an error without a reason of its own: its StatusCode's.
std::string_view ApiErrorForStatus(StatusCode code);

}  // namespace jobgate::subjects
