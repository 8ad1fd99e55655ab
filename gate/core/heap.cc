#include "gate/core/heap.h"

#include <malloc.h>

#include <cstddef>

// Defined only when jemalloc is linked in (it exports mallctl unprefixed on Linux).
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace jobgate::gate {

std::string_view HeapAllocatorName() { return mallctl != nullptr ? "jemalloc" : "glibc"; }

void ReleaseFreeHeapMemory() {
  if (mallctl != nullptr) {
    // "arena.<MALLCTL_ARENAS_ALL>.purge": every arena's unused dirty pages, now, instead
    // of over jemalloc's decay time.
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
  malloc_trim(0);
}

}  // namespace jobgate::gate
