#include "gate/approvals/approval_list.h"

#include <algorithm>
#include <charconv>

#include "base/hash.h"

namespace jobgate::gate {

bool DecodeApprovalKey(std::string_view hex, std::array<uint8_t, 32>* out) {
  if (hex.size() != 64) return false;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < out->size(); ++i) {
    const int high = nibble(hex[2 * i]);
    const int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    (*out)[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return true;
}

std::string EncodeApprovalKey(const std::array<uint8_t, 32>& key) {
  std::string hex;
  jobgate::AppendHex(key.data(), key.size(), &hex);
  return hex;
}

namespace {
constexpr std::string_view kPageTokenPrefix = "p1.";
}  // namespace

std::string EncodePageToken(const ApprovalListCursor& cursor) {
  std::string token(kPageTokenPrefix);
  token.append(std::to_string(cursor.held_at_ms)).push_back('.');
  token.append(cursor.key);
  return token;
}

Result<ApprovalListCursor> DecodePageToken(std::string_view token) {
  const Status invalid = InvalidArgument("page_token is not one this gate gave out");
  if (token.substr(0, kPageTokenPrefix.size()) != kPageTokenPrefix) return invalid;
  token.remove_prefix(kPageTokenPrefix.size());
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) return invalid;
  ApprovalListCursor cursor;
  const char* const end = token.data() + dot;
  const auto [parsed_to, error] = std::from_chars(token.data(), end, cursor.held_at_ms);
  std::array<uint8_t, 32> binary;
  if (error != std::errc() || parsed_to != end || !DecodeApprovalKey(token.substr(dot + 1), &binary)) {
    return invalid;
  }
  cursor.key.assign(token.substr(dot + 1));
  return cursor;
}

ApprovalPager::ApprovalPager(ApprovalListQuery query) : query_(std::move(query)) {
  heap_.reserve(std::max<size_t>(1, query_.page_size));
}

namespace {
// The list's order: oldest held first, ties by key.
bool HeldBefore(int64_t a_ms, std::string_view a_key, int64_t b_ms, std::string_view b_key) {
  return a_ms != b_ms ? a_ms < b_ms : a_key < b_key;
}
}  // namespace

bool ApprovalPager::Older(const Entry& a, const Entry& b) {
  return HeldBefore(a.held_at_ms, a.key, b.held_at_ms, b.key);
}

bool ApprovalPager::Offer(int64_t held_at_ms, std::string_view key, bool pending) {
  if (pending) ++pending_;
  if (!pending && !query_.include_resolved) return false;
  if (query_.after.has_value() &&
      !HeldBefore(query_.after->held_at_ms, query_.after->key, held_at_ms, key)) {
    return false;  // on an earlier page
  }
  if (heap_.size() >= std::max<size_t>(1, query_.page_size) &&
      !HeldBefore(held_at_ms, key, heap_.front().held_at_ms, heap_.front().key)) {
    more_ = true;  // after the page's newest
    return false;
  }
  offered_.held_at_ms = held_at_ms;
  offered_.key.assign(key);
  return true;
}

void ApprovalPager::Take(v1::PendingApproval record) {
  offered_.record = std::move(record);
  heap_.push_back(std::move(offered_));
  std::push_heap(heap_.begin(), heap_.end(), Older);
  if (heap_.size() > std::max<size_t>(1, query_.page_size)) {
    std::pop_heap(heap_.begin(), heap_.end(), Older);
    heap_.pop_back();
    more_ = true;
  }
}

ApprovalPage ApprovalPager::Finish() && {
  std::sort_heap(heap_.begin(), heap_.end(), Older);
  ApprovalPage page;
  page.pending = pending_;
  if (more_ && !heap_.empty()) {
    page.next = ApprovalListCursor{heap_.back().held_at_ms, heap_.back().key};
  }
  page.records.reserve(heap_.size());
  page.places.reserve(heap_.size());
  for (Entry& entry : heap_) {
    page.records.push_back(std::move(entry.record));
    page.places.push_back(ApprovalListCursor{entry.held_at_ms, std::move(entry.key)});
  }
  return page;
}

}  // namespace jobgate::gate
