// API access: bearer tokens, each with a name and roles, from the gate's config.
//
//   api:
//     tokens:
//       - {name: ci-publisher, roles: [policy-admin], token_sha256: "9f86d0…"}  # preferred
//       - {name: alice, roles: [approver], token: "s3cret"}                      # or plain
//
// Roles: viewer (reads), approver (approvals), policy-admin (publish, rollback, shadow).
// approver and policy-admin include viewer. Any other role name ("dba", "sre") is a named
// role: rules ask for it with `approver_role`, and only tokens holding it may approve. Tokens are
// kept only as SHA-256 digests and compared in constant time. Events record the token's name, never
// the token.
//
// Immutable after construction; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace jobgate::gate {

enum class Role : uint8_t { kViewer = 1, kApprover = 2, kPolicyAdmin = 4 };

// "viewer", "approver", "policy-admin"; false when unknown.
bool ParseRole(std::string_view text, Role* out);
const char* RoleName(Role role);

struct ApiToken {
  std::string name;
  std::string sha256_hex;                // of the token
  uint8_t roles = 0;                     // Role bits
  std::vector<std::string> named_roles;  // e.g. "dba"
};

// Builds a token entry from config values: `roles` may mix built-in and named roles.
ApiToken MakeApiToken(std::string name, std::string sha256_hex,
                      const std::vector<std::string>& roles);

struct Identity {
  std::string name;
  uint8_t roles = 0;
  std::vector<std::string> named_roles;
  bool Has(Role role) const;  // approver and policy-admin imply viewer
  // True for a built-in role by its name, or a named role the token holds.
  bool HasRoleNamed(const std::string& role) const;
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
