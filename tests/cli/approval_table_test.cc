#include "cli/approval_table.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace jobgate::gate {
namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

v1::PendingApproval Held(const std::string& id, const std::string& owner) {
  v1::PendingApproval a;
  a.set_status(v1::PendingApproval::PENDING);
  a.set_subject("job.db.migrate");
  a.mutable_job()->set_job_id(id);
  a.mutable_job()->set_topic("job.db.migrate");
  a.mutable_job()->mutable_actor()->set_owner(owner);
  a.mutable_job()->mutable_actor()->set_agent_id("agent-7");
  a.mutable_decision()->set_decision(v1::REQUIRE_APPROVAL);
  a.mutable_decision()->set_matched_rule("prod-db");
  a.mutable_decision()->add_matched_rules("prod-db");
  a.mutable_decision()->add_matched_rules("constrain-prod");
  a.mutable_decision()->set_reason("Prod database changes need a DBA");
  a.mutable_decision()->set_approver_role("dba");
  a.mutable_decision()->set_risk_score(80);
  a.mutable_approval()->set_job_digest("sha256:abc");
  a.mutable_approval()->set_held_snapshot("v7");
  a.mutable_approval()->mutable_held_at()->set_seconds(1'800'000'000 - 125);
  a.mutable_approval()->mutable_expires_at()->set_seconds(1'800'000'000 + 3 * 3600 + 60);
  return a;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(ApprovalTable, ColumnsAlignAndTheFooterCounts) {
  v1::ApprovalList list;
  *list.add_approvals() = Held("migrate-1", "bob");
  *list.add_approvals() = Held("a-much-longer-job-id-42", "alice");
  list.set_pending(7);
  list.set_next_page_token("p1.2");
  const auto lines = Lines(ApprovalTable(list, /*with_status=*/false, kNow));
  ASSERT_EQ(lines.size(), 5u);
  const size_t topic = lines[0].find("TOPIC");
  ASSERT_NE(topic, std::string::npos);
  EXPECT_EQ(lines[1].find("job.db.migrate"), topic);
  EXPECT_EQ(lines[2].find("job.db.migrate"), topic);
  EXPECT_EQ(lines[1].find("bob"), lines[0].find("OWNER"));
  EXPECT_NE(lines[1].find("2m 5s"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("3h 1m"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[3], "7 jobs pending");
  EXPECT_EQ(lines[4], "more: --page-token p1.2");
}

TEST(ApprovalTable, JobContentCannotDriveTheTerminal) {
  v1::ApprovalList list;
  *list.add_approvals() = Held("evil\x1b[2J\nfake-row", "o\rwner");
  const std::string table = ApprovalTable(list, false, kNow);
  EXPECT_EQ(table.find('\x1b'), std::string::npos);
  EXPECT_EQ(table.find('\r'), std::string::npos);
  EXPECT_NE(table.find("evil\\x1b[2J\\nfake-row"), std::string::npos) << table;
  EXPECT_EQ(Lines(table).size(), 3u);  // header, one row, footer
}

TEST(ApprovalTable, LongCellsAreClipped) {
  v1::ApprovalList list;
  *list.add_approvals() = Held(std::string(100, 'x'), "bob");
  const auto lines = Lines(ApprovalTable(list, false, kNow));
  EXPECT_NE(lines[1].find(std::string(35, 'x') + "…"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[1].find(std::string(36, 'x')), std::string::npos);
}

TEST(ApprovalTable, StatusColumnsWithResolvedOnes) {
  v1::ApprovalList list;
  auto* a = list.add_approvals();
  *a = Held("m-1", "bob");
  a->set_status(v1::PendingApproval::APPROVED);
  a->mutable_approval()->set_approver("dana");
  const auto lines = Lines(ApprovalTable(list, /*with_status=*/true, kNow));
  EXPECT_NE(lines[0].find("STATUS"), std::string::npos);
  EXPECT_NE(lines[1].find("APPROVED"), std::string::npos);
  EXPECT_NE(lines[1].find("dana"), std::string::npos);
}

TEST(ApprovalDetail, ExplainsTheDecisionAndTheBinding) {
  v1::PendingApproval a = Held("migrate-1", "bob");
  (*a.mutable_job()->mutable_args()->mutable_fields())["sql"].set_string_value(
      "DROP TABLE users;\x1b]0;owned\x07");
  const std::string text = ApprovalDetail(a, kNow);
  for (const char* want :
       {"Job migrate-1 (PENDING)", "REQUIRE_APPROVAL", "prod-db, constrain-prod",
        "Prod database changes need a DBA", "risk score      80", "approver role   dba",
        "digest          sha256:abc", "2m 5s ago", "in 3h 1m", "DROP TABLE users;"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  EXPECT_EQ(text.find("Resolution"), std::string::npos);
}

TEST(ApprovalDetail, AResolvedOneSaysByWhomAndWhy) {
  v1::PendingApproval a = Held("migrate-1", "bob");
  a.set_status(v1::PendingApproval::REJECTED);
  a.mutable_approval()->set_approver("dana");
  a.mutable_approval()->set_reason("not during the freeze");
  const std::string text = ApprovalDetail(a, kNow);
  EXPECT_NE(text.find("Resolution"), std::string::npos) << text;
  EXPECT_NE(text.find("by              dana"), std::string::npos) << text;
  EXPECT_NE(text.find("not during the freeze"), std::string::npos) << text;
}

}  // namespace
}  // namespace jobgate::gate
