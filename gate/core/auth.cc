#include "gate/core/auth.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "base/hash.h"

namespace jobgate::gate {

bool ParseRole(std::string_view text, Role* out) {
  if (text == "viewer")
    *out = Role::kViewer;
  else if (text == "approver")
    *out = Role::kApprover;
  else if (text == "policy-admin")
    *out = Role::kPolicyAdmin;
  else
    return false;
  return true;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kApprover:
      return "approver";
    case Role::kPolicyAdmin:
      return "policy-admin";
  }
  return "unknown";
}

bool Identity::Has(Role role) const {
  if (roles & static_cast<uint8_t>(role)) return true;
  // Holding any role (built-in or named) includes reading.
  return role == Role::kViewer && (roles != 0 || !named_roles.empty());
}

bool Identity::HasRoleNamed(const std::string& role) const {
  Role builtin;
  if (ParseRole(role, &builtin)) return Has(builtin);
  return std::find(named_roles.begin(), named_roles.end(), role) != named_roles.end();
}

ApiToken MakeApiToken(std::string name, std::string sha256_hex,
                      const std::vector<std::string>& roles) {
  ApiToken token{std::move(name), std::move(sha256_hex), 0, {}};
  for (const auto& r : roles) {
    Role builtin;
    if (ParseRole(r, &builtin)) {
      token.roles |= static_cast<uint8_t>(builtin);
    } else {
      token.named_roles.push_back(r);
    }
  }
  return token;
}

Authenticator::Authenticator(std::vector<ApiToken> tokens) : tokens_(std::move(tokens)) {}

Result<Identity> Authenticator::Authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      authorization.substr(0, kBearer.size()) != kBearer) {
    return Status(StatusCode::kUnauthenticated, "a bearer token is required");
  }
  const std::string digest = jobgate::Sha256Hex(authorization.substr(kBearer.size()));
  // Compare against every token so timing does not reveal which one was close.
  const ApiToken* found = nullptr;
  for (const auto& token : tokens_) {
    if (token.sha256_hex.size() == digest.size() &&
        CRYPTO_memcmp(token.sha256_hex.data(), digest.data(), digest.size()) == 0) {
      found = &token;
    }
  }
  if (found == nullptr) return Status(StatusCode::kUnauthenticated, "unknown token");
  return Identity{found->name, found->roles, found->named_roles};
}

Result<Identity> Authenticator::Authorize(std::string_view authorization, Role role) const {
  auto identity = Authenticate(authorization);
  if (!identity.ok()) return identity;
  if (!identity->Has(role)) {
    return Status(StatusCode::kPermissionDenied,
                  "token '" + identity->name + "' lacks the " + RoleName(role) + " role");
  }
  return identity;
}

}  // namespace jobgate::gate
