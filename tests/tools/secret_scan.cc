// jobgate_secret_scan FILE: prints one line per secret the detectors find in FILE, read
// line by line: "<line> <begin> <end> <detector>" (1-based line, 0-based byte columns,
// end exclusive). The differential test against secretlint (tests/tools/secretlint)
// compares these spans with secretlint's findings. Prints no secret.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "policy/analysis/secrets.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  const auto& scanner = jobgate::policy::SecretScanner::Default();
  std::string line;
  std::vector<jobgate::policy::SecretMatch> matches;
  for (size_t number = 1; std::getline(in, line); ++number) {
    matches.clear();
    scanner.Scan(line, &matches);
    for (const auto& m : matches) {
      std::printf("%zu %zu %zu %s\n", number, m.begin, m.end,
                  scanner.detector_ids()[m.detector].c_str());
    }
  }
  return 0;
}
