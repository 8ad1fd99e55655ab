#include "gate/approvals/approval_sweep.h"

#include <algorithm>
#include <cstring>

#include "base/hash.h"
#include "gate/approvals/approval_wire.h"

namespace jobgate::gate {

using Record = v1::PendingApproval;

void FillDueKeys(std::vector<std::pair<int64_t, std::string>>* due, SweepScan* scan) {
  std::sort(due->begin(), due->end());
  scan->due_keys.reserve(due->size());
  for (auto& [_, key] : *due) scan->due_keys.push_back(std::move(key));
}

bool DueForSweep(Record::Status status, bool released, int64_t expires_at_ms, int64_t now_ms) {
  if (status == Record::PENDING) return expires_at_ms <= now_ms;
  return !released;
}

size_t ApprovalSweepIndex::KeyHash::operator()(const Key& key) const {
  size_t hash;  // the key is a SHA-256: any 8 of its bytes are a good hash
  std::memcpy(&hash, key.data(), sizeof(hash));
  return hash;
}

Status ApprovalSweepIndex::Put(std::string_view key, std::string_view record_bytes) {
  Key binary;
  if (!DecodeApprovalKey(key, &binary)) {
    return InvalidArgument("'" + std::string(key) + "' is not an approval key");
  }
  WireFields fields;
  const bool parsed = ReadWireFields(record_bytes, &fields);
  auto it = entries_.find(binary);
  if (it != entries_.end()) {
    if (it->second.pending) --pending_;
    entries_.erase(it);
  }
  if (!parsed)
    return InvalidArgument("the value under key " + std::string(key) +
                           " is not an approval record");
  const bool pending = fields.status == Record::PENDING;
  if (!pending && fields.released) return Status::Ok();  // finished: nothing left to sweep
  entries_.emplace(binary, Entry{ToMillis(fields.expires_at_seconds, fields.expires_at_nanos),
                                 ToMillis(fields.held_at_seconds, fields.held_at_nanos), pending});
  if (pending) ++pending_;
  return Status::Ok();
}

void ApprovalSweepIndex::Erase(std::string_view key) {
  Key binary;
  if (!DecodeApprovalKey(key, &binary)) return;
  auto it = entries_.find(binary);
  if (it == entries_.end()) return;
  if (it->second.pending) --pending_;
  entries_.erase(it);
}

SweepScan ApprovalSweepIndex::Scan(int64_t now_ms) const {
  SweepScan scan;
  scan.pending = pending_;
  std::vector<std::pair<int64_t, std::string>> due;
  for (const auto& [key, entry] : entries_) {
    const Record::Status status = entry.pending ? Record::PENDING : Record::APPROVED;
    if (DueForSweep(status, /*released=*/false, entry.expires_at_ms, now_ms)) {
      due.emplace_back(entry.expires_at_ms, EncodeApprovalKey(key));
    }
  }
  FillDueKeys(&due, &scan);
  return scan;
}

void ApprovalSweepIndex::OfferPending(ApprovalPager* pager) const {
  std::string hex;  // reused: one allocation for the whole index
  for (const auto& [key, entry] : entries_) {
    if (!entry.pending) continue;
    hex.clear();
    jobgate::AppendHex(key.data(), key.size(), &hex);
    if (pager->Offer(entry.held_at_ms, hex, /*pending=*/true)) pager->Take(Record());
  }
}

}  // namespace jobgate::gate
