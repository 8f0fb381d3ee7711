// What the first run with one set of input shapes learns about every node: the dtype and
// shape of each output, and which outputs the kernel provides itself (views such as
// Reshape's, or data-sized buffers). Later runs with the same input shapes skip shape
// inference and the allocation of view outputs: XNNPACK's reshape step, done once per
// shape instead of on every run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

struct RecordedOutput {
  DType dtype = DType::kUndefined;
  Shape shape;
  bool allocate = false;  // false: the kernel hands out the tensor (a view, or its own)
};

struct ShapeRecord {
  std::string signature;  // the input shapes as text, for the arena and messages
  // False when some node's output shapes depend on values computed during the run
  // (NonZero, a Reshape to a computed shape): every run of this signature then infers.
  bool reusable = true;
  std::vector<std::vector<RecordedOutput>> outputs;  // per schedule position, per node output
};

// The records of one ExecutionContext, keyed by the input dims. Bounded, so a stream of
// ever-new shapes cannot grow it without limit (past the bound, runs infer as at first).
class ShapeRecords {
 public:
  using Key = std::vector<int64_t>;
  static Key key_of(const std::vector<Tensor>& inputs) {
    Key key;
    for (const Tensor& t : inputs) {
      key.push_back(static_cast<int64_t>(t.rank()));
      key.insert(key.end(), t.shape().begin(), t.shape().end());
    }
    return key;
  }
  const ShapeRecord* find(const Key& key) const {
    auto it = records_.find(key);
    return it == records_.end() ? nullptr : &it->second;
  }
  size_t reusable_count() const {
    size_t n = 0;
    for (const auto& [key, record] : records_) n += record.reusable ? 1 : 0;
    return n;
  }
  void insert(const Key& key, ShapeRecord record) {
    if (records_.size() < kMaxRecords) records_[key] = std::move(record);
  }

 private:
  static constexpr size_t kMaxRecords = 1024;
  std::map<Key, ShapeRecord> records_;
};

}  // namespace kiln
