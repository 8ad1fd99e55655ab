// API access: bearer tokens, each with a name and roles, from the gate's config.
//
//   api:
//     tokens:
//       - {name: ci-publisher, roles: [policy-admin], token_sha256: "9f86d0…"}  # preferred
//       - {name: alice, roles: [approver], token: "s3cret"}                      # or plain
//
// Roles: viewer (reads), approver (approvals), policy-admin (publish, rollback, shadow).
// approver and policy-admin include viewer. Tokens are kept only as SHA-256 digests and
// compared in constant time. Events record the token's name, never the token.
//
// Immutable after construction; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/status.h"

namespace jobgate::gate {

enum class Role : uint8_t { kViewer = 1, kApprover = 2, kPolicyAdmin = 4 };

// "viewer", "approver", "policy-admin"; false when unknown.
bool ParseRole(std::string_view text, Role* out);
const char* RoleName(Role role);

struct ApiToken {
  std::string name;
  std::string sha256_hex;  // of the token
  uint8_t roles = 0;       // Role bits
};

struct Identity {
  std::string name;
  uint8_t roles = 0;
  bool Has(Role role) const;  // approver and policy-admin imply viewer
};

class Authenticator {
 public:
  explicit Authenticator(std::vector<ApiToken> tokens);

  // `authorization` is the header value ("Bearer <token>"). kUnauthenticated when it is
  // missing or matches no token.
  Result<Identity> Authenticate(std::string_view authorization) const;
  // Authenticate + role check: kPermissionDenied when the token lacks `role`.
  Result<Identity> Authorize(std::string_view authorization, Role role) const;

  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<ApiToken> tokens_;
};

}  // namespace jobgate::gate
