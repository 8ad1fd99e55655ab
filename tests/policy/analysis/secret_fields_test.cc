// Where secrets are looked for: every string a job carries. The schema is walked by
// reflection, so a string field added to Job (or to a message inside it) is tested here
// without anyone listing it, and a message type the walk does not know fails the test.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>

#include "policy/analysis/secrets.h"

namespace jobgate::policy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// A token assembled at run time (the repository carries no secret literals).
std::string Token(char fill) { return "ghp_" + std::string(18, fill) + std::string(18, 'Q'); }

// Fields whose value picks the job's route or identity: refused, never rewritten.
const std::set<std::string> kRouting = {"job_id", "tenant_id", "topic"};

// One way to put `secret` into a string-holding spot of a Job.
struct Spot {
  std::string name;
  std::function<void(v1::Job*, const std::string&)> plant;
};

// Every string spot reachable from `descriptor` (prefix: how to get there).
void CollectSpots(const Descriptor* descriptor, const std::string& prefix,
                  std::function<Message*(v1::Job*)> reach, std::vector<Spot>* out) {
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* f = descriptor->field(i);
    const std::string name = prefix + f->name();
    if (f->is_map()) {
      const FieldDescriptor* key = f->message_type()->map_key();
      const FieldDescriptor* value = f->message_type()->map_value();
      ASSERT_EQ(key->type(), FieldDescriptor::TYPE_STRING) << name;
      for (bool in_key : {true, false}) {
        out->push_back({name + (in_key ? "{key}" : "{value}"),
                        [reach, f, key, value, in_key](v1::Job* job, const std::string& s) {
                          Message* m = reach(job);
                          Message* entry = m->GetReflection()->AddMessage(m, f);
                          entry->GetReflection()->SetString(entry, key, in_key ? s : "k");
                          ASSERT_EQ(value->type(), FieldDescriptor::TYPE_STRING);
                          entry->GetReflection()->SetString(entry, value, in_key ? "v" : s);
                        }});
      }
      continue;
    }
    switch (f->type()) {
      case FieldDescriptor::TYPE_STRING:
      case FieldDescriptor::TYPE_BYTES:
        out->push_back({name, [reach, f](v1::Job* job, const std::string& s) {
                          Message* m = reach(job);
                          if (f->is_repeated()) {
                            m->GetReflection()->AddString(m, f, "benign");
                            m->GetReflection()->AddString(m, f, s);
                          } else {
                            m->GetReflection()->SetString(m, f, s);
                          }
                        }});
        break;
      case FieldDescriptor::TYPE_MESSAGE: {
        const std::string type = f->message_type()->full_name();
        if (type == "google.protobuf.Timestamp") break;  // numbers only
        if (type == "google.protobuf.Struct") {
          ASSERT_FALSE(f->is_repeated()) << name;
          auto field_map = [reach, f](v1::Job* job) {
            Message* m = reach(job);
            auto* st = static_cast<google::protobuf::Struct*>(
                m->GetReflection()->MutableMessage(m, f));
            return st->mutable_fields();
          };
          out->push_back({name + "{key}", [field_map](v1::Job* job, const std::string& s) {
                            (*field_map(job))[s].set_number_value(1);
                          }});
          out->push_back({name + "{value}", [field_map](v1::Job* job, const std::string& s) {
                            (*field_map(job))["k"].set_string_value(s);
                          }});
          out->push_back({name + "{nested key}", [field_map](v1::Job* job, const std::string& s) {
                            auto* inner = (*field_map(job))["env"].mutable_struct_value();
                            (*inner->mutable_fields())[s].set_string_value("x");
                          }});
          out->push_back({name + "{list item}", [field_map](v1::Job* job, const std::string& s) {
                            auto* list = (*field_map(job))["argv"].mutable_list_value();
                            list->add_values()->set_string_value("a");
                            list->add_values()->set_string_value(s);
                          }});
          break;
        }
        ASSERT_EQ(f->message_type()->file()->package(), "jobgate.v1")
            << name << ": a field of type " << type
            << " is not walked by this test; teach it (and the scanner) that type";
        ASSERT_FALSE(f->is_repeated()) << name << ": repeated messages need a walk here";
        CollectSpots(f->message_type(), name + ".",
                     [reach, f](v1::Job* job) {
                       Message* m = reach(job);
                       return m->GetReflection()->MutableMessage(m, f);
                     },
                     out);
        break;
      }
      default:
        break;  // numbers, enums, bools carry no text
    }
  }
}

std::vector<Spot> AllSpots() {
  std::vector<Spot> spots;
  CollectSpots(v1::Job::descriptor(), "", [](v1::Job* job) -> Message* { return job; }, &spots);
  return spots;
}

TEST(SecretFields, SchemaWalkFindsEveryKnownField) {
  std::set<std::string> names;
  for (const Spot& s : AllSpots()) names.insert(s.name);
  for (const char* expected :
       {"job_id", "tenant_id", "topic", "capability", "risk_tags", "labels{key}",
        "labels{value}", "environment", "actor.agent_id", "actor.session_id", "actor.owner",
        "actor.team", "actor.type", "args{key}", "args{value}", "args{nested key}", "payload"}) {
    EXPECT_EQ(names.count(expected), 1u) << expected;
  }
}

// Every spot: found by all three questions; redacted out of the job (values and keys);
// a routing field is named by RoutingFieldWithSecret instead of being trusted.
TEST(SecretFields, EveryStringOfTheSchemaIsScannedAndRedacted) {
  const SecretScanner& scanner = SecretScanner::Default();
  char fill = 'a';
  for (const Spot& spot : AllSpots()) {
    SCOPED_TRACE(spot.name);
    const std::string secret = Token(fill);
    fill = fill == 'z' ? 'a' : static_cast<char>(fill + 1);
    v1::Job job;
    job.set_job_id("j-1");
    job.set_tenant_id("default");
    job.set_topic("job.x");
    spot.plant(&job, "note: " + secret + " end");
    EXPECT_TRUE(scanner.ContainsSecret(job));
    EXPECT_EQ(scanner.DetectorsIn(job), std::vector<std::string>{"github-pat"});
    const std::string field = spot.name.substr(0, spot.name.find_first_of(".{"));
    EXPECT_EQ(scanner.RoutingFieldWithSecret(job), kRouting.count(field) ? field : "");

    std::vector<v1::Redaction> records;
    EXPECT_EQ(scanner.RedactJob(&job, &records), 1);
    EXPECT_EQ(job.SerializeAsString().find(secret), std::string::npos);
    EXPECT_FALSE(scanner.ContainsSecret(job));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].detector(), "github-pat");
    EXPECT_EQ(records[0].path().find(secret), std::string::npos) << records[0].path();
    EXPECT_EQ(records[0].path().rfind(field, 0), 0u) << records[0].path();
  }
}

// A key holding a secret keeps its value under the redacted key, and two such keys stay
// two entries.
TEST(SecretFields, RedactedKeysKeepTheirValues) {
  v1::Job job;
  (*job.mutable_labels())[Token('a')] = "one";
  (*job.mutable_labels())[Token('b')] = "two";
  (*(*job.mutable_args()->mutable_fields())["env"].mutable_struct_value()->mutable_fields())
      [Token('c')]
          .set_string_value("three");
  std::vector<v1::Redaction> records;
  EXPECT_EQ(SecretScanner::Default().RedactJob(&job, &records), 3);
  ASSERT_EQ(job.labels_size(), 2);
  std::multiset<std::string> values;
  for (const auto& [key, value] : job.labels()) {
    EXPECT_EQ(key.rfind("[REDACTED:github-pat:", 0), 0u) << key;
    values.insert(value);
  }
  EXPECT_EQ(values, (std::multiset<std::string>{"one", "two"}));
  const auto& env = job.args().fields().at("env").struct_value().fields();
  ASSERT_EQ(env.size(), 1u);
  EXPECT_EQ(env.begin()->second.string_value(), "three");
  EXPECT_EQ(records[0].path().rfind("args.env.[REDACTED:github-pat:", 0), 0u)
      << records[0].path();
}

}  // namespace
}  // namespace jobgate::policy
