// kiln's runtime API. An Engine is built once from a model and is immutable: share it
// between threads. Each request uses its own ExecutionContext (TensorRT's
// ICudaEngine / IExecutionContext split).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/build_options.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln {

// A graph input or output as declared by the model. dims[i] is -1 where the model leaves
// the dim dynamic; dim_names[i] then holds its symbolic name ("batch_size"), if any.
struct TensorDesc {
  std::string name;
  DType dtype = DType::kUndefined;
  bool has_shape = false;  // false when the model does not declare the rank
  std::vector<int64_t> dims;
  std::vector<std::string> dim_names;
  std::string shape_string() const;  // "batch_sizex3x224x224", like trtexec's shapes
};

// One layer of the built engine, as --dumpLayerInfo shows it.
struct LayerInfo {
  std::string name;
  std::string type;                       // op type, or the fused op's
  std::vector<std::string> source_nodes;  // the ONNX nodes it computes
  std::vector<std::string> inputs, outputs;
  std::vector<std::string> input_shapes, output_shapes;  // static, "?"/symbols where dynamic
  std::string precision;                  // dtype of the first output
  std::string implementation;             // the kernel chosen
};

// Constant weights the engine's kernels hold rearranged into the layouts their compute
// library prefers (oneDNN's blocked formats). Kernels pack at the first run of a shape
// that needs a layout they lack; a plan carries what was packed when it was saved.
struct PackedWeightStats {
  int64_t count = 0;      // packed copies held (one per weight and layout)
  int64_t bytes = 0;
  int64_t from_plan = 0;  // of those, loaded with the plan rather than packed here
};

class ExecutionContext;
class EngineImpl;
class ActivationArena;
struct ShapeRecord;
class ShapeRecords;

class Engine {
 public:
  // Imports, verifies and prepares an ONNX model. Errors name the file and the node.
  static Result<std::shared_ptr<Engine>> from_onnx_file(const std::string& path);
  static Result<std::shared_ptr<Engine>> from_onnx_bytes(const std::string& bytes,
                                                         const std::string& name = "<memory>");
  // The build phase: import, optimize for `options`, prepare kernels.
  static Result<std::shared_ptr<Engine>> build_from_onnx(const std::string& path, const BuildOptions& options);
  // The runtime phase without the ONNX file: a plan written by save_plan().
  static Result<std::shared_ptr<Engine>> from_plan_file(const std::string& path);
  // Writes the optimized graph, weights and build options as a plan file, atomically,
  // with the weights the kernels have packed so far (a build packs for every profile's
  // opt shapes); those also make the plan require the CPU features they were packed for.
  Status save_plan(const std::string& path) const;
  ~Engine();

  const std::vector<TensorDesc>& inputs() const;
  const std::vector<TensorDesc>& outputs() const;
  size_t num_nodes() const;           // after the build's optimizations
  const BuildOptions& build_options() const;
  std::vector<LayerInfo> layer_info() const;  // in execution order
  PackedWeightStats packed_weight_stats() const;

  std::unique_ptr<ExecutionContext> create_context() const;

  // Memory planning for concrete input shapes, as the build does it: one inference on
  // zero-valued inputs of `shapes` (inputs not named keep their static shape) under
  // optimization profile `profile`; returns the activation arena's size in bytes. Fails
  // like run() when the plan exceeds the engine's workspace limit, naming what it needs.
  Result<int64_t> plan_activation_memory(const std::map<std::string, Shape>& shapes, int profile = 0) const;
  // What the build planned for each profile's opt shapes (or the static input shapes when
  // there are no profiles); -1 where it was not planned (loaded plans, dynamic shapes).
  const std::vector<int64_t>& planned_activation_bytes() const { return planned_activation_bytes_; }

 private:
  explicit Engine(std::unique_ptr<EngineImpl> impl);
  // The build's memory step: plans every profile's opt shapes, and checks the max shapes
  // against the workspace limit.
  Status plan_memory_at_build();
  std::shared_ptr<const EngineImpl> impl_;
  std::vector<int64_t> planned_activation_bytes_;
  friend class ExecutionContext;
};

class ExecutionContext {
 public:
  ~ExecutionContext();
  // Chooses which of the engine's optimization profiles bounds this context's input
  // shapes (TensorRT's setOptimizationProfileAsync). Profile 0 is the default.
  Status set_optimization_profile(int index);
  int optimization_profile() const { return profile_; }
  // Binds an input. Checks name, dtype, rank, fixed dims and the profile's [min, max]
  // range now; symbolic dims shared by several inputs are checked together in run().
  Status set_input(const std::string& name, const Tensor& tensor);
  Status run();
  // Outputs of the last successful run(), in the model's output order.
  const std::vector<Tensor>& outputs() const { return outputs_; }
  Result<Tensor> output(const std::string& name) const;
  // Per-layer timing of run(), in layer_info() order (trtexec's --dumpProfile).
  void set_profiling(bool enabled) { profiling_ = enabled; }
  // Bytes of this context's activation arena (the largest plan among the input shapes
  // it has run; planned after the first run of each shape).
  int64_t activation_bytes() const;
  const std::vector<double>& last_layer_times_ms() const { return layer_times_ms_; }
  // Input-shape signatures whose first run was recorded for replay: later runs with those
  // shapes skip shape inference. Models whose shapes depend on computed values (NonZero)
  // record none and infer on every run.
  size_t recorded_shape_count() const;

 private:
  friend class Engine;
  explicit ExecutionContext(std::shared_ptr<const EngineImpl> engine);
  std::shared_ptr<const EngineImpl> engine_;
  int profile_ = 0;
  bool profiling_ = false;
  std::vector<double> layer_times_ms_;
  std::vector<Tensor> inputs_;   // per model input
  std::vector<Tensor> outputs_;  // per model output
  std::vector<Tensor> values_;   // per graph value; constants stay bound between runs
  std::unique_ptr<ActivationArena> arena_;
  std::unique_ptr<ShapeRecords> records_;  // per input-shape signature, what its first run learned
  // Reused by every node of every run, so a run allocates none of them.
  std::vector<Tensor> scratch_;
  std::vector<DType> expected_dtypes_;

  // Before node `pos` runs: its output tensors, from `replay` when given, otherwise by
  // shape inference, noted into `learning`.
  Status prepare_outputs(size_t pos, const ShapeRecord* replay, ShapeRecord* learning);
  void record_outputs(size_t pos, const std::vector<const void*>& allocated, ShapeRecord& learning);
};

}  // namespace kiln
