#include "subjects/subjects.h"

namespace jobgate::subjects {

std::string_view RestOf(std::string_view subject, std::string_view job_prefix) {
  if (!job_prefix.empty() && subject.size() > job_prefix.size() + 1 &&
      subject.substr(0, job_prefix.size()) == job_prefix && subject[job_prefix.size()] == '.') {
    return subject.substr(job_prefix.size() + 1);
  }
  const size_t dot = subject.find('.');
  if (dot == std::string_view::npos) return {};
  return subject.substr(dot + 1);
}

std::string Join(std::string_view prefix, std::string_view rest) {
  std::string out;
  JoinInto(prefix, rest, &out);
  return out;
}

void JoinInto(std::string_view prefix, std::string_view rest, std::string* out) {
  out->assign(prefix);
  if (!rest.empty()) {
    out->push_back('.');
    out->append(rest);
  }
}

bool IsValidPublishSubject(std::string_view subject) {
  if (subject.empty()) return false;
  size_t token_len = 0;
  for (char c : subject) {
    if (c == '.') {
      if (token_len == 0) return false;
      token_len = 0;
      continue;
    }
    if (c == '*' || c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0') {
      return false;
    }
    ++token_len;
  }
  return token_len > 0;
}

}  // namespace jobgate::subjects
