# Writes OUTPUT, the C++ definition of jobgate::metrics::Build(), at build time (run with
# cmake -P from metrics/CMakeLists.txt). The git commit is read on every build, so a new
# commit is picked up without re-running cmake; outside a git checkout (a release
# tarball, a container build without .git) it is $JOBGATE_GIT_COMMIT when that looks like
# one, else "unknown". configure_file only rewrites
# OUTPUT when its content changes, so an unchanged commit recompiles nothing.
set(commit "unknown")
if(GIT_EXECUTABLE)
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE head RESULT_VARIABLE rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(rc EQUAL 0 AND head MATCHES "^[0-9a-f]+$")
    set(commit "${head}")
    # Tracked files differing from HEAD: the binary is not exactly that commit.
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" diff --quiet HEAD --
                    RESULT_VARIABLE dirty OUTPUT_QUIET ERROR_QUIET)
    if(dirty EQUAL 1)
      string(APPEND commit "-dirty")
    endif()
  endif()
endif()
# Without a checkout, a builder that knows the commit (Containerfile's build argument) may
# pass it in the environment; only the shape a checkout would give is taken.
string(REPEAT "[0-9a-f]" 12 hex12)  # CMake regexes have no {n}
if(commit STREQUAL "unknown" AND "$ENV{JOBGATE_GIT_COMMIT}" MATCHES "^${hex12}(-dirty)?$")
  set(commit "$ENV{JOBGATE_GIT_COMMIT}")
endif()
set(JOBGATE_GIT_COMMIT "${commit}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/build_identity.cc.in" "${OUTPUT}" @ONLY)
