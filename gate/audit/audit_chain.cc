#include "gate/audit/audit_chain.h"

#include <openssl/rand.h>

#include <charconv>
#include <chrono>

#include "base/hash.h"
#include "policy/compile/subject_pattern.h"

namespace jobgate::gate {

const std::string& GenesisPrev() {
  static const std::string kGenesis(kRecordHashHexDigits, '0');
  return kGenesis;
}

std::string RecordHash(std::string_view chain, uint64_t seq, std::string_view prev,
                       std::string_view subject, std::string_view body) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), seq).ptr;
  const std::string_view nul("\0", 1);
  unsigned char digest[jobgate::kSha256Bytes];
  jobgate::Sha256({std::string_view("jobgate-audit-v1\0", 17), chain, nul,
                  std::string_view(digits, static_cast<size_t>(end - digits)), nul, prev, nul,
                  subject, nul, body},
                 digest);
  std::string hex;
  hex.reserve(kRecordHashHexDigits);
  jobgate::AppendHex(digest, sizeof(digest), &hex);
  return hex;
}

std::string NewChainId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // No entropy from OpenSSL: fall back on the clock and address; the id only has to
    // differ between processes.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    for (size_t i = 0; i < sizeof(bytes); ++i) bytes[i] = static_cast<unsigned char>(now >> (i % 8 * 8));
  }
  std::string hex;
  jobgate::AppendHex(bytes, sizeof(bytes), &hex);
  return hex;
}

AuditChain::AuditChain(std::vector<std::string> audited, std::string placeholder_subject,
                       std::string chain_id)
    : audited_(std::move(audited)),
      placeholder_subject_(std::move(placeholder_subject)),
      chain_(std::move(chain_id)),
      last_hash_(GenesisPrev()) {}

bool AuditChain::Audited(std::string_view subject) const {
  thread_local std::vector<std::string_view> tokens;
  policy::TokenizeSubject(subject, &tokens);
  for (const std::string& pattern : audited_) {
    if (policy::SubjectMatches(pattern, tokens)) return true;
  }
  return false;
}

ChainStamp AuditChain::NextLocked(std::string_view subject, std::string_view body) const {
  ChainStamp stamp;
  stamp.chain = chain_;
  stamp.seq = seq_ + 1;
  stamp.prev = last_hash_;
  stamp.hash = RecordHash(chain_, stamp.seq, stamp.prev, subject, body);
  return stamp;
}

ChainStamp AuditChain::Stamp(std::string_view subject, std::string_view body) {
  ChainStamp out;
  Append(subject, body, [&out](const ChainStamp& stamp) {
    out = stamp;
    return true;
  });
  return out;
}

uint64_t AuditChain::last_seq() const {
  MutexLock lock(&mu_);
  return seq_;
}

}  // namespace jobgate::gate
