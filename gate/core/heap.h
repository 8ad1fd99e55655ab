// The process heap: which allocator serves it, and giving freed pages back to the OS.
//
// The `jobgate` binary links jemalloc when it is available (CMake option
// JOBGATE_JEMALLOC): the dispatch path allocates and frees per message (nats.c
// messages, headers, protobuf strings), and jemalloc's thread caches make that cheaper
// than glibc's malloc (docs/operations.md, Memory). Tests, sanitizer and fuzz builds use the
// C library's allocator. Nothing here needs to know at compile time: jemalloc is
// detected at run time through a weak reference to its `mallctl`.
//
// Thread-safety: both functions may be called from any thread.
#pragma once

#include <string_view>

namespace jobgate::gate {

// "jemalloc" or "glibc".
std::string_view HeapAllocatorName();

// Returns the heap's free pages to the OS (jemalloc: purge every arena; glibc:
// malloc_trim). Worth calling after a large, short-lived allocation peak, such as
// compiling a policy; it costs milliseconds, so never per message.
void ReleaseFreeHeapMemory();

}  // namespace jobgate::gate
