#include "subjects/subjects.h"

#include <gtest/gtest.h>

#include "subjects/codec.h"

namespace jobgate::subjects {
namespace {

TEST(RestOfTest, StripsJobPrefix) {
  EXPECT_EQ(RestOf("job.db.migrate", "job"), "db.migrate");
  EXPECT_EQ(Join("worker", RestOf("job.db.migrate", "job")), "worker.db.migrate");
}

TEST(RestOfTest, MultiTokenPrefix) {
  EXPECT_EQ(RestOf("acme.jobs.db.migrate", "acme.jobs"), "db.migrate");
}

TEST(RestOfTest, OutsidePrefixDropsFirstToken) {
  EXPECT_EQ(RestOf("other.db.migrate", "job"), "db.migrate");
  EXPECT_EQ(RestOf("jobs.x", "job"), "x");  // "jobs" is not the "job" prefix
}

TEST(RestOfTest, SingleToken) {
  EXPECT_EQ(RestOf("job", "job"), "");
  EXPECT_EQ(Join("worker", ""), "worker");
}

TEST(PublishSubjectTest, Validity) {
  EXPECT_TRUE(IsValidPublishSubject("worker.db.migrate"));
  EXPECT_FALSE(IsValidPublishSubject(""));
  EXPECT_FALSE(IsValidPublishSubject("a..b"));
  EXPECT_FALSE(IsValidPublishSubject("a.b."));
  EXPECT_FALSE(IsValidPublishSubject("a.*"));
  EXPECT_FALSE(IsValidPublishSubject("a.>"));
  EXPECT_FALSE(IsValidPublishSubject("a b"));
}

TEST(CodecTest, DecodesJsonAndProtobuf) {
  auto from_json = DecodeJob(R"({"job_id":"j1","topic":"job.x","risk_tags":["a"],
                                 "args":{"n":3,"env":{"TOKEN":"t"}}})",
                             BodyFormat::kAuto);
  ASSERT_TRUE(from_json.ok()) << from_json.status().message();
  EXPECT_EQ(from_json->job_id(), "j1");
  EXPECT_EQ(from_json->args().fields().at("n").number_value(), 3);

  const std::string wire = from_json->SerializeAsString();
  auto from_proto = DecodeJob(wire, BodyFormat::kAuto);
  ASSERT_TRUE(from_proto.ok());
  EXPECT_EQ(from_proto->job_id(), "j1");
}

TEST(CodecTest, AcceptsCamelCaseToo) {
  auto job = DecodeJob(R"({"jobId":"j1","tenantId":"t"})", BodyFormat::kJson);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->tenant_id(), "t");
}

TEST(CodecTest, RefusesUnknownFieldsAndGarbage) {
  EXPECT_FALSE(DecodeJob(R"({"job_id":"j1","risk_tag":["x"]})", BodyFormat::kAuto).ok());
  EXPECT_FALSE(DecodeJob("{not json", BodyFormat::kAuto).ok());
  EXPECT_FALSE(DecodeJob(std::string("\xff\xff\xff\xff", 4), BodyFormat::kProtobuf).ok());
}

TEST(CodecTest, NormalizeFillsDefaultsAndRequiresJobId) {
  v1::Job job;
  EXPECT_FALSE(NormalizeJob("job.a.b", &job).ok());
  job.set_job_id("j");
  ASSERT_TRUE(NormalizeJob("job.a.b", &job).ok());
  EXPECT_EQ(job.tenant_id(), "default");
  EXPECT_EQ(job.topic(), "job.a.b");
  job.set_topic("job.explicit");
  ASSERT_TRUE(NormalizeJob("job.a.b", &job).ok());
  EXPECT_EQ(job.topic(), "job.explicit");
}

TEST(CodecTest, ContentType) {
  EXPECT_EQ(FormatFromContentType("application/json"), BodyFormat::kJson);
  EXPECT_EQ(FormatFromContentType("application/protobuf"), BodyFormat::kProtobuf);
  EXPECT_EQ(FormatFromContentType(""), BodyFormat::kAuto);
}

TEST(CodecTest, DecisionJsonPrintsEveryScalar) {
  v1::Decision d;
  d.set_decision(v1::ALLOW);
  const std::string json = DecisionToJson(d);
  EXPECT_NE(json.find(R"("matched_rule":"")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("decision":"ALLOW")"), std::string::npos) << json;
  EXPECT_EQ(json.find("shadow"), std::string::npos) << json;
}

}  // namespace
}  // namespace jobgate::subjects
