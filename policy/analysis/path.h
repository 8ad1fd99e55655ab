// Lexical path normalization, applied before path globs so that `~/.ssh/id_rsa`,
// `$HOME/.ssh/id_rsa`, `/home/../home/x/./.ssh//id_rsa`-style spellings of one path
// compare as one.
//
// Convention (docs/coding-agents.md): the user's home directory is written `~`.
//   * `~`, `$HOME`, `${HOME}` at the start of a path become `~`; `~/x`, `$HOME/x` and
//     `${HOME}/x` become `~/x`. (`~user` is left as written.)
//   * Duplicate slashes collapse; `.` segments are dropped; `..` removes the segment
//     before it. At an absolute root `..` stays at `/` (as the kernel does); above `~`
//     or the start of a relative path it is kept (`~/..`, `../x`).
//   * A trailing slash is dropped (`/tmp/` -> `/tmp`), except for `/` itself. The empty
//     path stays empty; a relative path that resolves to nothing is `.`.
// Purely lexical: no file system access, symlinks are not followed. Glob characters are
// ordinary characters here. Pure function; thread-safe; linear in the input.
#pragma once

#include <string>
#include <string_view>

namespace jobgate::policy {

std::string NormalizePath(std::string_view path);

}  // namespace jobgate::policy
