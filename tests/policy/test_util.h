// Helpers shared by the policy tests: compile inline YAML, build jobs from YAML.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "policy/policy.h"

namespace jobgate::policy::testing {

// Diagnostics name the policy "test.yaml".
inline CompileOptions TestFile() {
  CompileOptions options;
  options.file_name = "test.yaml";
  return options;
}

// Compiles `yaml` or fails the test with the compiler's errors.
inline std::shared_ptr<const Policy> MustCompile(const std::string& yaml) {
  CompileResult r = Compile(yaml, TestFile());
  EXPECT_TRUE(r.ok()) << r.ErrorText();
  return r.policy;
}

// The errors of a policy that must not compile, one per line.
inline std::string CompileErrors(const std::string& yaml) {
  CompileResult r = Compile(yaml, TestFile());
  EXPECT_FALSE(r.ok()) << "expected errors for:\n" << yaml;
  return r.ErrorText();
}

inline v1::Job Job(const std::string& yaml) {
  auto job = JobFromYaml(yaml);
  EXPECT_TRUE(job.ok()) << job.status().message();
  return job.ok() ? *job : v1::Job();
}

inline v1::Verdict VerdictOf(const Policy& p, const std::string& job_yaml) {
  return p.Decide(Job(job_yaml)).decision();
}

}  // namespace jobgate::policy::testing
