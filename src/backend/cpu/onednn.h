// The CPU backend's link to oneDNN: one engine for the process, a stream per thread,
// plain (row-major) memory descriptors, and translation of oneDNN's exceptions to Status.
// Kernels outside backend/cpu never include oneDNN headers.
#pragma once

#include <functional>
#include <mutex>
#include <map>
#include <memory>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::cpu {

dnnl::engine& onednn_engine();
dnnl::stream& onednn_stream();  // one per thread: streams are not shared across threads

// Row-major descriptor for a contiguous tensor of the given dims.
dnnl::memory::desc plain_desc(const std::vector<int64_t>& dims, dnnl::memory::data_type type);
// Descriptor with explicit strides (transposed operands, broadcast batch dims).
dnnl::memory::desc strided_desc(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides,
                                dnnl::memory::data_type type);

// Attributes every kiln primitive is created with: a user-managed scratchpad. Debian's
// oneDNN is built without concurrent execution support, so in the default (library)
// mode primitives share one scratchpad and two threads running them at once corrupt
// each other. Each thread passes its own scratchpad instead (thread_scratchpad()).
dnnl::primitive_attr default_attr();
// A scratchpad memory for `desc` owned by the calling thread, grown when needed.
dnnl::memory thread_scratchpad(const dnnl::memory::desc& desc);

// Runs `body`, turning a dnnl::error into a Status that names `what`.
Status guard_onednn(const std::string& what, const std::function<void()>& body);

// Per-kernel cache of shape-specific state (primitives, prepacked weights): creating a
// oneDNN primitive costs hundreds of microseconds, a lookup a fraction of one. Bounded so a
// stream of ever-new shapes cannot grow it without limit.
template <typename Entry>
class ShapeCache {
 public:
  using Key = std::vector<int64_t>;
  std::shared_ptr<Entry> find(const Key& key) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : it->second;
  }
  void insert(const Key& key, std::shared_ptr<Entry> entry) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_[key] = std::move(entry);
  }

 private:
  static constexpr size_t kMaxEntries = 64;
  mutable std::mutex mutex_;
  mutable std::map<Key, std::shared_ptr<Entry>> entries_;
};

}  // namespace kiln::cpu
