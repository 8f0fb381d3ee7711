// The arena planner against its contract: no two buffers alive at the same time overlap,
// offsets are aligned, and reuse really happens (checked against hand-computed arenas).
#include <gtest/gtest.h>

#include <random>

#include "runtime/memory_plan.h"

namespace kiln {
namespace {

void expect_no_live_overlap(const std::vector<BufferLifetime>& buffers, const MemoryPlan& plan) {
  for (size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % kArenaAlignment, 0);
    EXPECT_LE(plan.offsets[i] + buffers[i].bytes, plan.arena_bytes);
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      const bool live_together = !(buffers[i].last < buffers[j].first || buffers[j].last < buffers[i].first);
      const bool overlap = plan.offsets[i] < plan.offsets[j] + buffers[j].bytes &&
                           plan.offsets[j] < plan.offsets[i] + buffers[i].bytes;
      EXPECT_FALSE(live_together && overlap && buffers[i].bytes > 0 && buffers[j].bytes > 0)
          << "buffers " << i << " and " << j;
    }
  }
}

TEST(MemoryPlanTest, AChainReusesTwoSlots) {
  // a -> b -> c -> d, each read only by the next: two 1 KiB slots suffice.
  std::vector<BufferLifetime> chain = {{1024, 0, 1}, {1024, 1, 2}, {1024, 2, 3}, {1024, 3, 4}};
  MemoryPlan plan = plan_memory(chain);
  expect_no_live_overlap(chain, plan);
  EXPECT_EQ(plan.arena_bytes, 2048);
  EXPECT_EQ(plan.offsets[0], plan.offsets[2]);
}

TEST(MemoryPlanTest, LargestIsPlacedFirstAndSmallOnesFillGaps) {
  // A big buffer alive throughout, two small ones one after another: 4096 + 64.
  std::vector<BufferLifetime> buffers = {{10, 0, 1}, {4096, 0, 5}, {60, 2, 3}};
  MemoryPlan plan = plan_memory(buffers);
  expect_no_live_overlap(buffers, plan);
  EXPECT_EQ(plan.offsets[1], 0);
  EXPECT_EQ(plan.arena_bytes, 4096 + 64);
  EXPECT_EQ(plan.offsets[0], plan.offsets[2]);
}

TEST(MemoryPlanTest, RandomLifetimesNeverOverlapWhileAlive) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferLifetime> buffers;
    int64_t total = 0;
    for (int i = 0; i < 40; ++i) {
      const int first = static_cast<int>(rng() % 30);
      const int64_t bytes = static_cast<int64_t>(rng() % 5000);
      buffers.push_back({bytes, first, first + static_cast<int>(rng() % 8)});
      total += (bytes + 63) / 64 * 64;
    }
    MemoryPlan plan = plan_memory(buffers);
    expect_no_live_overlap(buffers, plan);
    EXPECT_LE(plan.arena_bytes, total);
  }
}

}  // namespace
}  // namespace kiln
