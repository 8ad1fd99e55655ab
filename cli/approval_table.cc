#include "cli/approval_table.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "policy/policy.h"
#include "subjects/codec.h"

namespace jobgate::gate {

namespace {

using google::protobuf::util::TimeUtil;

// Characters as a terminal shows them: UTF-8 continuation bytes take no column.
size_t Columns(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// `text` cut to `limit` columns, ending in "…" when cut (never inside a UTF-8 sequence).
std::string Clip(const std::string& text, size_t limit) {
  if (Columns(text) <= limit) return text;
  size_t columns = 0;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (columns == limit - 1) break;
      ++columns;
    }
  }
  return text.substr(0, i) + "…";
}

int64_t Seconds(const google::protobuf::Timestamp& t) { return t.seconds(); }

int64_t NowSeconds(std::chrono::system_clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
}

std::string Since(const google::protobuf::Timestamp& t, int64_t now) {
  return t.seconds() == 0 ? "-" : ShortDuration(now - Seconds(t));
}

std::string Until(const google::protobuf::Timestamp& t, int64_t now) {
  if (t.seconds() == 0) return "-";
  return Seconds(t) <= now ? "expired" : ShortDuration(Seconds(t) - now);
}

std::string When(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 && t.nanos() == 0 ? "-" : TimeUtil::ToString(t);
}

std::string StatusName(const v1::PendingApproval& a) {
  return v1::PendingApproval::Status_Name(a.status());
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : Printable(text); }

}  // namespace

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string ShortDuration(int64_t seconds) {
  const int64_t s = std::max<int64_t>(seconds, 0);
  const int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
  if (d > 0) return std::to_string(d) + "d " + std::to_string(h) + "h";
  if (h > 0) return std::to_string(h) + "h " + std::to_string(m) + "m";
  if (m > 0) return std::to_string(m) + "m " + std::to_string(s % 60) + "s";
  return std::to_string(s) + "s";
}

std::string ApprovalTable(const v1::ApprovalList& list, bool with_status,
                          std::chrono::system_clock::time_point now) {
  const int64_t t = NowSeconds(now);
  std::vector<std::string> header = {"JOB ID", "TOPIC", "AGENT",    "OWNER",     "RULE",
                                     "ROLE",   "RISK",  "HELD FOR", "EXPIRES IN"};
  std::vector<size_t> limits = {36, 40, 24, 20, 32, 16, 4, 10, 10};
  if (with_status) {
    header.insert(header.end(), {"STATUS", "BY"});
    limits.insert(limits.end(), {8, 20});
  }
  std::vector<std::vector<std::string>> rows = {header};
  for (const auto& a : list.approvals()) {
    const auto& job = a.job();
    const auto& decision = a.decision();
    std::vector<std::string> row = {
        Printable(job.job_id()),
        Printable(job.topic().empty() ? a.subject() : job.topic()),
        OrDash(job.actor().agent_id()),
        OrDash(job.actor().owner()),
        OrDash(decision.matched_rule()),
        OrDash(decision.approver_role()),
        std::to_string(decision.risk_score()),
        Since(a.approval().held_at(), t),
        a.status() == v1::PendingApproval::PENDING ? Until(a.approval().expires_at(), t) : "-"};
    if (with_status) {
      row.push_back(StatusName(a));
      row.push_back(OrDash(a.approval().approver()));
    }
    for (size_t i = 0; i < row.size(); ++i) row[i] = Clip(row[i], limits[i]);
    rows.push_back(std::move(row));
  }
  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Columns(row[i]));
  }
  std::ostringstream out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - Columns(row[i]) + 2, ' ');
    }
    out << line << "\n";
  }
  out << list.pending() << (list.pending() == 1 ? " job" : " jobs") << " pending";
  if (list.approvals().empty()) out << "; none on this page";
  out << "\n";
  if (!list.next_page_token().empty()) {
    out << "more: --page-token " << Printable(list.next_page_token()) << "\n";
  }
  return out.str();
}

std::string ApprovalDetail(const v1::PendingApproval& a,
                           std::chrono::system_clock::time_point now) {
  const int64_t t = NowSeconds(now);
  const auto& job = a.job();
  const auto& d = a.decision();
  const auto& binding = a.approval();
  std::ostringstream out;
  auto field = [&out](const char* name, const std::string& value) {
    out << "  " << name
        << std::string(16 - std::min<size_t>(15, std::string_view(name).size()), ' ') << value
        << "\n";
  };
  out << "Job " << Printable(job.job_id()) << " (" << StatusName(a) << ")\n";
  field("topic", OrDash(job.topic().empty() ? a.subject() : job.topic()));
  field("tenant", OrDash(job.tenant_id()));
  field("environment", OrDash(job.environment()));
  field("agent", OrDash(job.actor().agent_id()));
  field("session", OrDash(job.actor().session_id()));
  field("owner", OrDash(job.actor().owner()));
  if (!job.capability().empty()) field("capability", Printable(job.capability()));
  if (job.risk_tags_size() > 0) {
    std::string tags;
    for (const auto& tag : job.risk_tags()) tags += (tags.empty() ? "" : ", ") + Printable(tag);
    field("risk tags", tags);
  }
  out << "Arguments\n";
  if (job.has_args() && job.args().fields_size() > 0) {
    std::istringstream args(subjects::ToJson(job.args(), /*pretty=*/true));
    for (std::string line; std::getline(args, line);) out << "  " << Printable(line) << "\n";
  } else {
    out << "  (none)\n";
  }
  out << "Why it is held\n";
  field("decision", std::string(policy::VerdictName(d.decision())));
  field("rule", OrDash(d.matched_rule()));
  field("reason", OrDash(d.reason()));
  std::string matched;
  for (const auto& rule : d.matched_rules())
    matched += (matched.empty() ? "" : ", ") + Printable(rule);
  field("matched rules", matched.empty() ? "-" : matched);
  field("risk score", std::to_string(d.risk_score()));
  field("approver role", d.approver_role().empty() ? "any approver" : Printable(d.approver_role()));
  field("snapshot", OrDash(binding.held_snapshot()) +
                        (binding.held_snapshot_hash().empty()
                             ? ""
                             : " (" + Printable(binding.held_snapshot_hash()) + ")"));
  out << "Binding\n";
  field("digest", OrDash(binding.job_digest()));
  field("held at", When(binding.held_at()) + " (" + Since(binding.held_at(), t) + " ago)");
  field("expires at",
        When(binding.expires_at()) + (a.status() == v1::PendingApproval::PENDING
                                          ? " (in " + Until(binding.expires_at(), t) + ")"
                                          : ""));
  if (a.status() != v1::PendingApproval::PENDING) {
    out << "Resolution\n";
    field("outcome", StatusName(a));
    field("by", OrDash(binding.approver()));
    field("at", When(binding.resolved_at()));
    field("reason", OrDash(binding.reason()));
  }
  return out.str();
}

}  // namespace jobgate::gate
