// The everyday corpus (tests/policy/testdata/everyday_oss_commands.txt): commands from
// the build, test and release instructions of popular open-source projects. Against
// packs/coding-agent.yaml none may be denied and fewer than 1% held, with and without a
// workspace (args.cwd). Prints both rates.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace jobgate::policy {
namespace {

std::vector<std::string> Lines() {
  std::ifstream in(std::string(JOBGATE_SOURCE_DIR) +
                   "/tests/policy/testdata/everyday_oss_commands.txt");
  EXPECT_TRUE(in.good());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

TEST(EverydayCorpusTest, NoneDeniedFewerThanOnePercentHeld) {
  CompileResult r = CompileFile(std::string(JOBGATE_SOURCE_DIR) + "/packs/coding-agent.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const std::vector<std::string> lines = Lines();
  ASSERT_GE(lines.size(), 500u);
  for (const bool with_cwd : {false, true}) {
    size_t denied = 0, held = 0;
    for (const std::string& line : lines) {
      v1::Job job;
      job.set_job_id("everyday");
      job.set_topic("job.agent.shell.exec");
      job.mutable_actor()->set_type("agent");
      (*job.mutable_args()->mutable_fields())["command"].set_string_value(line);
      if (with_cwd) {
        (*job.mutable_args()->mutable_fields())["cwd"].set_string_value("/home/dev/proj");
      }
      const v1::Decision d = r.policy->Decide(job);
      const std::string why = line + "   -> " + d.matched_rule() + ": " + d.reason() +
                              (with_cwd ? " [cwd]" : "");
      if (d.decision() == v1::DENY || d.decision() == v1::TERMINATE) {
        ++denied;
        ADD_FAILURE() << "denied: " << why;
      } else if (d.decision() == v1::REQUIRE_APPROVAL) {
        ++held;
        std::printf("held: %s\n", why.c_str());
      }
    }
    std::printf("everyday corpus%s: %zu commands, denied %zu (%.2f%%), held %zu (%.2f%%)\n",
                with_cwd ? " (cwd set)" : "", lines.size(), denied, 100.0 * denied / lines.size(),
                held, 100.0 * held / lines.size());
    EXPECT_EQ(denied, 0u);
    EXPECT_LT(held * 100, lines.size()) << "held must stay under 1%";
  }
}

}  // namespace
}  // namespace jobgate::policy
