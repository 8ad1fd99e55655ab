#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include "cli/cli.h"

namespace {

// protobuf writes a line to stderr for every message it refuses to parse (e.g. a string
// field with invalid UTF-8), bypassing the log level: one line per hostile message. What
// it says is about input the gate already records on audit.rejected, so it goes to
// spdlog at debug; only its fatal errors stay loud.
void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                 const std::string& message) {
  if (level >= google::protobuf::LOGLEVEL_FATAL) {
    spdlog::critical("protobuf {}:{}: {}", file, line, message);
  } else {
    spdlog::debug("protobuf {}:{}: {}", file, line, message);
  }
}

}  // namespace

int main(int argc, char** argv) {
  google::protobuf::SetLogHandler(&ProtobufLog);  // before any thread starts
  return jobgate::gate::RunCli(argc, argv);
}
