// Verdicts: their names, parsing, and which of them reach a worker (policy.h).

#include <string_view>

#include "policy/policy.h"

namespace jobgate::policy {

bool RoutesToWorker(v1::Verdict verdict) {
  switch (verdict) {
    case v1::ALLOW:
    case v1::ALLOW_WITH_CONSTRAINTS:
    case v1::ALERT:
    case v1::REDACT:
    case v1::THROTTLE:
      return true;
    default:
      return false;
  }
}

std::string_view VerdictName(v1::Verdict verdict) {
  switch (verdict) {
    case v1::ALLOW:
      return "ALLOW";
    case v1::ALLOW_WITH_CONSTRAINTS:
      return "ALLOW_WITH_CONSTRAINTS";
    case v1::ALERT:
      return "ALERT";
    case v1::REDACT:
      return "REDACT";
    case v1::THROTTLE:
      return "THROTTLE";
    case v1::REQUIRE_APPROVAL:
      return "REQUIRE_APPROVAL";
    case v1::DENY:
      return "DENY";
    case v1::TERMINATE:
      return "TERMINATE";
    default:
      return "VERDICT_UNSPECIFIED";
  }
}

bool ParseVerdict(std::string_view text, v1::Verdict* out) {
  std::string upper;
  for (char c : text) {
    upper.push_back(c == '-' ? '_'
                             : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  for (int v = v1::ALLOW; v <= v1::TERMINATE; ++v) {
    if (VerdictName(static_cast<v1::Verdict>(v)) == upper) {
      *out = static_cast<v1::Verdict>(v);
      return true;
    }
  }
  return false;
}

}  // namespace jobgate::policy
