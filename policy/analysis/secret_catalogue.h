// The secret scanner's catalogue: one detector per credential format, and the judgments
// that keep a match from being a secret (documented examples, placeholders, references
// to where a secret is kept, hash-like values).
//
// Internal to policy/analysis (secrets.cc builds SecretScanner from it). Constant data
// and pure functions; safe from any number of threads.
#pragma once

#include <span>
#include <string_view>

namespace jobgate::policy::analysis {

// One catalogue entry. Patterns follow each format's public definition: the vendor's
// documented prefix and length where there is one. RE2 syntax; linear time.
struct DetectorSpec {
  const char* id;
  const char* pattern;
  int secret_group;
  double min_entropy;
  bool skip_hash_like;
};

// Every detector, most specific first: the generic detector is last.
std::span<const DetectorSpec> DetectorCatalogue();

// A documented example value (AWS's AKIAIOSFODNN7EXAMPLE, jwt.io's token): never a secret.
bool IsExampleValue(std::string_view v);

// Placeholders: template variables, angle-bracket hints, stop words, markers.
bool IsPlaceholder(std::string_view v);

// References to a secret rather than the secret itself: file paths, ARNs, secret-store
// URIs and paths (Vault, AWS/GCP/Azure secret managers, 1Password, SOPS), environment
// variable names, dotted config lookups, and code that fetches a value. `v` is not empty.
bool IsReference(std::string_view v);

// UUIDs and bare SHA-1 / SHA-256 hex digests (git object ids, checksums).
bool IsHashLike(std::string_view v);

}  // namespace jobgate::policy::analysis
