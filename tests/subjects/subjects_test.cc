#include "subjects/subjects.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/time_util.h>
#include <google/protobuf/wire_format_lite.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

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
  // A body topic is the arrival subject or refused: the job is judged as where it goes.
  ASSERT_TRUE(NormalizeJob("job.a.b", &job).ok());
  EXPECT_EQ(job.topic(), "job.a.b");
  job.set_topic("job.explicit");
  EXPECT_FALSE(NormalizeJob("job.a.b", &job).ok());
  EXPECT_EQ(job.topic(), "job.explicit");  // left as decoded
}

// A field number no jobgate.v1 message uses, as a newer schema would add it.
std::string UnknownField(const std::string& value) {
  std::string field;
  google::protobuf::io::StringOutputStream stream(&field);
  google::protobuf::io::CodedOutputStream coded(&stream);
  google::protobuf::internal::WireFormatLite::WriteString(999, value, &coded);
  coded.Trim();
  return field;
}

TEST(CodecTest, RefusesProtobufFieldsTheSchemaDoesNotKnowAtAnyDepth) {
  v1::Job job;
  job.set_job_id("j1");
  job.mutable_actor()->set_agent_id("a1");
  *job.mutable_submitted_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(1);
  auto* fields = job.mutable_args()->mutable_fields();
  (*fields)["list"].mutable_list_value()->add_values()->mutable_struct_value();
  ASSERT_TRUE(DecodeJob(job.SerializeAsString(), BodyFormat::kProtobuf).ok());

  // Each place a message sits in a Job, with a field it does not know added there.
  std::vector<std::pair<std::string, std::string>> cases;
  {
    v1::Job j = job;
    j.GetReflection()->MutableUnknownFields(&j)->AddLengthDelimited(999, "x");
    cases.emplace_back("job", j.SerializeAsString());
  }
  for (int place = 0; place < 5; ++place) {
    v1::Job j = job;
    google::protobuf::Message* at = nullptr;
    std::string want = "job.args";
    auto& list = *(*j.mutable_args()->mutable_fields())["list"].mutable_list_value();
    switch (place) {
      case 0:
        at = j.mutable_actor(), want = "job.actor";
        break;
      case 1:
        at = j.mutable_submitted_at(), want = "job.submitted_at";
        break;
      case 2:
        at = j.mutable_args();
        break;
      case 3:
        at = &list;
        break;
      case 4:
        at = list.mutable_values(0)->mutable_struct_value();
        break;
    }
    at->GetReflection()->MutableUnknownFields(at)->AddLengthDelimited(999, "x");
    cases.emplace_back(want, j.SerializeAsString());
  }
  cases.emplace_back("job", job.SerializeAsString() + UnknownField("appended"));
  for (const auto& [path, body] : cases) {
    auto decoded = DecodeJob(body, BodyFormat::kProtobuf);
    ASSERT_FALSE(decoded.ok()) << path;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(decoded.status().message().find("(in " + path + ")"), std::string::npos)
        << decoded.status().message();
  }
}

// UnknownFieldsPath looks into every message a Job can hold: this fails when the schema
// gains a message-typed field, until the check covers it too.
TEST(CodecTest, TheUnknownFieldsCheckCoversEveryMessageInAJob) {
  std::set<std::string> reachable;
  std::function<void(const google::protobuf::Descriptor*)> walk =
      [&](const google::protobuf::Descriptor* type) {
        if (!reachable.insert(type->full_name()).second) return;
        for (int i = 0; i < type->field_count(); ++i) {
          if (type->field(i)->message_type() != nullptr) walk(type->field(i)->message_type());
        }
      };
  walk(v1::Job::descriptor());
  EXPECT_EQ(reachable,
            (std::set<std::string>{"jobgate.v1.Job", "jobgate.v1.Job.LabelsEntry",
                                   "jobgate.v1.Actor", "google.protobuf.Struct",
                                   "google.protobuf.Struct.FieldsEntry", "google.protobuf.Value",
                                   "google.protobuf.ListValue", "google.protobuf.Timestamp"}));
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
