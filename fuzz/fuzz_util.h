// Helpers shared by the libFuzzer targets in fuzz/ and by their standalone smoke driver.
//
// Each target defines `LLVMFuzzerTestOneInput`. Built with JOBGATE_FUZZ=ON they link
// libFuzzer (-fsanitize=fuzzer); in the normal build each is linked with
// standalone_main.cc, which feeds every file of the seed corpus once (ctest, label unit).
// A broken invariant calls FuzzCheckFailed(), which aborts so that libFuzzer records the
// input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#ifndef JOBGATE_SOURCE_DIR
#error "JOBGATE_SOURCE_DIR must be defined (fuzz/CMakeLists.txt does)"
#endif

namespace jobgate::fuzz {

// Reads a file of the source tree (path relative to the repository root); aborts when
// it cannot, since a target without its fixed inputs would fuzz nothing useful.
inline std::string ReadSourceFile(const std::string& relative) {
  const std::string path = std::string(JOBGATE_SOURCE_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz: cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

[[noreturn]] inline void FuzzCheckFailed(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace jobgate::fuzz

#define FUZZ_CHECK(cond, detail)                                  \
  do {                                                            \
    if (!(cond)) ::jobgate::fuzz::FuzzCheckFailed(#cond, detail); \
  } while (0)
