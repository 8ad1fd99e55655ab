#include "subjects/api_errors.h"

#include <array>

namespace jobgate::subjects {

std::span<const std::string_view> AllApiErrorCodes() {
  using namespace api_error;
  static constexpr std::array kAll{
      kInvalidRequest,
      kInvalidArgument,
      kInvalidPolicy,
      kTestsFailed,
      kInvalidSnapshotName,
      kUnauthenticated,
      kPermissionDenied,
      kForbidden,
      kWrongRole,
      kSelfApproval,
      kNotFound,
      kMethodNotAllowed,
      kLengthRequired,
      kTooLarge,
      kConflict,
      kAlreadyExists,
      kSnapshotExists,
      kAlreadyActive,
      kAlreadyResolved,
      kExpired,
      kDigestMismatch,
      kStaleSnapshot,
      kFailedPrecondition,
      kLoosening,
      kTooManyFlips,
      kBadSignature,
      kSignatureRefused,
      kRateLimited,
      kResourceExhausted,
      kInternal,
      kSigningFailed,
      kCorruptSnapshot,
      kUnavailable,
      kStoreUnavailable,
      kNoPolicy,
      kOverloaded,
      kNotReady,
      kDeadlineExceeded,
  };
  return kAll;
}

std::string_view ApiErrorForStatus(StatusCode code) {
  using namespace api_error;
  switch (code) {
    case StatusCode::kOk:
    case StatusCode::kInternal:
      return kInternal;
    case StatusCode::kInvalidArgument:
      return kInvalidArgument;
    case StatusCode::kNotFound:
      return kNotFound;
    case StatusCode::kAlreadyExists:
      return kAlreadyExists;
    case StatusCode::kFailedPrecondition:
      return kFailedPrecondition;
    case StatusCode::kConflict:
      return kConflict;
    case StatusCode::kPermissionDenied:
      return kPermissionDenied;
    case StatusCode::kUnauthenticated:
      return kUnauthenticated;
    case StatusCode::kUnavailable:
      return kUnavailable;
    case StatusCode::kDeadlineExceeded:
      return kDeadlineExceeded;
    case StatusCode::kResourceExhausted:
      return kResourceExhausted;
  }
  return kInternal;
}

}  // namespace jobgate::subjects
