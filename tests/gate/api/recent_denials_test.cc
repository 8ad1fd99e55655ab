#include "gate/core/recent_denials.h"

#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gate/api/activity_api.h"
#include "gate/core/auth.h"
#include "base/hash.h"
#include "subjects/codec.h"
#include "tests/support/fake_bus.h"

namespace jobgate::gate {
namespace {

v1::DecisionRecord Denial(const std::string& job_id) {
  v1::DecisionRecord record;
  record.mutable_decision()->set_decision(v1::DENY);
  record.mutable_decision()->set_matched_rule("no-prod-drop");
  record.mutable_decision()->set_reason("dropping tables is denied");
  record.set_subject("job.db.drop");
  record.set_routed_to("audit.denied.db.drop");
  v1::Job* job = record.mutable_job();
  job->set_job_id(job_id);
  job->set_topic("job.db.drop");
  job->mutable_actor()->set_agent_id("agent-1");
  job->mutable_actor()->set_session_id("s-1");
  (*job->mutable_args()->mutable_fields())["sql"].set_string_value("DROP TABLE users");
  (*job->mutable_labels())["team"] = "data";
  job->set_payload(std::string(1000, 'x'));
  return record;
}

void AddOne(RecentDenials* ring, const std::string& job_id) {
  std::vector<v1::DecisionRecord> batch{RecentDenials::Trimmed(Denial(job_id))};
  ring->Add(&batch);
  EXPECT_TRUE(batch.empty());
}

TEST(RecentDenials, NewestFirstAndLimited) {
  RecentDenials ring(10);
  for (int i = 0; i < 4; ++i) AddOne(&ring, "j" + std::to_string(i));
  auto newest = ring.Newest(10);
  ASSERT_EQ(newest.size(), 4u);
  EXPECT_EQ(newest[0].job().job_id(), "j3");
  EXPECT_EQ(newest[3].job().job_id(), "j0");
  auto two = ring.Newest(2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].job().job_id(), "j3");
  EXPECT_EQ(two[1].job().job_id(), "j2");
}

TEST(RecentDenials, BoundedDropsTheOldest) {
  RecentDenials ring(3);
  std::vector<v1::DecisionRecord> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(RecentDenials::Trimmed(Denial("b" + std::to_string(i))));
  ring.Add(&batch);  // one batch larger than the ring
  AddOne(&ring, "last");
  auto newest = ring.Newest(100);
  ASSERT_EQ(newest.size(), 3u);
  EXPECT_EQ(newest[0].job().job_id(), "last");
  EXPECT_EQ(newest[1].job().job_id(), "b4");
  EXPECT_EQ(newest[2].job().job_id(), "b3");
}

TEST(RecentDenials, TrimmedKeepsWhoAndWhyNotTheContent) {
  const v1::DecisionRecord t = RecentDenials::Trimmed(Denial("j"));
  EXPECT_EQ(t.decision().matched_rule(), "no-prod-drop");
  EXPECT_EQ(t.decision().reason(), "dropping tables is denied");
  EXPECT_EQ(t.subject(), "job.db.drop");
  EXPECT_EQ(t.job().topic(), "job.db.drop");
  EXPECT_EQ(t.job().actor().agent_id(), "agent-1");
  EXPECT_EQ(t.job().actor().session_id(), "s-1");
  EXPECT_FALSE(t.job().has_args());
  EXPECT_TRUE(t.job().labels().empty());
  EXPECT_TRUE(t.job().payload().empty());
}

// The routes: role viewer, the JSON the page reads, the limit.
class ActivityRoutesTest : public ::testing::Test {
 protected:
  static ApiToken Token(const std::string& name, const std::string& secret, uint8_t roles) {
    return ApiToken{name, jobgate::Sha256Hex(secret), roles, {}};
  }
  ActivityRoutesTest()
      : auth_({Token("viewer", "viewer-secret", static_cast<uint8_t>(Role::kViewer))}),
        router_(&auth_, ApiLimits{}, &clock_),
        stats_(&clock_),
        denials_(5) {
    AddActivityRoutes(&router_, &stats_, &denials_);
  }
  ApiResponse Get(const std::string& path, std::map<std::string, std::string> query = {},
                  const std::string& token = "viewer-secret") {
    ApiRequest request{"GET", path, std::move(query), "", "Bearer " + token};
    return router_.Handle(request);
  }

  testing::FakeClock clock_;
  Authenticator auth_;
  ApiRouter router_;
  DecisionStats stats_;
  RecentDenials denials_;
};

TEST_F(ActivityRoutesTest, StatsAnswersTotalsAndSixtyMinutes) {
  DecisionCounts batch;
  batch.Add(v1::ALLOW, 3);
  batch.Add(v1::DENY, 2);
  stats_.Add(batch);
  ApiResponse r = Get("/api/v1/stats");
  ASSERT_EQ(r.status, 200) << r.body;
  google::protobuf::Struct body;
  ASSERT_TRUE(subjects::FromJson(r.body, &body).ok()) << r.body;
  const auto& f = body.fields();
  EXPECT_EQ(f.at("scope").string_value(), "replica");
  EXPECT_EQ(f.at("total").number_value(), 5);
  EXPECT_EQ(f.at("totals").struct_value().fields().at("ALLOW").number_value(), 3);
  EXPECT_EQ(f.at("totals").struct_value().fields().at("DENY").number_value(), 2);
  EXPECT_EQ(f.at("totals").struct_value().fields().at("TERMINATE").number_value(), 0);
  ASSERT_EQ(f.at("minutes").list_value().values_size(), 60);
  const auto& last = f.at("minutes").list_value().values(59).struct_value().fields();
  EXPECT_EQ(last.at("total").number_value(), 5);
  EXPECT_EQ(last.at("counts").struct_value().fields().at("DENY").number_value(), 2);
  EXPECT_NEAR(f.at("per_second_last_hour").number_value(), 5.0 / 3600, 1e-12);
  EXPECT_EQ(Get("/api/v1/stats", {}, "wrong").status, 401);
}

TEST_F(ActivityRoutesTest, DenialsNewestFirstWithLimit) {
  EXPECT_NE(Get("/api/v1/denials").body.find("\"denials\": []"), std::string::npos);
  for (int i = 0; i < 7; ++i) AddOne(&denials_, "d" + std::to_string(i));
  ApiResponse r = Get("/api/v1/denials", {{"limit", "2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  google::protobuf::Struct body;
  ASSERT_TRUE(subjects::FromJson(r.body, &body).ok()) << r.body;
  const auto& list = body.fields().at("denials").list_value();
  ASSERT_EQ(list.values_size(), 2);
  const auto& first = list.values(0).struct_value().fields();
  EXPECT_EQ(first.at("job").struct_value().fields().at("job_id").string_value(), "d6");
  EXPECT_EQ(first.at("decision").struct_value().fields().at("matched_rule").string_value(),
            "no-prod-drop");
  EXPECT_EQ(body.fields().at("capacity").number_value(), 5);
  // Without a limit: the whole ring, which kept the newest five.
  ASSERT_TRUE(subjects::FromJson(Get("/api/v1/denials").body, &body).ok());
  EXPECT_EQ(body.fields().at("denials").list_value().values_size(), 5);
  EXPECT_EQ(Get("/api/v1/denials", {{"limit", "0"}}).status, 400);
  EXPECT_EQ(Get("/api/v1/denials", {{"limit", "ten"}}).status, 400);
  // Over request-reply the limit travels in the body.
  ApiResponse nats = router_.HandleNats("denials", R"({"limit": 1})", "Bearer viewer-secret");
  ASSERT_EQ(nats.status, 200) << nats.body;
  ASSERT_TRUE(subjects::FromJson(nats.body, &body).ok());
  EXPECT_EQ(body.fields().at("denials").list_value().values_size(), 1);
}

}  // namespace
}  // namespace jobgate::gate
