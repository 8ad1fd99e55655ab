// Listing approvals a page at a time: the order (oldest held first, ties by key), the
// API's page tokens and the pager that keeps one page out of approvals offered in any
// order; and the approval key's hex spelling as bytes.
// Pure and thread-compatible: one pager per List call.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::gate {

// An ApprovalKey's 64 hex digits as its 32 bytes; false when `hex` is not that.
bool DecodeApprovalKey(std::string_view hex, std::array<uint8_t, 32>* out);
// The inverse.
std::string EncodeApprovalKey(const std::array<uint8_t, 32>& key);

// Approvals are listed oldest held first, ties by key. A record keeps its place for life
// (held_at never changes), so paging while approvals come and go neither repeats nor
// skips one that stays. A cursor is the place of the last approval a page returned.
struct ApprovalListCursor {
  int64_t held_at_ms = 0;
  std::string key;  // an ApprovalKey
};

// The API's page_token: opaque to callers, checked when it comes back.
std::string EncodePageToken(const ApprovalListCursor& cursor);
// kInvalidArgument for a token this gate did not give out.
Result<ApprovalListCursor> DecodePageToken(std::string_view token);

struct ApprovalListQuery {
  static constexpr size_t kDefaultPageSize = 100;
  static constexpr size_t kMaxPageSize = 1000;

  bool include_resolved = false;
  size_t page_size = kDefaultPageSize;      // at least 1
  std::optional<ApprovalListCursor> after;  // start after this place; none: from the oldest
};

struct ApprovalPage {
  std::vector<v1::PendingApproval> records;  // oldest held first, revisions set
  std::vector<ApprovalListCursor> places;    // records[i]'s place
  int64_t pending = 0;                       // every PENDING record in the store
  std::optional<ApprovalListCursor> next;    // set when records follow this page
};

// Picks one page out of approvals offered in any order, keeping at most page_size
// records: a list of 100,000 approvals costs a page's memory, and only the records that
// make the page (so far) are parsed. Thread-safety: none; one per List call.
class ApprovalPager {
 public:
  explicit ApprovalPager(ApprovalListQuery query);

  // Counts an approval (every one in the store must be offered once). Returns true when
  // its record belongs on the page as things stand: the caller then hands it over with
  // Take before the next Offer (or skips it, if the record cannot be read after all).
  bool Offer(int64_t held_at_ms, std::string_view key, bool pending);
  void Take(v1::PendingApproval record);
  // The page, sorted.
  ApprovalPage Finish() &&;

 private:
  struct Entry {
    int64_t held_at_ms;
    std::string key;
    v1::PendingApproval record;
  };
  // Orders the heap with the newest (the first to drop out) on top.
  static bool Older(const Entry& a, const Entry& b);

  const ApprovalListQuery query_;
  std::vector<Entry> heap_;  // at most page_size; a max-heap by Older
  Entry offered_;            // the place of the last Offer that returned true
  int64_t pending_ = 0;
  bool more_ = false;  // an approval after this page's last one was offered
};

}  // namespace jobgate::gate
