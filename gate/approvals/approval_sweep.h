// What an approvals sweep acts on: the records due (pending past their expiry, or
// resolved and not yet released), kept as a small index from the bucket's change log.
// Pure; ApprovalSweepIndex is thread-compatible (its owner serialises calls).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "gate/approvals/approval_list.h"
#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::gate {

// What a sweep must act on (ApprovalStore::ScanForSweep).
struct SweepScan {
  // Store keys (ApprovalKey) of every PENDING record whose expires_at is at or before the
  // scan's `now`, and of every resolved record not yet released; soonest expiry first.
  std::vector<std::string> due_keys;
  int64_t pending = 0;  // PENDING records, the due ones among them
};

// Moves the keys of `due`, (expires_at_ms, key) pairs, into scan->due_keys: soonest
// expiry first, ties by key, so a scan's order is total.
void FillDueKeys(std::vector<std::pair<int64_t, std::string>>* due, SweepScan* scan);

// Whether a record with these fields is one a sweep at `now_ms` must act on.
bool DueForSweep(v1::PendingApproval::Status status, bool released, int64_t expires_at_ms,
                 int64_t now_ms);

// The part of an approvals bucket a sweep needs, kept from the bucket's change log: for
// each record that is PENDING or resolved but not released, its key, held_at and
// expires_at, and the count of PENDING records. Released records leave it, so it grows
// with what is pending, not with every approval ever held (about 100 bytes per entry).
// Reads only the few fields it needs from a record's bytes, never the job. The list of
// pending approvals is paged from it too (OfferPending).
// Thread-safety: none; the owner serialises calls.
class ApprovalSweepIndex {
 public:
  // Applies the newest value of `key` (a PendingApproval's serialized bytes).
  // kInvalidArgument (and the key leaves the index) when the key is not an ApprovalKey or
  // the bytes are not a record.
  Status Put(std::string_view key, std::string_view record_bytes);
  // The key was deleted or purged.
  void Erase(std::string_view key);
  SweepScan Scan(int64_t now_ms) const;
  // Offers the place of every PENDING entry to `pager`, with an empty record for each it
  // takes: the caller reads the records of the page's places.
  void OfferPending(ApprovalPager* pager) const;
  int64_t pending() const { return pending_; }
  size_t size() const { return entries_.size(); }

 private:
  using Key = std::array<uint8_t, 32>;  // the SHA-256 an ApprovalKey spells in hex
  struct KeyHash {
    size_t operator()(const Key& key) const;
  };
  struct Entry {
    int64_t expires_at_ms = 0;
    int64_t held_at_ms = 0;
    bool pending = false;  // else resolved, not yet released
  };
  std::unordered_map<Key, Entry, KeyHash> entries_;
  int64_t pending_ = 0;
};

}  // namespace jobgate::gate
