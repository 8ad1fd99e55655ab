// The approvers' page (gate/api/ui/*.html, *.css, *.js), embedded in the binary at build
// time by cmake/EmbedFiles.cmake: the gate serves it with no files on disk and no build
// step beyond CMake's.
//
// Immutable static data; thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace jobgate::gate {

struct UiAsset {
  std::string_view name;          // "index.html": the file's name under gate/api/ui/
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view body;
};

// Every embedded file, sorted by name.
std::span<const UiAsset> UiAssets();

}  // namespace jobgate::gate
