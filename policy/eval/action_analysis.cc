// ActionAnalysis: what a job's command, SQL, paths, secrets, effects and hosts are,
// analysed once per job on first use and shared by every rule that asks (policy.h).

#include <google/protobuf/struct.pb.h>

#include <string>
#include <vector>

#include "base/ascii.h"
#include "policy/analysis/command.h"
#include "policy/analysis/command_effects.h"
#include "policy/analysis/path.h"
#include "policy/analysis/secrets.h"
#include "policy/analysis/sql.h"
#include "policy/compile/model.h"
#include "policy/policy.h"

namespace jobgate::policy {
namespace {

using google::protobuf::Value;

// The job's top-level `args.<key>`, or null when absent or JSON null.
const Value* TopLevelArg(const v1::Job& job, const char* key) {
  if (!job.has_args()) return nullptr;
  auto it = job.args().fields().find(key);
  if (it == job.args().fields().end()) return nullptr;
  const Value& v = it->second;
  if (v.kind_case() == Value::KIND_NOT_SET || v.kind_case() == Value::kNullValue) return nullptr;
  return &v;
}

}  // namespace

AnalysisSlot::~AnalysisSlot() { delete analysis_; }

ActionAnalysis& AnalysisSlot::Ensure() {
  if (analysis_ == nullptr) analysis_ = new ActionAnalysis();
  return *analysis_;
}

const CommandAnalysis& ActionAnalysis::Command(const v1::Job& job) {
  if (command_done) return command;
  command_done = true;
  command = CommandAnalysis();
  const Value* v = TopLevelArg(job, "command");
  if (v == nullptr) return command;
  if (v->kind_case() == Value::kStringValue) {
    command = AnalyzeCommandLine(v->string_value());
  } else if (v->kind_case() == Value::kListValue) {
    std::vector<std::string> argv;
    for (const Value& item : v->list_value().values()) {
      if (item.kind_case() != Value::kStringValue) {
        command.opaque = true;
        command.opaque_reason = "args.command lists a value that is not a string";
        return command;
      }
      argv.push_back(item.string_value());
    }
    command = AnalyzeArgv(argv);
  } else {
    command.opaque = true;
    command.opaque_reason = "args.command is neither a string nor a list of strings";
  }
  return command;
}

const std::vector<std::vector<std::string>>& ActionAnalysis::NormalizedArgs(const v1::Job& job) {
  const CommandAnalysis& a = Command(job);
  if (normalized_for_current_) return normalized_args;
  normalized_args.clear();
  for (const SimpleCommand& cmd : a.commands) {
    std::vector<std::string> args;
    args.reserve(cmd.args.size());
    for (const std::string& arg : cmd.args) args.push_back(NormalizePath(arg));
    normalized_args.push_back(std::move(args));
  }
  normalized_for_current_ = true;
  return normalized_args;
}

const std::vector<SqlStatement>& ActionAnalysis::Sql(const v1::Job& job) {
  if (sql_done) return sql;
  sql_done = true;
  sql.clear();
  auto add = [this](std::string_view text) {
    for (SqlStatement& st : ClassifySql(text)) sql.push_back(std::move(st));
  };
  if (const Value* v = TopLevelArg(job, "sql")) {
    if (v->kind_case() == Value::kStringValue) {
      add(v->string_value());
    } else if (v->kind_case() == Value::kListValue) {
      for (const Value& item : v->list_value().values()) {
        if (item.kind_case() == Value::kStringValue) add(item.string_value());
      }
    }
  }
  for (const SimpleCommand& cmd : Command(job).commands) {
    for (const std::string& text : SqlFromCommand(cmd)) add(text);
  }
  return sql;
}

const std::vector<std::string>& ActionAnalysis::Paths(const v1::Job& job, bool* present) {
  if (!path_done) {
    path_done = true;
    paths.clear();
    path_present = false;
    if (const Value* v = TopLevelArg(job, "path")) {
      path_present = true;
      if (v->kind_case() == Value::kStringValue) {
        paths.push_back(NormalizePath(v->string_value()));
      } else if (v->kind_case() == Value::kListValue) {
        for (const Value& item : v->list_value().values()) {
          if (item.kind_case() == Value::kStringValue) {
            paths.push_back(NormalizePath(item.string_value()));
          }
        }
      }
    }
  }
  *present = path_present;
  return paths;
}

const std::vector<std::string>& ActionAnalysis::Secrets(const v1::Job& job) {
  if (!secrets_done) {
    secrets = SecretScanner::Default().DetectorsIn(job);
    if (markers_are_secrets) {
      std::vector<std::string> marked = SecretScanner::Default().MarkedDetectorsIn(job);
      if (!marked.empty()) {
        secrets.insert(secrets.end(), marked.begin(), marked.end());
        std::sort(secrets.begin(), secrets.end());
        secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
      }
    }
    secrets_done = true;
  }
  return secrets;
}

const CommandEffects& ActionAnalysis::Effects(const v1::Job& job) {
  if (effects_done) return effects;
  effects_done = true;
  // The workspace root: args.workspace when the platform configures one, else args.cwd;
  // the line starts in args.cwd. Only absolute paths count.
  auto absolute = [&job](const char* key) -> std::string_view {
    const Value* v = TopLevelArg(job, key);
    if (v == nullptr || v->kind_case() != Value::kStringValue) return {};
    const std::string& s = v->string_value();
    return !s.empty() && s.front() == '/' ? std::string_view(s) : std::string_view();
  };
  const std::string_view cwd = absolute("cwd");
  const std::string_view root = absolute("workspace");
  effects = CommandEffectsOf(Command(job), root.empty() ? cwd : root, root.empty() ? "" : cwd);
  return effects;
}

const std::vector<std::string>& ActionAnalysis::Hosts(const v1::Job& job) {
  if (hosts_done) return hosts;
  hosts_done = true;
  hosts.clear();
  if (const Value* url = TopLevelArg(job, "url"); url && url->kind_case() == Value::kStringValue) {
    std::string host = UrlHost(url->string_value());
    if (!host.empty()) hosts.push_back(std::move(host));
  }
  if (const Value* h = TopLevelArg(job, "host"); h && h->kind_case() == Value::kStringValue) {
    std::string host = AsciiLower(h->string_value());
    if (!host.empty()) hosts.push_back(std::move(host));
  }
  for (const SimpleCommand& cmd : Command(job).commands) {
    for (std::string& host : CommandHosts(cmd)) hosts.push_back(std::move(host));
  }
  return hosts;
}

}  // namespace jobgate::policy
