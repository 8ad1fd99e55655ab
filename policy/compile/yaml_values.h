// YAML values as the policy language reads them: to JSON text (for protobuf's JSON
// parser), to the canonical form, and a mapping of job fields to a Job. Used by the
// compiler (rule examples, constraints.custom) and by the test suites (cases' jobs).
//
// Pure functions of their arguments; safe from any number of threads.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "base/json.h"
#include "base/status.h"
#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::policy {

// YAML node -> JSON text, for building Jobs with protobuf's JSON parser. Under `args`
// plain scalars keep their YAML type; elsewhere every scalar is a string (the Job's
// fields are strings), so `environment: 1` is "1", not a type error.
void YamlToJson(const YAML::Node& node, bool typed, std::string* out);
// YAML node -> JsonValue with sorted keys, for the canonical form.
JsonValue YamlToCanonical(const YAML::Node& node);
// A mapping of job fields -> Job, through YamlToJson and protobuf's JSON parser; an error
// when not a mapping or not a valid Job (an unknown field included).
Status JobFromYamlNode(const YAML::Node& node, v1::Job* job);

}  // namespace jobgate::policy
