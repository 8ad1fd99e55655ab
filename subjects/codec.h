// Job and decision codecs: bytes on the bus <-> jobgate.v1 messages.
//
// Input may be protobuf or JSON (contract: header `Content-Type: application/json`, or a
// body that is a JSON object). JSON uses the snake_case names of the .proto. Fields the
// schema does not know are refused in both: in JSON so a typo never silently drops a
// condition's input, in protobuf because policy cannot judge them nor the secret scan
// see them, yet they would travel in every copy of the job (a newer publisher's schema
// needs a gate that knows it).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "jobgate/v1/jobgate.pb.h"
#include "base/status.h"

namespace jobgate::subjects {

enum class BodyFormat { kAuto, kProtobuf, kJson };

// Format from a Content-Type header value ("" -> kAuto).
BodyFormat FormatFromContentType(std::string_view content_type);

// Decodes a job. kAuto: JSON when the first non-space byte is '{', else protobuf.
// Does not apply defaults or check required fields (see NormalizeJob). JSON nested
// deeper than 100 levels is refused before protobuf parses it (its parser is
// superlinear in depth); protobuf's own recursion limit bounds binary input.
Result<v1::Job> DecodeJob(std::string_view body, BodyFormat format);

// DecodeJob into `job`, replacing what it held and reusing its allocations (the
// dispatcher decodes every job into one message). On error `job` holds no defined value.
Status DecodeJobInto(std::string_view body, BodyFormat format, v1::Job* job);

// Where in `job` protobuf kept fields the schema does not know ("job", "job.actor",
// "job.args", "job.submitted_at"), or "" when nowhere.
std::string UnknownFieldsPath(const v1::Job& job);

// Fills defaults the contract names: tenant_id "default"; topic = `subject` when empty.
// Returns an error when the job cannot be judged: no job_id, or a body topic other than
// `subject` (subjects/binding.h BindJob with the body's tenant; the gate binds with its
// configured JobBinding).
Status NormalizeJob(std::string_view subject, v1::Job* job);

// Proto3 JSON with the .proto's snake_case names. `pretty` indents by two spaces.
std::string ToJson(const google::protobuf::Message& message, bool pretty = false);

// The decision JSON of the contract: like ToJson, but every scalar field is printed even
// when empty (an empty matched_rule means "defaults decided"), so clients see one shape.
std::string DecisionToJson(const v1::Decision& decision, bool pretty = false);

// Parses proto3 JSON into `message` (either name spelling); unknown fields refused.
Status FromJson(std::string_view json, google::protobuf::Message* message);

}  // namespace jobgate::subjects
