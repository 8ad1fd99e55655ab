// The API's error codes: one table (subjects/api_errors.h), and docs/api.md's "Status
// codes" table lists exactly its codes.
#include "subjects/api_errors.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace jobgate::subjects {
namespace {

std::string StatusCodesSection() {
  std::ifstream in(std::string(JOBGATE_SOURCE_DIR) + "/docs/api.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const size_t begin = doc.find("## Status codes");
  const size_t end = doc.find("\n## ", begin + 1);
  return begin == std::string::npos ? "" : doc.substr(begin, end - begin);
}

TEST(ApiErrorsTest, EveryCodeIsSpelledOnce) {
  std::set<std::string_view> seen;
  for (std::string_view code : AllApiErrorCodes()) {
    EXPECT_TRUE(seen.insert(code).second) << code;
    EXPECT_FALSE(code.empty());
  }
}

TEST(ApiErrorsTest, TheDocsListExactlyTheTable) {
  const std::string section = StatusCodesSection();
  ASSERT_FALSE(section.empty()) << "docs/api.md has no '## Status codes'";
  std::set<std::string> documented;
  // Table rows only: "| 409 | `conflict`, `already_exists` | when |"; the second cell.
  const std::regex row(R"(\n\| *[0-9]{3} *\| *([^|]*)\|)");
  const std::regex code("`([A-Za-z_]+)`");
  for (auto r = std::sregex_iterator(section.begin(), section.end(), row);
       r != std::sregex_iterator(); ++r) {
    const std::string cell = (*r)[1];
    for (auto c = std::sregex_iterator(cell.begin(), cell.end(), code);
         c != std::sregex_iterator(); ++c) {
      documented.insert((*c)[1]);
    }
  }
  documented.insert("forbidden");  // a recorded refusal, named in the 403 row's text
  std::set<std::string> table;
  for (std::string_view c : AllApiErrorCodes()) table.insert(std::string(c));
  EXPECT_EQ(documented, table);
}

TEST(ApiErrorsTest, AnErrorWithoutACodeOfItsOwnAnswersItsStatusClass) {
  EXPECT_EQ(ApiErrorForStatus(StatusCode::kInvalidArgument), api_error::kInvalidArgument);
  EXPECT_EQ(ApiErrorForStatus(StatusCode::kNotFound), api_error::kNotFound);
  EXPECT_EQ(ApiErrorForStatus(StatusCode::kUnavailable), api_error::kUnavailable);
  EXPECT_EQ(ApiErrorForStatus(StatusCode::kPermissionDenied), api_error::kPermissionDenied);
  for (int c = 0; c <= static_cast<int>(StatusCode::kInternal); ++c) {
    const std::string_view name = ApiErrorForStatus(static_cast<StatusCode>(c));
    bool listed = false;
    for (std::string_view code : AllApiErrorCodes()) listed |= code == name;
    EXPECT_TRUE(listed) << name;
  }
}

}  // namespace
}  // namespace jobgate::subjects
