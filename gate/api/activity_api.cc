#include "gate/api/activity_api.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/time_util.h>

#include <charconv>
#include <string>

#include "subjects/api_errors.h"
#include "subjects/codec.h"

namespace jobgate::gate {

namespace api_error = subjects::api_error;

namespace {

using google::protobuf::Struct;
using google::protobuf::util::TimeUtil;

std::string Rfc3339(int64_t unix_ms) {
  return TimeUtil::ToString(TimeUtil::MillisecondsToTimestamp(unix_ms));
}

// Every outcome's count (zeros included) when `all`, else only those counted.
void PutCounts(const DecisionCounts& counts, bool all, Struct* out) {
  for (int i = 1; i < DecisionCounts::kOutcomes; ++i) {
    if (!all && counts.counts[i] == 0) continue;
    (*out->mutable_fields())[std::string(OutcomeName(i))].set_number_value(
        static_cast<double>(counts.counts[i]));
  }
}

// The `limit` of a denials call: the query's (HTTP) or the body's (request-reply);
// `fallback` when neither names one.
Result<size_t> DenialsLimit(const ApiRequest& request, size_t fallback) {
  std::string text;
  if (auto it = request.query.find("limit"); it != request.query.end()) {
    text = it->second;
  } else if (request.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    Struct body;
    if (!subjects::FromJson(request.body, &body).ok()) {
      return InvalidArgument("expected a JSON object such as {\"limit\": 20}");
    }
    auto field = body.fields().find("limit");
    if (field != body.fields().end()) {
      if (!field->second.has_number_value()) return InvalidArgument("'limit' must be a number");
      text = std::to_string(static_cast<long long>(field->second.number_value()));
    }
  }
  if (text.empty()) return fallback;
  size_t limit = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), limit);
  if (error != std::errc() || end != text.data() + text.size() || limit == 0) {
    return InvalidArgument("'limit' must be a whole number of at least 1, not '" + text + "'");
  }
  return limit;
}

}  // namespace

ApiResponse StatsResponse(const DecisionStats::Snapshot& snapshot) {
  Struct out;
  auto& fields = *out.mutable_fields();
  fields["scope"].set_string_value("replica");
  fields["now"].set_string_value(Rfc3339(snapshot.now_unix_ms));
  fields["window_seconds"].set_number_value(3600);
  fields["total"].set_number_value(static_cast<double>(snapshot.totals.Total()));
  PutCounts(snapshot.totals, /*all=*/true, fields["totals"].mutable_struct_value());
  fields["per_second_last_minute"].set_number_value(snapshot.per_second_last_minute);
  fields["per_second_last_hour"].set_number_value(snapshot.per_second_last_hour);
  auto* minutes = fields["minutes"].mutable_list_value();
  for (const auto& minute : snapshot.minutes) {
    Struct* m = minutes->add_values()->mutable_struct_value();
    (*m->mutable_fields())["start"].set_string_value(Rfc3339(minute.start_unix_ms));
    (*m->mutable_fields())["total"].set_number_value(static_cast<double>(minute.counts.Total()));
    PutCounts(minute.counts, /*all=*/false,
              (*m->mutable_fields())["counts"].mutable_struct_value());
  }
  return JsonResponse(out);
}

ApiResponse DenialsResponse(const std::vector<v1::DecisionRecord>& records, size_t capacity) {
  std::string body = "{\n  \"scope\": \"replica\",\n  \"capacity\": ";
  body += std::to_string(capacity);
  body += ",\n  \"denials\": [";
  for (size_t i = 0; i < records.size(); ++i) {
    body += i == 0 ? "\n    " : ",\n    ";
    body += subjects::ToJson(records[i]);
  }
  body += records.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return ApiResponse{200, std::move(body)};  // the ETag is taken from the body
}

void AddActivityRoutes(ApiRouter* router, const DecisionStats* stats,
                       const RecentDenials* denials) {
  router->Add("GET", "/api/v1/stats", Role::kViewer, "stats",
              [stats](const ApiRequest&, const Identity&, const auto&) {
                return StatsResponse(stats->Read());
              });
  router->Add("GET", "/api/v1/denials", Role::kViewer, "denials",
              [denials](const ApiRequest& request, const Identity&, const auto&) {
                auto limit = DenialsLimit(request, denials->capacity());
                if (!limit.ok()) return ErrorJson(limit.status(), api_error::kInvalidRequest);
                return DenialsResponse(denials->Newest(*limit), denials->capacity());
              });
}

}  // namespace jobgate::gate
