#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace kiln {

MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers) {
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Largest first; ties by earlier start so the plan does not depend on sort internals.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (buffers[a].bytes != buffers[b].bytes) return buffers[a].bytes > buffers[b].bytes;
    return buffers[a].first < buffers[b].first;
  });
  auto aligned = [](int64_t bytes) { return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; };
  std::vector<size_t> placed;
  for (size_t i : order) {
    const BufferLifetime& b = buffers[i];
    // The already-placed buffers alive at the same time, by offset: gaps between them are
    // the candidates, lowest first.
    std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, end)
    for (size_t j : placed) {
      const BufferLifetime& o = buffers[j];
      if (o.last < b.first || b.last < o.first) continue;
      busy.emplace_back(plan.offsets[j], plan.offsets[j] + aligned(o.bytes));
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    const int64_t need = aligned(b.bytes);
    for (const auto& [start, end] : busy) {
      if (start - offset >= need) break;
      offset = std::max(offset, end);
    }
    plan.offsets[i] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + need);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace kiln
