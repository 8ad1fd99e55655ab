#include "gate/audit/audit_verify.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <unordered_map>

#include "gate/audit/audit_chain.h"

namespace jobgate::gate {
namespace {

bool IsHex(std::string_view s, size_t digits) {
  return s.size() == digits && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The position in `text`, or 0 when it is not a decimal from 1.
uint64_t ParseSeq(std::string_view text) {
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return 0;
  return value;
}

// "3, 7-9" from sorted numbers.
std::string Ranges(const std::vector<uint64_t>& sorted) {
  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(sorted[i]);
    if (j > i) out += "-" + std::to_string(sorted[j]);
    i = j + 1;
  }
  return out;
}

jobgate::JsonValue NumberList(const std::vector<uint64_t>& values) {
  jobgate::JsonValue list = jobgate::JsonValue::MakeArray();
  for (uint64_t v : values) list.push_back(jobgate::JsonValue(static_cast<int64_t>(v)));
  return list;
}

jobgate::JsonValue LocatedList(const std::vector<ChainReport::Located>& values) {
  jobgate::JsonValue list = jobgate::JsonValue::MakeArray();
  for (const auto& v : values) {
    jobgate::JsonValue item = jobgate::JsonValue::MakeObject();
    if (v.seq != 0) item["seq"] = jobgate::JsonValue(static_cast<int64_t>(v.seq));
    item["stream_seq"] = jobgate::JsonValue(static_cast<int64_t>(v.stream_seq));
    item["why"] = jobgate::JsonValue(v.why);
    list.push_back(std::move(item));
  }
  return list;
}

// One chain's records, by position; several at one position when duplicated.
using Positions = std::map<uint64_t, std::vector<const AuditRecordInfo*>>;

using Genuine = std::map<uint64_t, const AuditRecordInfo*>;

// The genuine record of each position: the one its successor names as prev, else the
// first the stream stored. Counts the records and placeholders, and reports the others
// at a position as altered (same prev, other content) or inserted (not linking).
Genuine ChooseGenuine(const Positions& positions, ChainReport* report) {
  Genuine genuine;
  for (auto it = positions.rbegin(); it != positions.rend(); ++it) {
    const auto& [seq, candidates] = *it;
    report->records += candidates.size();
    for (const AuditRecordInfo* c : candidates) {
      if (!c->placeholder_for.empty()) ++report->placeholders;
    }
    const AuditRecordInfo* chosen = candidates.front();
    if (auto next = genuine.find(seq + 1); next != genuine.end()) {
      for (const AuditRecordInfo* c : candidates) {
        if (c->hash == next->second->prev) {
          chosen = c;
          break;
        }
      }
    }
    genuine[seq] = chosen;
    for (const AuditRecordInfo* c : candidates) {
      // The same hash is the same record (or a placeholder naming exactly it): stored
      // twice, harmless.
      if (c == chosen || c->hash == chosen->hash) continue;
      if (c->prev == chosen->prev) {
        report->altered.push_back({seq, c->stream_seq,
                                   "a second record at this position with other content "
                                   "(the chain links stream seq " +
                                       std::to_string(chosen->stream_seq) + ")"});
      } else {
        report->inserted.push_back(
            {seq, c->stream_seq, "a second record at this position that does not link"});
      }
    }
  }
  return genuine;
}

// The head: the first position held by a record rather than a placeholder. The gate
// sends a chain's records in position order (AuditChain::Append), so retention, which
// removes the stream's oldest messages first, takes positions from the front; only
// placeholders, sent after the batch whose record the stream dropped, arrive late and
// may outlive the positions around them.
Genuine::const_iterator FindHead(const Genuine& genuine) {
  auto head = genuine.begin();
  while (head != genuine.end() && !head->second->placeholder_for.empty()) ++head;
  return head == genuine.end() ? genuine.begin() : head;
}

// Links between neighbours, and holes after the head.
void CheckLinks(const Genuine& genuine, uint64_t head_seq, ChainReport* report) {
  uint64_t expected = head_seq;
  for (const auto& [seq, record] : genuine) {
    for (uint64_t missing = expected; missing < seq; ++missing) report->missing.push_back(missing);
    expected = std::max(expected, seq + 1);
    if (seq == 1 && record->prev != GenesisPrev()) {
      report->altered.push_back({seq, record->stream_seq, "position 1 does not start a chain"});
    }
    if (auto next = genuine.find(seq + 1);
        next != genuine.end() && next->second->prev != record->hash) {
      report->altered.push_back(
          {seq, record->stream_seq,
           "its hash is not the prev of position " + std::to_string(seq + 1)});
    }
  }
}

// The positions before the head: aged out, before the window, or gone.
void AccountBeforeHead(const Genuine& genuine, Genuine::const_iterator head,
                       const AuditWindow& window, uint64_t first_deleted_stream_seq,
                       ChainReport* report) {
  if (head->first <= 1) return;
  const uint64_t head_stream_seq = head->second->stream_seq;
  const bool read_from_start = window.read_first_seq <= window.stream_first_seq;
  if (!read_from_start) {
    report->before_window = head->first - 1;
  } else if (first_deleted_stream_seq == 0 || first_deleted_stream_seq > head_stream_seq) {
    report->aged_out = head->first - 1;
  } else {
    std::vector<uint64_t> gone;
    for (uint64_t s = 1; s < head->first; ++s) {
      if (!genuine.contains(s)) gone.push_back(s);
    }
    report->missing.insert(report->missing.begin(), gone.begin(), gone.end());
  }
}

ChainReport VerifyChain(const std::string& chain, const Positions& positions,
                        const AuditWindow& window, uint64_t first_deleted_stream_seq) {
  ChainReport report;
  report.chain = chain;
  report.first_seq = positions.begin()->first;
  report.last_seq = positions.rbegin()->first;
  const Genuine genuine = ChooseGenuine(positions, &report);
  const auto head = FindHead(genuine);
  CheckLinks(genuine, head->first, &report);
  AccountBeforeHead(genuine, head, window, first_deleted_stream_seq, &report);
  auto by_position = [](const ChainReport::Located& a, const ChainReport::Located& b) {
    return a.seq != b.seq ? a.seq < b.seq : a.stream_seq < b.stream_seq;
  };
  std::sort(report.altered.begin(), report.altered.end(), by_position);
  std::sort(report.inserted.begin(), report.inserted.end(), by_position);
  return report;
}

}  // namespace

void HashRecord(std::string_view body, AuditRecordInfo* info) {
  info->hash.clear();
  const uint64_t seq = ParseSeq(info->seq);
  if (!IsHex(info->chain, 32) || seq == 0 || !IsHex(info->prev, kRecordHashHexDigits)) return;
  if (!info->placeholder_for.empty()) {
    if (body.empty() && IsHex(info->declared_hash, kRecordHashHexDigits)) {
      info->hash = info->declared_hash;
    }
    return;
  }
  info->hash = RecordHash(info->chain, seq, info->prev, info->subject, body);
}

AuditReport VerifyAuditRecords(const std::vector<AuditRecordInfo>& records,
                               const AuditWindow& window) {
  AuditReport report;
  report.window = window;
  report.records = records.size();

  // Deleted stream sequences inside the stretch read.
  uint64_t expected = window.read_first_seq;
  for (const AuditRecordInfo& r : records) {
    for (uint64_t s = std::max(expected, window.stream_first_seq); s < r.stream_seq; ++s) {
      report.deleted_stream_seqs.push_back(s);
    }
    expected = r.stream_seq + 1;
  }
  for (uint64_t s = expected; s <= window.read_last_seq && s >= window.stream_first_seq; ++s) {
    report.deleted_stream_seqs.push_back(s);
  }
  const uint64_t first_deleted =
      report.deleted_stream_seqs.empty() ? 0 : report.deleted_stream_seqs.front();

  std::unordered_map<std::string, Positions> chains;
  std::vector<std::string> order;  // chains in the order first seen
  for (const AuditRecordInfo& r : records) {
    if (r.chain.empty() && r.seq.empty() && r.prev.empty()) {
      report.unchained.push_back({0, r.stream_seq, "no chain position (" + r.subject + ")"});
      continue;
    }
    if (r.hash.empty()) {
      report.unchained.push_back({0, r.stream_seq, "malformed chain headers (" + r.subject + ")"});
      continue;
    }
    auto [it, inserted] = chains.try_emplace(r.chain);
    if (inserted) order.push_back(r.chain);
    it->second[ParseSeq(r.seq)].push_back(&r);
  }
  for (const std::string& chain : order) {
    report.chains.push_back(VerifyChain(chain, chains[chain], window, first_deleted));
  }
  return report;
}

size_t AuditReport::findings() const {
  size_t n = unchained.size() + (deleted_stream_seqs.empty() ? 0 : 1);
  for (const ChainReport& c : chains) {
    n += (c.missing.empty() ? 0 : 1) + c.altered.size() + c.inserted.size();
  }
  return n;
}

bool AuditReport::intact() const { return findings() == 0; }

std::string AuditReport::Text() const {
  std::string out;
  for (const ChainReport& c : chains) {
    out += "chain " + c.chain + ": positions " + std::to_string(c.first_seq) + ".." +
           std::to_string(c.last_seq) + ", " + std::to_string(c.records) +
           " records: " + (c.intact() ? "intact" : "FINDINGS");
    if (c.aged_out > 0) {
      out += " (positions 1.." + std::to_string(c.aged_out) + " aged out by retention)";
    }
    if (c.placeholders > 0) {
      out += " (" + std::to_string(c.placeholders) +
             " position(s) held for records the stream had as duplicates)";
    }
    if (c.before_window > 0) {
      out += " (positions 1.." + std::to_string(c.before_window) + " before the window read)";
    }
    out += "\n";
    if (!c.missing.empty()) out += "  missing: positions " + Ranges(c.missing) + "\n";
    for (const auto& a : c.altered) {
      out += "  altered: position " + std::to_string(a.seq) + " (stream seq " +
             std::to_string(a.stream_seq) + "): " + a.why + "\n";
    }
    for (const auto& i : c.inserted) {
      out += "  inserted: position " + std::to_string(i.seq) + " (stream seq " +
             std::to_string(i.stream_seq) + "): " + i.why + "\n";
    }
  }
  for (const auto& u : unchained) {
    out += "inserted: stream seq " + std::to_string(u.stream_seq) + ": " + u.why + "\n";
  }
  if (!deleted_stream_seqs.empty()) {
    out += "deleted: stream seqs " + Ranges(deleted_stream_seqs) + "\n";
  }
  out += window.stream + ": " + std::to_string(records) + " records, stream seqs " +
         std::to_string(window.read_first_seq) + ".." + std::to_string(window.read_last_seq) +
         ", " + std::to_string(chains.size()) +
         " chain(s): " + (intact() ? "intact" : std::to_string(findings()) + " finding(s)") + "\n";
  return out;
}

jobgate::JsonValue AuditReport::ToJson() const {
  using jobgate::JsonValue;
  JsonValue out = JsonValue::MakeObject();
  out["stream"] = JsonValue(window.stream);
  out["records"] = JsonValue(static_cast<int64_t>(records));
  out["first_stream_seq"] = JsonValue(static_cast<int64_t>(window.read_first_seq));
  out["last_stream_seq"] = JsonValue(static_cast<int64_t>(window.read_last_seq));
  out["intact"] = JsonValue(intact());
  out["findings"] = JsonValue(static_cast<int64_t>(findings()));
  JsonValue list = JsonValue::MakeArray();
  for (const ChainReport& c : chains) {
    JsonValue item = JsonValue::MakeObject();
    item["chain"] = JsonValue(c.chain);
    item["first_seq"] = JsonValue(static_cast<int64_t>(c.first_seq));
    item["last_seq"] = JsonValue(static_cast<int64_t>(c.last_seq));
    item["records"] = JsonValue(static_cast<int64_t>(c.records));
    item["intact"] = JsonValue(c.intact());
    item["aged_out"] = JsonValue(static_cast<int64_t>(c.aged_out));
    item["before_window"] = JsonValue(static_cast<int64_t>(c.before_window));
    item["placeholders"] = JsonValue(static_cast<int64_t>(c.placeholders));
    item["missing"] = NumberList(c.missing);
    item["altered"] = LocatedList(c.altered);
    item["inserted"] = LocatedList(c.inserted);
    list.push_back(std::move(item));
  }
  out["chains"] = std::move(list);
  out["inserted"] = LocatedList(unchained);
  out["deleted_stream_seqs"] = NumberList(deleted_stream_seqs);
  return out;
}

}  // namespace jobgate::gate
