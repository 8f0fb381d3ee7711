#include "runtime/activation_arena.h"

#include <cstdlib>

#include "runtime/memory_plan.h"

namespace kiln {

void ActivationArena::begin_run(const std::string& signature, size_t num_values) {
  signature_ = signature;
  auto it = plans_.find(signature);
  plan_ = it == plans_.end() ? nullptr : &it->second;
  learning_.reset();
  if (!plan_) {
    learning_ = std::make_unique<Learning>();
    learning_->bytes.assign(num_values, 0);
    learning_->first.assign(num_values, 0);
    learning_->given.assign(num_values, nullptr);
    learning_->root.assign(num_values, -2);
  }
}

Result<Tensor> ActivationArena::allocate(int value, int pos, DType dtype, const Shape& shape) {
  if (plan_) {
    const int64_t offset = plan_->offsets[value];
    KILN_ASSIGN_OR_RETURN(int64_t n, checked_numel(shape));
    if (offset >= 0 && n * static_cast<int64_t>(dtype_size(dtype)) == plan_->bytes[value]) {
      return Tensor::wrap(dtype, shape, memory_.get() + offset);
    }
    return Tensor::allocate(dtype, shape);  // data-dependent size: off the plan
  }
  KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::allocate(dtype, shape));
  if (learning_) {
    learning_->bytes[value] = static_cast<int64_t>(t.nbytes());
    learning_->first[value] = pos;
    learning_->given[value] = t.raw();
    learning_->root[value] = -1;
  }
  return t;
}

int ActivationArena::root_of(int value) const {
  while (learning_->root[value] >= 0) value = learning_->root[value];
  return value;
}

void ActivationArena::after_node(const Node& node, const std::vector<Tensor>& values) {
  if (!learning_) return;
  for (int out : node.outputs) {
    if (out == kNoValue || values[out].raw() == learning_->given[out]) continue;
    // The kernel replaced its output: a view into one of its inputs, or memory of its own.
    learning_->root[out] = -2;
    const auto* p = static_cast<const uint8_t*>(values[out].raw());
    for (int in : node.inputs) {
      if (in == kNoValue || !values[in].defined()) continue;
      const auto* base = static_cast<const uint8_t*>(values[in].raw());
      if (p >= base && p < base + std::max<size_t>(values[in].nbytes(), 1)) {
        learning_->root[out] = in;
        break;
      }
    }
  }
}

Status ActivationArena::end_run(const std::vector<int>& last_use, int64_t limit_bytes) {
  if (!learning_) return Status::ok();
  const size_t n = learning_->bytes.size();
  // A buffer lives until the last use of anything viewing it; one a graph output views
  // escapes to the caller and stays on the heap.
  std::vector<int> end(n, -1);
  std::vector<bool> escapes(n, false);
  for (size_t v = 0; v < n; ++v) {
    if (learning_->root[v] == -2 && learning_->bytes[v] == 0) continue;
    const bool view = learning_->root[v] >= 0;
    if (!view && learning_->root[v] == -2) continue;  // replaced by memory of the kernel's own
    const int r = view ? root_of(static_cast<int>(v)) : static_cast<int>(v);
    if (r < 0 || learning_->root[r] != -1) continue;  // views of inputs or constants
    end[r] = std::max(end[r], last_use[v]);
    if (last_use[v] >= kKeepAlive) escapes[r] = true;
  }
  std::vector<BufferLifetime> buffers;
  std::vector<int> buffer_value;
  for (size_t v = 0; v < n; ++v) {
    if (learning_->root[v] != -1 || escapes[v] || end[v] < 0 || learning_->bytes[v] == 0) continue;
    buffers.push_back({learning_->bytes[v], learning_->first[v], end[v]});
    buffer_value.push_back(static_cast<int>(v));
  }
  MemoryPlan memory = plan_memory(buffers);
  Plan plan;
  plan.offsets.assign(n, -1);
  plan.bytes.assign(n, 0);
  for (size_t b = 0; b < buffers.size(); ++b) {
    plan.offsets[buffer_value[b]] = memory.offsets[b];
    plan.bytes[buffer_value[b]] = buffers[b].bytes;
  }
  plan.arena_bytes = memory.arena_bytes;
  if (limit_bytes > 0 && plan.arena_bytes > limit_bytes) {
    learning_.reset();
    return resource_exhausted("input shapes " + signature_ + " need " + std::to_string(plan.arena_bytes) +
                              " bytes of activation memory, more than the workspace limit of " +
                              std::to_string(limit_bytes) + " bytes (--memPoolSize=workspace:N)");
  }
  if (plan.arena_bytes > capacity_) {
    void* p = std::aligned_alloc(kArenaAlignment, static_cast<size_t>(plan.arena_bytes));
    if (!p) return resource_exhausted("cannot allocate an activation arena of " + std::to_string(plan.arena_bytes) + " bytes");
    memory_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
    capacity_ = plan.arena_bytes;
  }
  // Bounded like the shape records: a stream of ever-new shapes re-plans instead of
  // growing this context without limit.
  if (plans_.size() >= kMaxPlans) plans_.clear();
  plans_[signature_] = std::move(plan);
  learning_.reset();
  return Status::ok();
}

}  // namespace kiln
