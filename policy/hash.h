// SHA-256 through OpenSSL. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace jobgate::policy {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace jobgate::policy
