// Secret detection and redaction for jobs.
//
// A SecretScanner holds a catalogue of detectors (well-known credential formats, written
// from each format's public definition, plus a generic `key = value` detector with an
// entropy floor). All detectors are compiled into one RE2::Set, so a string is scanned in
// one linear pass; only detectors that fire are then run alone to find the spans.
//
// Redaction replaces each secret with `[REDACTED:<detector>:<digest>]`, where digest is
// the first 6 hex digits of HMAC-SHA256(marker key, secret): enough to correlate one
// secret across records, never enough to recover it, and not testable against guesses
// by whoever holds the audit trail but not the key. The gate sets the key at start-up
// (SetMarkerKey; the same key on every replica makes markers agree across them); until
// then a random key of the process is used. Redaction records name the path and
// detector, never the value.
//
// Where a job is scanned: every string the job carries. The routing fields (job_id,
// tenant_id, topic), capability, every risk tag, environment, every actor field, labels
// keys and values, args keys and values (recursively, list elements included), and the
// bytes of `payload` whether or not they are text (NUL bytes and invalid UTF-8 do not
// hide a secret). RedactJob rewrites a map key that holds a secret (its value moves to
// the redacted key). The routing fields are rewritten too, but a gate never dispatches a
// job whose routing field holds a secret: see RoutingFieldWithSecret. Markers are never secrets: redacting an
// already redacted job finds nothing more. Args nested deeper than the scanner walks
// (64 levels; decoded jobs cannot get there) fail closed: they count as a finding of the
// pseudo-detector "nesting-too-deep", and RedactJob replaces the whole value.
//
// Thread-safety: a SecretScanner is immutable after construction and safe to share.
// Scanning allocates only for what it finds.
#pragma once

#include <re2/re2.h>
#include <re2/set.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::policy {

namespace v1 = ::jobgate::v1;

struct SecretMatch {
  size_t detector = 0;  // index into SecretScanner::detector_ids()
  size_t begin = 0;     // byte span of the secret in the scanned text
  size_t end = 0;
};

class SecretScanner {
 public:
  // Detector id reported for args nested too deep to scan (see above).
  static constexpr std::string_view kTooDeepDetector = "nesting-too-deep";

  // The built-in catalogue. Built once, on first use; thread-safe.
  static const SecretScanner& Default();

  // Detector ids, e.g. "aws-access-key-id", "github-pat", "generic-secret".
  const std::vector<std::string>& detector_ids() const { return ids_; }
  // Index of a detector id, or -1.
  int FindDetector(std::string_view id) const;

  // True when `text` contains at least one secret.
  bool Contains(std::string_view text) const;

  // Appends the secrets found in `text` to `out`, sorted by position, overlaps merged.
  void Scan(std::string_view text, std::vector<SecretMatch>* out) const;

  // Returns `text` with every secret replaced by its marker; appends one record per
  // secret (path = `path`) to `redactions` when it is not null.
  std::string Redact(std::string_view text, std::string_view path,
                     std::vector<v1::Redaction>* redactions) const;

  // Redacts every scanned field of `job` in place. Returns the number of secrets.
  int RedactJob(v1::Job* job, std::vector<v1::Redaction>* redactions) const;

  // True when any detector finds a secret anywhere in `job`. The cheap question for the
  // job path: builds no paths and stops scanning at the first secret.
  bool ContainsSecret(const v1::Job& job) const;

  // The first field that picks a job's route or identity ("job_id", "tenant_id",
  // "topic") and holds a secret, or empty. Such a field cannot be rewritten without
  // changing where the job goes, so a gate refuses the job instead.
  std::string_view RoutingFieldWithSecret(const v1::Job& job) const;

  // Ids of the detectors that fire anywhere in `job` (sorted, unique); empty: clean.
  std::vector<std::string> DetectorsIn(const v1::Job& job) const;

  // Ids of the detectors named by the redaction markers anywhere in `job` (sorted,
  // unique), wherever DetectorsIn looks: each marker stands for the secret its detector
  // found before the job was scrubbed. Only this catalogue's detectors and
  // kTooDeepDetector count; a policy's path marker ("[REDACTED:path:...]") names none.
  // For judging scrubbed copies (the audit trail) as their raw jobs were judged.
  std::vector<std::string> MarkedDetectorsIn(const v1::Job& job) const;

  // The marker for `secret` found by `detector`: "[REDACTED:github-pat:3f2a9c]".
  static std::string Marker(std::string_view detector, std::string_view secret);

  // Sets the key markers are computed with (at least 16 bytes; shorter keys are
  // refused with false). Call before jobs are scanned: markers made before and after
  // the call do not correlate. Thread-safe; a key once set stays valid for readers.
  static bool SetMarkerKey(std::string_view key);

 private:
  struct Detector;
  SecretScanner();
  // True when the match of detector `d` at `m` (whole match) passes its post-filters.
  bool Accept(const Detector& d, std::string_view whole, std::string_view secret) const;

  std::vector<std::string> ids_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  std::unique_ptr<RE2::Set> set_;
};

// Shannon entropy of `s` in bits per byte.
double ShannonEntropy(std::string_view s);

}  // namespace jobgate::policy
