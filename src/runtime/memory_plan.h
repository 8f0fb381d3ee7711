// Placement of activation buffers in one arena (XNNPACK's memory planner): every buffer
// has a size and a lifetime [first, last] in schedule positions; buffers are placed
// largest first, each at the lowest offset that overlaps no already-placed buffer whose
// lifetime intersects its own.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln {

struct BufferLifetime {
  int64_t bytes = 0;
  int first = 0;  // schedule position that writes it
  int last = 0;   // last schedule position that reads it (inclusive)
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // per buffer, 64-byte aligned
  int64_t arena_bytes = 0;
};

constexpr int64_t kArenaAlignment = 64;

MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers);

}  // namespace kiln
