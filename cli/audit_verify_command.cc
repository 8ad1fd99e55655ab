// `jobgate audit verify`: walks the audit hash chains of the AUDIT stream and reports,
// per chain, whether it is intact (docs/audit.md). Exit 0 intact, 1 findings, 2 the
// stream could not be read.

#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "base/duration.h"
#include "cli/commands.h"
#include "cli/http_client.h"
#include "gate/audit/audit_verify.h"
#include "gate/daemon/config.h"
#include "gate/nats/nats_audit_reader.h"
#include "gate/nats/nats_bus.h"

namespace jobgate::gate {
namespace {

struct AuditVerifyArgs {
  std::string from;
  std::string to;
  std::string nats_url = "nats://127.0.0.1:4222";
  std::string stream = "AUDIT";
  bool json = false;
  std::string timeout = "120s";
};

// RFC 3339 ("2026-12-01T00:00:00Z"), or a duration ago ("24h", "90m"); milliseconds since
// the Unix epoch, or -1.
int64_t ParseTime(const std::string& text) {
  google::protobuf::Timestamp at;
  if (google::protobuf::util::TimeUtil::FromString(text, &at)) {
    return google::protobuf::util::TimeUtil::TimestampToMilliseconds(at);
  }
  const std::optional<int64_t> ago = jobgate::ParseDurationMillis(text);
  if (!ago) return -1;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return now - *ago;
}

int RunAuditVerify(const AuditVerifyArgs& args) {
  AuditReadOptions read;
  read.stream = args.stream;
  for (auto [text, out] :
       {std::pair{&args.from, &read.from_unix_ms}, std::pair{&args.to, &read.to_unix_ms}}) {
    if (text->empty()) continue;
    *out = ParseTime(*text);
    if (*out <= 0) {
      std::cerr << "jobgate: '" << *text
                << "' is neither an RFC 3339 time nor a duration ago (24h)\n";
      return kExitUnreachable;
    }
  }
  const int64_t timeout = jobgate::ParseDurationMillis(args.timeout).value_or(0);
  if (timeout <= 0) {
    std::cerr << "jobgate: --timeout: '" << args.timeout << "' is not a duration\n";
    return kExitUnreachable;
  }
  read.timeout = std::chrono::milliseconds(timeout);

  // stdout is the report (JSON for tools): the connection's info lines stay out of it.
  spdlog::set_level(spdlog::level::warn);
  NatsConnectOptions options;
  options.servers = SplitServerList(args.nats_url);
  options.name = "jobgate-audit-verify";
  auto connection = NatsConnection::Connect(options, /*wait=*/true);
  if (!connection.ok()) {
    std::cerr << "jobgate: " << connection.status().message() << "\n";
    return kExitUnreachable;
  }
  std::vector<AuditRecordInfo> records;
  AuditWindow window;
  const auto started = std::chrono::steady_clock::now();
  if (Status s = ReadAuditRecords(connection->get(), read, &records, &window); !s.ok()) {
    std::cerr << "jobgate: " << s.message() << "\n";
    return kExitUnreachable;
  }
  const AuditReport report = VerifyAuditRecords(records, window);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (args.json) {
    jobgate::JsonValue out = report.ToJson();
    out["seconds"] = jobgate::JsonValue(seconds);
    std::cout << out.Dump(2) << "\n";
  } else {
    std::cout << report.Text();
    std::fprintf(stderr, "read and verified %zu records in %.3f s (%.0f records/s)\n",
                 records.size(), seconds, seconds > 0 ? records.size() / seconds : 0.0);
  }
  return report.intact() ? kExitOk : kExitRefused;
}

}  // namespace

void AddAuditCommands(CLI::App& app, int* exit_code) {
  auto* audit = app.add_subcommand("audit", "The audit trail's evidence");
  audit->require_subcommand(1);
  auto* cmd = audit->add_subcommand(
      "verify", "Walk the AUDIT stream's hash chains (exit 0 intact, 1 findings, 2 unreadable)");
  auto args = std::make_shared<AuditVerifyArgs>();
  cmd->add_option("--from", args->from, "From this time: RFC 3339, or a duration ago (24h)");
  cmd->add_option("--to", args->to, "Through this time: RFC 3339, or a duration ago");
  cmd->add_option("--nats", args->nats_url, "NATS server(s), comma-separated");
  cmd->add_option("--stream", args->stream, "The audit stream");
  cmd->add_option("--timeout", args->timeout, "Give up reading after this long (120s)");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->callback([=] { *exit_code = RunAuditVerify(*args); });
}

}  // namespace jobgate::gate
