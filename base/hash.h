// SHA-256 through OpenSSL. Pure; thread-safe (each thread reuses its own digest context,
// so hashing on a hot path allocates nothing).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace jobgate {

inline constexpr size_t kSha256Bytes = 32;

// The raw SHA-256 of `data` into `digest`.
void Sha256(std::string_view data, unsigned char digest[kSha256Bytes]);
// The raw SHA-256 of the concatenation of `parts`, without building it.
void Sha256(std::initializer_list<std::string_view> parts, unsigned char digest[kSha256Bytes]);

// Appends `size` bytes as lower-case hex to `out`.
void AppendHex(const unsigned char* bytes, size_t size, std::string* out);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace jobgate
