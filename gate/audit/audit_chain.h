// The audit hash chain (docs/audit.md): every record the gate writes to the AUDIT stream
// carries its chain, its position and the hash of the chain's previous record, so a
// record removed, altered or slipped in shows when the chain is walked
// (gate/audit/audit_verify.h).
//
// One chain per gate process: a random chain id drawn at start, positions from 1. The
// hash of a record covers its chain, position, previous hash, subject and body
// (RecordHash); the headers besides these three are not part of it.
//
// Ownership: AuditChain holds its own state; whoever publishes (gate/nats/nats_bus.h) borrows
// it and must not outlive it.
// Thread-safety: AuditChain is thread-safe. Append holds the chain's lock from stamping
// through sending, so concurrent publishers each get a distinct position and, sending
// over one connection, reach the stream in position order. The free functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"

namespace jobgate::gate {

// Hex digits of a record hash (SHA-256).
inline constexpr size_t kRecordHashHexDigits = 64;

// What the chain headers (and a refill's header and longer msg id) add to a message at
// most: a publisher that checks sizes against the server's max_payload leaves this room.
inline constexpr size_t kChainHeaderReserveBytes = 256;

// The previous hash of position 1: 64 zeros.
const std::string& GenesisPrev();

// Hex SHA-256 over "jobgate-audit-v1\0" chain "\0" seq (decimal) "\0" prev "\0" subject
// "\0" body. Subjects and chain ids hold no NUL byte and the body comes last, so no two
// different tuples hash the same input.
std::string RecordHash(std::string_view chain, uint64_t seq, std::string_view prev,
                       std::string_view subject, std::string_view body);

// 32 random hex digits.
std::string NewChainId();

// A record's place in its chain.
struct ChainStamp {
  std::string chain;
  uint64_t seq = 0;
  std::string prev;  // hash of the record at seq - 1 (GenesisPrev at 1)
  std::string hash;  // this record's RecordHash
};

class AuditChain {
 public:
  // `audited`: the subject patterns of the AUDIT stream (`*` and `>` wildcards); a
  // message on a subject one of them matches is chained, any other is not.
  // `placeholder_subject`: where a position whose record the stream dropped as a
  // duplicate is held (subjects::Prefixes::chain).
  explicit AuditChain(std::vector<std::string> audited,
                      std::string placeholder_subject = "audit.chain",
                      std::string chain_id = NewChainId());

  // Whether a message on `subject` belongs in the chain.
  bool Audited(std::string_view subject) const;

  // Appends a record of `subject` and `body`: stamps the next position (one more than
  // the last, its prev the last record's hash) and calls `send(stamp)` with the chain
  // still held, so records that several threads send over one connection leave, and are
  // stored, in position order; `audit verify` relies on that order to tell a head that
  // retention aged out from a record removed. `send` returns whether the record may have
  // left: false gives the position back (the next record takes it), true keeps it even
  // when the publish later fails. `send` must not use this chain. Returns what `send`
  // returned.
  template <typename Send>
  bool Append(std::string_view subject, std::string_view body, Send&& send) {
    MutexLock lock(&mu_);
    ChainStamp stamp = NextLocked(subject, body);
    if (!send(static_cast<const ChainStamp&>(stamp))) return false;
    seq_ = stamp.seq;
    last_hash_ = std::move(stamp.hash);
    return true;
  }

  // Append with nothing to send: takes the next position and returns it.
  ChainStamp Stamp(std::string_view subject, std::string_view body);

  const std::string& chain_id() const { return chain_; }
  const std::string& placeholder_subject() const { return placeholder_subject_; }
  uint64_t last_seq() const;

 private:
  ChainStamp NextLocked(std::string_view subject, std::string_view body) const REQUIRES(mu_);

  const std::vector<std::string> audited_;
  const std::string placeholder_subject_;
  const std::string chain_;
  mutable Mutex mu_;
  uint64_t seq_ GUARDED_BY(mu_) = 0;
  std::string last_hash_ GUARDED_BY(mu_);
};

}  // namespace jobgate::gate
