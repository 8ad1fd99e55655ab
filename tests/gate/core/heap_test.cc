#include "gate/core/heap.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace jobgate::gate {
namespace {

TEST(HeapTest, TestsRunOnTheCLibraryAllocator) {
  // Only the jobgate binary links jemalloc (JOBGATE_JEMALLOC); test binaries do not.
  EXPECT_EQ(HeapAllocatorName(), "glibc");
}

TEST(HeapTest, ReleasingFreePagesLeavesLiveMemoryIntact) {
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 256; ++i) blocks.push_back(std::make_unique<char[]>(64 << 10));
  for (size_t i = 0; i < blocks.size(); i += 2) blocks[i].reset();
  for (size_t i = 1; i < blocks.size(); i += 2) blocks[i][0] = static_cast<char>(i);
  ReleaseFreeHeapMemory();
  for (size_t i = 1; i < blocks.size(); i += 2) EXPECT_EQ(blocks[i][0], static_cast<char>(i));
}

}  // namespace
}  // namespace jobgate::gate
