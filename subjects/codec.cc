#include "subjects/codec.h"

#include <google/protobuf/util/json_util.h>

#include "subjects/binding.h"

namespace jobgate::subjects {

BodyFormat FormatFromContentType(std::string_view content_type) {
  if (content_type.find("json") != std::string_view::npos) return BodyFormat::kJson;
  if (content_type.find("protobuf") != std::string_view::npos) return BodyFormat::kProtobuf;
  return BodyFormat::kAuto;
}

namespace {

// Only the message's own unknown fields (a metadata lookup, no walk).
bool OwnUnknownFields(const google::protobuf::Message& message) {
  return !message.GetReflection()->GetUnknownFields(message).empty();
}

bool HasUnknownFields(const google::protobuf::Value& value);

bool HasUnknownFields(const google::protobuf::Struct& object) {
  if (OwnUnknownFields(object)) return true;
  for (const auto& [_, value] : object.fields()) {
    if (HasUnknownFields(value)) return true;
  }
  return false;
}

bool HasUnknownFields(const google::protobuf::Value& value) {
  if (OwnUnknownFields(value)) return true;
  if (value.has_struct_value()) return HasUnknownFields(value.struct_value());
  if (value.has_list_value()) {
    if (OwnUnknownFields(value.list_value())) return true;
    for (const auto& item : value.list_value().values()) {
      if (HasUnknownFields(item)) return true;
    }
  }
  return false;
}

}  // namespace

std::string UnknownFieldsPath(const v1::Job& job) {
  // Every message a Job holds (tests/subjects guards this list against the schema; map
  // entries keep no unknown fields of their own).
  if (OwnUnknownFields(job)) return "job";
  if (job.has_actor() && OwnUnknownFields(job.actor())) return "job.actor";
  if (job.has_args() && HasUnknownFields(job.args())) return "job.args";
  if (job.has_submitted_at() && OwnUnknownFields(job.submitted_at())) {
    return "job.submitted_at";
  }
  return "";
}

Status DecodeJobInto(std::string_view body, BodyFormat format, v1::Job* job) {
  if (format == BodyFormat::kAuto) {
    const size_t first = body.find_first_not_of(" \t\r\n");
    format = (first != std::string_view::npos && body[first] == '{') ? BodyFormat::kJson
                                                                     : BodyFormat::kProtobuf;
  }
  if (format == BodyFormat::kJson) {
    job->Clear();
    return FromJson(body, job);
  }
  // ParseFromArray clears first; cleared strings and sub-messages keep their memory.
  if (body.size() > static_cast<size_t>(INT32_MAX) ||
      !job->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return InvalidArgument("not a protobuf jobgate.v1.Job nor a JSON object");
  }
  if (const std::string path = UnknownFieldsPath(*job); !path.empty()) {
    return InvalidArgument("protobuf job with fields this gate's schema does not know (in " + path +
                           "): refused, as in JSON; policy cannot judge them");
  }
  return Status::Ok();
}

Result<v1::Job> DecodeJob(std::string_view body, BodyFormat format) {
  v1::Job job;
  if (Status status = DecodeJobInto(body, format, &job); !status.ok()) return status;
  return job;
}

Status NormalizeJob(std::string_view subject, v1::Job* job) {
  return BindJob(subject, JobBinding{}, job);
}

namespace {
std::string PrintJson(const google::protobuf::Message& message, bool pretty, bool all_fields) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = all_fields;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  if (pretty && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}
}  // namespace

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  return PrintJson(message, pretty, /*all_fields=*/false);
}

std::string DecisionToJson(const v1::Decision& decision, bool pretty) {
  return PrintJson(decision, pretty, /*all_fields=*/true);
}

namespace {

// Deeper JSON is refused before protobuf's parser sees it. Protobuf refuses what nests
// deeper than its own recursion limit (100 messages) only after building it, and its
// JSON writer takes time cubic in the depth of nested arrays (16,000 levels: about a
// minute), so a 100 KB body could stall a gate for hours. 100 levels is more than any
// decodable message reaches (a Struct costs 3 levels of the 100 per JSON object).
constexpr int kMaxJsonDepth = 100;

// True when `json` nests objects and arrays deeper than `limit` (strings skipped). One
// linear pass; does not validate anything else.
bool NestsDeeperThan(std::string_view json, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

Status FromJson(std::string_view json, google::protobuf::Message* message) {
  if (NestsDeeperThan(json, kMaxJsonDepth)) {
    return InvalidArgument("invalid JSON for " + message->GetDescriptor()->name() +
                           ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!status.ok()) {
    return InvalidArgument("invalid JSON for " + message->GetDescriptor()->name() + ": " +
                           std::string(status.message()));
  }
  return Status::Ok();
}

}  // namespace jobgate::subjects
