// Fuzz target: NATS subject patterns (ValidateSubjectPattern, SubjectMatches, TopicTrie)
// and globs (GlobToRegex + RE2), each cross-checked against a small reference matcher
// written from the documented semantics, so logic bugs are found, not only crashes.
//
// Input: lines. Every line but the last is a pattern (up to 16), the last line is the
// subject / value. Each pattern is used both as a subject pattern and as a glob.
// Invariants:
//   * TopicTrie finds exactly the valid patterns SubjectMatches accepts, once each, and
//     SubjectMatches agrees with the reference token matcher.
//   * For ASCII globs and values, the RE2 translation matches exactly when the reference
//     glob matcher does (when RE2 accepts the translation at all).
#include <re2/re2.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "policy/compile/glob.h"
#include "policy/compile/subject_pattern.h"

namespace {

using jobgate::policy::GlobToRegex;
using jobgate::policy::SubjectMatches;
using jobgate::policy::TokenizeSubject;
using jobgate::policy::TopicTrie;
using jobgate::policy::ValidateSubjectPattern;

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

// Reference NATS matcher: `*` one token, `>` one or more trailing tokens.
bool RefSubjectMatch(const std::vector<std::string_view>& p, size_t pi,
                     const std::vector<std::string_view>& s, size_t si) {
  if (pi == p.size()) return si == s.size();
  if (p[pi] == ">") return si < s.size();
  if (si == s.size()) return false;
  if (p[pi] != "*" && p[pi] != s[si]) return false;
  return RefSubjectMatch(p, pi + 1, s, si + 1);
}

// Reference glob matcher over bytes (ASCII only), from docs/policy.md.
struct GlobToken {
  enum Kind { kLit, kStar, kDoubleStar, kDoubleStarSlash, kOne, kClass } kind;
  char c = 0;
  bool negated = false;
  std::string members;  // kClass: the class text between the brackets, ranges unexpanded
};
using GlobSeq = std::vector<GlobToken>;

GlobToken Tok(GlobToken::Kind kind, char c = 0) {
  GlobToken t{};
  t.kind = kind;
  t.c = c;
  return t;
}

bool InClass(const GlobToken& t, char c) {
  const std::string& m = t.members;
  bool in = false;
  for (size_t i = 0; i < m.size(); ++i) {
    if (i + 2 < m.size() && m[i + 1] == '-') {
      if (c >= m[i] && c <= m[i + 2]) in = true;
      i += 2;
    } else if (m[i] == c) {
      in = true;
    }
  }
  return in != t.negated;
}

// Parses `glob` into alternatives (brace groups expanded). False when the glob is
// invalid or expands to too many alternatives to check.
bool ParseGlob(std::string_view glob, std::vector<GlobSeq>* out) {
  std::vector<GlobSeq> done = {GlobSeq{}};  // prefixes before the current brace group
  std::vector<GlobSeq> alts;                // alternatives of the open brace group
  bool in_braces = false;
  auto add = [&](const GlobToken& t) {
    if (in_braces) {
      alts.back().push_back(t);
    } else {
      for (auto& d : done) d.push_back(t);
    }
  };
  for (size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    if (c == '*') {
      if (i + 1 < glob.size() && glob[i + 1] == '*') {
        ++i;
        if (i + 1 < glob.size() && glob[i + 1] == '/') {
          ++i;
          add(Tok(GlobToken::kDoubleStarSlash));
        } else {
          add(Tok(GlobToken::kDoubleStar));
        }
      } else {
        add(Tok(GlobToken::kStar));
      }
    } else if (c == '?') {
      add(Tok(GlobToken::kOne));
    } else if (c == '[') {
      const size_t close = glob.find(']', i + 2);
      if (close == std::string_view::npos) return false;
      GlobToken t = Tok(GlobToken::kClass);
      size_t j = i + 1;
      if (glob[j] == '!' || glob[j] == '^') {
        t.negated = true;
        ++j;
      }
      t.members = std::string(glob.substr(j, close - j));
      if (t.members.empty()) return false;
      add(t);
      i = close;
    } else if (c == '{') {
      if (in_braces) return false;
      in_braces = true;
      alts = {GlobSeq{}};
    } else if (c == ',' && in_braces) {
      alts.emplace_back();
    } else if (c == '}' && in_braces) {
      in_braces = false;
      std::vector<GlobSeq> next;
      for (const auto& d : done) {
        for (const auto& a : alts) {
          GlobSeq s = d;
          s.insert(s.end(), a.begin(), a.end());
          next.push_back(std::move(s));
        }
      }
      if (next.size() > 64) return false;
      done = std::move(next);
    } else if (c == '\\') {
      if (i + 1 == glob.size()) return false;
      add(Tok(GlobToken::kLit, glob[++i]));
    } else {
      add(Tok(GlobToken::kLit, c));
    }
  }
  if (in_braces) return false;
  *out = std::move(done);
  return true;
}

bool RefGlobMatch(const GlobSeq& g, size_t gi, std::string_view s, size_t si,
                  std::vector<int8_t>* memo) {
  int8_t& m = (*memo)[gi * (s.size() + 1) + si];
  if (m >= 0) return m;
  bool r = false;
  if (gi == g.size()) {
    r = si == s.size();
  } else {
    const GlobToken& t = g[gi];
    switch (t.kind) {
      case GlobToken::kLit:
        r = si < s.size() && s[si] == t.c && RefGlobMatch(g, gi + 1, s, si + 1, memo);
        break;
      case GlobToken::kOne:
        r = si < s.size() && s[si] != '/' && RefGlobMatch(g, gi + 1, s, si + 1, memo);
        break;
      case GlobToken::kClass:
        r = si < s.size() && InClass(t, s[si]) && RefGlobMatch(g, gi + 1, s, si + 1, memo);
        break;
      case GlobToken::kStar:
        for (size_t k = si;; ++k) {
          if (RefGlobMatch(g, gi + 1, s, k, memo)) {
            r = true;
            break;
          }
          if (k == s.size() || s[k] == '/') break;
        }
        break;
      case GlobToken::kDoubleStar:
        for (size_t k = si; k <= s.size() && !r; ++k) r = RefGlobMatch(g, gi + 1, s, k, memo);
        break;
      case GlobToken::kDoubleStarSlash:
        // Nothing, or anything ending in '/'.
        r = RefGlobMatch(g, gi + 1, s, si, memo);
        for (size_t k = si; k < s.size() && !r; ++k) {
          if (s[k] == '/') r = RefGlobMatch(g, gi + 1, s, k + 1, memo);
        }
        break;
    }
  }
  m = r ? 1 : 0;
  return r;
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80 && c != '\0'; });
}

// Ranges the reference understands: `x-y` with x <= y, '-' otherwise only first or last.
bool SimpleClass(const std::string& m) {
  for (size_t i = 0; i < m.size(); ++i) {
    if (i + 2 < m.size() && m[i + 1] == '-') {
      if (m[i] > m[i + 2] || m[i] == '-' || m[i + 2] == '-') return false;
      i += 2;
    } else if (m[i] == '-' && i != 0 && i + 1 != m.size()) {
      return false;
    }
  }
  return true;
}

void CheckGlob(std::string_view glob, std::string_view value) {
  std::string error;
  const std::string regex = GlobToRegex(glob, &error);
  if (regex.empty()) {
    FUZZ_CHECK(!error.empty(), "GlobToRegex failed without an error");
    return;
  }
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);
  const RE2 re(regex, options);
  if (!re.ok()) return;  // the compiler reports it; nothing to cross-check
  const bool got = RE2::FullMatch(value, re);
  if (glob.size() > 64 || value.size() > 256 || !IsAscii(glob) || !IsAscii(value)) return;
  std::vector<GlobSeq> alts;
  if (!ParseGlob(glob, &alts)) return;
  for (const auto& a : alts) {
    for (const auto& t : a) {
      if (t.kind == GlobToken::kClass && !SimpleClass(t.members)) return;
    }
  }
  bool want = false;
  for (const auto& a : alts) {
    std::vector<int8_t> memo((a.size() + 1) * (value.size() + 1), -1);
    if (RefGlobMatch(a, 0, value, 0, &memo)) {
      want = true;
      break;
    }
  }
  FUZZ_CHECK(got == want, "glob '" + std::string(glob) + "' -> /" + regex + "/ on '" +
                              std::string(value) + "': RE2 " +
                              (got ? "matches" : "does not match") + ", reference " +
                              (want ? "matches" : "does not"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines = Split(input, '\n');
  const std::string_view subject = lines.back();
  lines.pop_back();
  if (lines.empty()) lines.push_back(subject);
  if (lines.size() > 16) lines.resize(16);

  std::vector<std::string_view> tokens;
  TokenizeSubject(subject, &tokens);
  const std::vector<std::string_view> ref_tokens = Split(subject, '.');
  FUZZ_CHECK(tokens == ref_tokens, "TokenizeSubject");

  TopicTrie trie;
  std::vector<uint32_t> want;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view pattern = lines[i];
    CheckGlob(pattern, subject);
    if (!ValidateSubjectPattern(pattern).empty()) continue;
    const bool matches = SubjectMatches(pattern, tokens);
    FUZZ_CHECK(matches == RefSubjectMatch(Split(pattern, '.'), 0, ref_tokens, 0),
               "SubjectMatches('" + std::string(pattern) + "', '" + std::string(subject) + "')");
    trie.Insert(pattern, static_cast<uint32_t>(i));
    if (matches) want.push_back(static_cast<uint32_t>(i));
  }
  std::vector<uint32_t> got;
  trie.Match(tokens, &got);
  std::sort(got.begin(), got.end());
  FUZZ_CHECK(got == want,
             "TopicTrie::Match disagrees with SubjectMatches on '" + std::string(subject) + "'");
  return 0;
}
