// Walks the audit hash chains (gate/audit/audit_chain.h) of a stretch of the AUDIT stream and
// classifies what it finds (docs/audit.md, "Verifying"):
//   - missing: positions absent between a chain's head (its first record that is not a
//     placeholder) and its last record, or before its head when the stream shows
//     deletions before the head;
//   - retention: positions before the head absent when the read began at the stream's
//     first sequence and no sequence before the head was deleted (the limits aged them
//     out; not a finding). The gate stores a chain's records in position order
//     (AuditChain::Append); only placeholders arrive late;
//   - altered: a record whose hash is not what its successor names as prev, or a second
//     record at a position with the same prev and other content (a republication);
//   - inserted: a record with no valid chain position, or a second record at a position
//     that does not even claim the first one's prev;
//   - deleted: stream sequences absent inside the stretch read (messages deleted).
// Pure: takes the records as read, returns the report. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"

namespace jobgate::gate {

// What the verifier needs of one record of the stream.
struct AuditRecordInfo {
  uint64_t stream_seq = 0;
  std::string subject;
  // The chain headers as found ("" when absent).
  std::string chain;
  std::string seq;
  std::string prev;
  // A placeholder (docs/audit.md): the Nats-Msg-Id of the record it stands for, and that
  // record's hash as it declares (Jobgate-Chain-Refill, Jobgate-Chain-Hash).
  std::string placeholder_for;
  std::string declared_hash;
  // RecordHash(chain, seq, prev, subject, body) when the headers are well formed; a
  // placeholder's declared hash.
  std::string hash;
};

// Fills `info`'s hash from the body when its chain headers are well formed (chain: 32 hex
// digits, seq: decimal from 1, prev: 64 hex digits; a placeholder's declared hash: 64 hex
// digits, its body empty); leaves it empty otherwise.
void HashRecord(std::string_view body, AuditRecordInfo* info);

// Where the stretch read sits in the stream.
struct AuditWindow {
  std::string stream = "AUDIT";
  uint64_t stream_first_seq = 0;  // the stream's first sequence when read
  uint64_t stream_last_seq = 0;
  uint64_t read_first_seq = 0;    // first sequence the read asked for
  uint64_t read_last_seq = 0;     // last sequence the read went through
};

struct ChainReport {
  std::string chain;
  uint64_t first_seq = 0;        // first and last positions seen
  uint64_t last_seq = 0;
  uint64_t records = 0;
  uint64_t aged_out = 0;         // positions 1..aged_out left by retention
  uint64_t before_window = 0;    // positions 1..before_window before the stretch read
  uint64_t placeholders = 0;     // positions held for records dropped as duplicates
  std::vector<uint64_t> missing;  // positions
  struct Located {
    uint64_t seq = 0;            // chain position
    uint64_t stream_seq = 0;
    std::string why;
  };
  std::vector<Located> altered;
  std::vector<Located> inserted;  // duplicates claiming a position of this chain
  bool intact() const { return missing.empty() && altered.empty() && inserted.empty(); }
};

struct AuditReport {
  AuditWindow window;
  uint64_t records = 0;
  std::vector<ChainReport> chains;
  // Records with no valid chain position: stream sequence and why.
  std::vector<ChainReport::Located> unchained;
  std::vector<uint64_t> deleted_stream_seqs;

  bool intact() const;
  size_t findings() const;
  std::string Text() const;
  jobgate::JsonValue ToJson() const;
};

// Classifies `records` (in stream order, as read from `window`).
AuditReport VerifyAuditRecords(const std::vector<AuditRecordInfo>& records,
                               const AuditWindow& window);

}  // namespace jobgate::gate
