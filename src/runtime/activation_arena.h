// Activation memory of one ExecutionContext. The first run with a new input-shape
// signature allocates from the heap and learns each intermediate's size, lifetime and
// which outputs are views of other buffers; it then plans one arena (memory_plan.h).
// Later runs with that signature place intermediates at their planned offsets: no heap
// allocation for activations. Graph outputs, and buffers a graph output views, stay on
// the heap because they are handed to the caller.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln {

class ActivationArena {
 public:
  static constexpr int kKeepAlive = 1 << 30;  // last use of values that outlive the run

  void begin_run(const std::string& signature, size_t num_values);
  // A buffer for `value`, first written at schedule position `pos`.
  Result<Tensor> allocate(int value, int pos, DType dtype, const Shape& shape);
  // After the node at `pos` ran: notes outputs the kernel replaced (views, late allocations).
  void after_node(const Node& node, const std::vector<Tensor>& values);
  // `last_use` per value: schedule position of its last reader, kKeepAlive for outputs.
  // A plan larger than `limit_bytes` (> 0) is refused, naming what it needs.
  Status end_run(const std::vector<int>& last_use, int64_t limit_bytes = 0);

  int64_t arena_bytes() const { return capacity_; }
  bool planned() const { return plan_ != nullptr; }

 private:
  struct Plan {
    std::vector<int64_t> offsets;  // per value; -1: heap
    std::vector<int64_t> bytes;
    int64_t arena_bytes = 0;
  };
  struct Learning {
    std::vector<int64_t> bytes;        // given by allocate(); 0 if none
    std::vector<int> first;            // schedule position of allocate()
    std::vector<const void*> given;    // the pointer allocate() returned
    std::vector<int> root;             // value whose buffer this one lives in; -1: its own; -2: unplanned
  };
  int root_of(int value) const;

  static constexpr size_t kMaxPlans = 1024;
  std::map<std::string, Plan> plans_;
  const Plan* plan_ = nullptr;
  std::unique_ptr<Learning> learning_;
  std::string signature_;
  std::shared_ptr<uint8_t> memory_;
  int64_t capacity_ = 0;
};

}  // namespace kiln
