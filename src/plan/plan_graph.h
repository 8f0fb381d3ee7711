// Graph and BuildOptions to and from the plan's metadata message. Tensor bytes are not
// copied into the message: writing assigns each tensor a 64-byte-aligned place in the
// weights section (WeightsLayout); reading makes tensors that point into the mapped
// section (WeightsView). Reading checks every id, dtype, shape and byte range, since a
// plan's checksum proves only that the file is the one written, not that its writer was
// correct.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "kiln/build_options.h"
#include "kiln/status.h"
#include "ops/packed_weight.h"
#include "plan/plan.pb.h"

namespace kiln {

// Where each tensor's bytes go in the weights section, in offset order.
class WeightsLayout {
 public:
  struct Blob {
    const void* data;
    uint64_t size;
    uint64_t offset;  // from the start of the weights section
  };
  // Places `t` (or finds it placed already, when another value shares its buffer) and
  // fills `ref`. Fails for dtypes without a fixed element size.
  Status add(const Tensor& t, const std::string& what, planpb::TensorRef* ref);
  const std::vector<Blob>& blobs() const { return blobs_; }
  uint64_t size() const { return size_; }

 private:
  std::vector<Blob> blobs_;
  std::map<std::pair<const void*, uint64_t>, uint64_t> placed_;
  uint64_t size_ = 0;
};

Status graph_to_proto(const Graph& graph, WeightsLayout& weights, planpb::Graph* out);
// `per_node` is indexed like the graph's nodes; blobs go into `weights` after the graph's.
Status packed_weights_to_proto(const std::vector<std::vector<PackedWeight>>& per_node, WeightsLayout& weights,
                               google::protobuf::RepeatedPtrField<planpb::PackedWeight>* out);
void build_options_to_proto(const BuildOptions& options, planpb::BuildOptions* out);

// The mapped weights section; tensors made from it hold `keep_alive`.
struct WeightsView {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  std::shared_ptr<void> keep_alive;
};

// `where` prefixes messages ("plan file 'x.plan'").
Result<Graph> graph_from_proto(const planpb::Graph& proto, const WeightsView& weights, const std::string& where);
Result<BuildOptions> build_options_from_proto(const planpb::BuildOptions& proto, const std::string& where);
// Per node of `graph` (the plan's, already read); each entry must name a constant input
// of an existing node and bytes inside the weights section. Layout keys are not
// interpreted here: only the backend that made them does.
Result<std::vector<std::vector<PackedWeight>>> packed_weights_from_proto(
    const google::protobuf::RepeatedPtrField<planpb::PackedWeight>& proto, const Graph& graph,
    const WeightsView& weights, const std::string& where);

}  // namespace kiln
