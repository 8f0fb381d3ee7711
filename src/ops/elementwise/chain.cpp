// kiln::ElementwiseChain: runs a chain program (chain.h) over the output in blocks of
// kBlock elements. Each instruction is one loop over the block between small stack
// registers, so the intermediates stay in L1 and every input element is read and every
// output element written once. Inputs of the output's shape are read in place; inputs
// of one element are scalars the loops broadcast; other broadcast inputs (a bias row, a
// [B,1,1,S] mask) are gathered per block by index mapping. The transcendental ops call
// the vector math library on the block, the arithmetic ones are plain loops over
// restrict pointers that GCC vectorizes. Large tensors split their blocks over OpenMP.
#include <algorithm>
#include <cmath>
#include <string>

#include "math/vector_math.h"
#include "ops/elementwise/chain.h"
#include "ops/op_util.h"

namespace kiln::elementwise {
namespace {

constexpr int64_t kBlock = 512;
// Innermost runs at least this long are worked in blocks that do not cross them: a
// broadcast input is then a pointer into its row or a scalar, with nothing to gather.
constexpr int64_t kMinRowRun = 128;
// Elements x instructions below which one thread beats starting the OpenMP team.
constexpr int64_t kParallelWork = int64_t{1} << 18;

// Converts n elements at stride 0 or 1 from `base + offset` to float.
using Loader = void (*)(const void* base, int64_t offset, int64_t stride, float* dst, int64_t n);

template <typename T>
void load_converted(const void* base, int64_t offset, int64_t stride, float* dst, int64_t n) {
  const T* p = static_cast<const T*>(base) + offset;
  if (stride == 0) {
    const float v = load_as<float>(*p);
    for (int64_t i = 0; i < n; ++i) dst[i] = v;
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = load_as<float>(p[i]);
  }
}

// The input dtypes a chain converts on load (those a Cast to float32 folded into it reads).
Loader loader_for(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return load_converted<float>;
    case DType::kFloat64: return load_converted<double>;
    case DType::kFloat16: return load_converted<Float16>;
    case DType::kBFloat16: return load_converted<BFloat16>;
    case DType::kInt8: return load_converted<int8_t>;
    case DType::kUInt8: return load_converted<uint8_t>;
    case DType::kInt32: return load_converted<int32_t>;
    case DType::kInt64: return load_converted<int64_t>;
    case DType::kBool: return load_converted<bool>;
    default: return nullptr;
  }
}

// A block operand: `p` points at the block's elements, or is null and every element is `s`.
struct Arg {
  const float* p;
  float s;
};

struct InputView {
  enum class Mode { kDirect, kScalar, kGather };
  Mode mode = Mode::kScalar;
  const float* direct = nullptr;
  float scalar = 0;
  const void* data = nullptr;
  Loader load = nullptr;
};

// The output's dims with neighbours merged where every input's strides chain, and each
// input's element stride per merged dim (0 along broadcast dims). The innermost stride
// of every input is then 0 or 1.
struct Layout {
  std::vector<int64_t> dims;
  std::vector<int64_t> strides;  // [dim * num_inputs + input]
};

Layout broadcast_layout(const Shape& out, const std::vector<const Shape*>& in) {
  const size_t k_count = in.size();
  Layout l;
  std::vector<int64_t> strides(k_count);
  std::vector<std::vector<int64_t>> per_dim(out.size(), std::vector<int64_t>(k_count));
  for (size_t k = 0; k < k_count; ++k) {
    const Shape& s = *in[k];
    const size_t offset = out.size() - s.size();  // checked by broadcasting: s is not longer
    int64_t stride = 1;
    for (size_t d = out.size(); d-- > 0;) {
      const int64_t dim = d < offset ? 1 : s[d - offset];
      per_dim[d][k] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
  }
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;
    if (!l.dims.empty()) {
      bool chains = true;
      int64_t* last = &l.strides[l.strides.size() - k_count];
      for (size_t k = 0; k < k_count; ++k) chains = chains && last[k] == per_dim[d][k] * out[d];
      if (chains) {
        l.dims.back() *= out[d];
        std::copy(per_dim[d].begin(), per_dim[d].end(), last);
        continue;
      }
    }
    l.dims.push_back(out[d]);
    l.strides.insert(l.strides.end(), per_dim[d].begin(), per_dim[d].end());
  }
  if (l.dims.empty()) {
    l.dims.push_back(1);
    l.strides.assign(k_count, 0);
  }
  return l;
}

// The element of input k that output element `start` reads, and start's index per dim.
int64_t input_offset(const Layout& l, size_t k_count, size_t k, int64_t start, int64_t* idx) {
  int64_t offset = 0;
  for (size_t d = l.dims.size(); d-- > 1;) {
    idx[d] = start % l.dims[d];
    start /= l.dims[d];
    offset += idx[d] * l.strides[d * k_count + k];
  }
  idx[0] = start;  // start < numel, so no division is needed for the outermost dim
  return offset + start * l.strides[k];
}

// Elements [start, start + m) of input k broadcast to the output, gathered into dst.
Arg gather(const Layout& l, size_t k_count, size_t k, const InputView& in, int64_t start, int64_t m, float* dst) {
  float* const first = dst;
  const size_t rank = l.dims.size();
  int64_t idx[kMaxChainRank];
  int64_t offset = input_offset(l, k_count, k, start, idx);
  const int64_t inner = l.dims[rank - 1];
  const int64_t inner_stride = l.strides[(rank - 1) * k_count + k];
  while (m > 0) {
    const int64_t run = std::min(m, inner - idx[rank - 1]);
    in.load(in.data, offset, inner_stride, dst, run);
    dst += run;
    m -= run;
    idx[rank - 1] += run;
    offset += run * inner_stride;
    if (idx[rank - 1] < inner || m == 0) continue;
    idx[rank - 1] = 0;
    offset -= inner * inner_stride;
    for (size_t d = rank - 1; d-- > 0;) {
      const int64_t s = l.strides[d * k_count + k];
      offset += s;
      if (++idx[d] < l.dims[d]) break;
      offset -= s * l.dims[d];
      idx[d] = 0;
    }
  }
  return {first, 0.0f};
}

// The same when the elements lie in one innermost run: the input's run itself when it is
// float32, or its one element as a scalar when it is broadcast along the run.
Arg run_input(const Layout& l, size_t k_count, size_t k, const InputView& in, int64_t start, int64_t m, float* dst) {
  int64_t idx[kMaxChainRank];
  const int64_t offset = input_offset(l, k_count, k, start, idx);
  const int64_t stride = l.strides[(l.dims.size() - 1) * k_count + k];
  if (stride == 0) {
    Arg a{nullptr, 0.0f};
    in.load(in.data, offset, 1, &a.s, 1);
    return a;
  }
  if (in.load == loader_for(DType::kFloat32)) return {static_cast<const float*>(in.data) + offset, 0.0f};
  in.load(in.data, offset, 1, dst, m);
  return {dst, 0.0f};
}

// The loops, over restrict pointers so GCC vectorizes them without overlap checks
// (results never share a register with their operands, see chain_program.cpp). Without
// trapping math GCC may evaluate both sides of a select (LeakyRelu, HardSwish, Max) and
// use vroundps for Floor and Ceil: with it, those loops stay scalar ("control flow in
// loop"). kiln never reads the floating-point exception flags, and the values are the same.
// The libm calls are GCC builtins: std:: wrappers, compiled with other options, would not
// be inlined here.
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
template <typename F>
void loop_vv(const float* __restrict a, const float* __restrict b, float* __restrict y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
}
template <typename F>
void loop_vs(const float* __restrict a, float b, float* __restrict y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b);
}
template <typename F>
void loop_sv(float a, const float* __restrict b, float* __restrict y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(a, b[i]);
}
template <typename F>
void loop_v(const float* __restrict a, float* __restrict y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(a[i]);
}
void fill(float* y, int64_t n, float v) { std::fill(y, y + n, v); }

template <typename F>
void binary(Arg a, Arg b, float* y, int64_t n, F f) {
  if (a.p && b.p) loop_vv(a.p, b.p, y, n, f);
  else if (a.p) loop_vs(a.p, b.s, y, n, f);
  else if (b.p) loop_sv(a.s, b.p, y, n, f);
  else fill(y, n, f(a.s, b.s));
}
template <typename F>
void unary(Arg a, float* y, int64_t n, F f) {
  if (a.p) loop_v(a.p, y, n, f);
  else fill(y, n, f(a.s));
}
void vector_unary(Arg a, float* y, int64_t n, void (*fn)(const float*, float*, int64_t)) {
  if (a.p) {
    fn(a.p, y, n);
  } else {
    float v = a.s;
    fn(&v, &v, 1);
    fill(y, n, v);
  }
}

// Clamps to [lo, hi] with NaN passing through, like Clip and the hard activations.
inline float clamp_to(float v, float lo, float hi) {
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

// One instruction over a block of n elements. The formulas are those of the unfused ops
// (arithmetic.cpp, variadic.cpp, pow.cpp, activations.cpp, unary_math.cpp), so fusing
// changes no result.
void execute(ChainOp op, Arg a, Arg b, float p1, float p2, float* y, int64_t n) {
  switch (op) {
    case ChainOp::kAdd: return binary(a, b, y, n, [](float x, float z) { return x + z; });
    case ChainOp::kSub: return binary(a, b, y, n, [](float x, float z) { return x - z; });
    case ChainOp::kMul: return binary(a, b, y, n, [](float x, float z) { return x * z; });
    case ChainOp::kDiv: return binary(a, b, y, n, [](float x, float z) { return x / z; });
    case ChainOp::kMax:
      return binary(a, b, y, n, [](float x, float z) { return (x != x || z != z) ? x + z : (x < z ? z : x); });
    case ChainOp::kMin:
      return binary(a, b, y, n, [](float x, float z) { return (x != x || z != z) ? x + z : (z < x ? z : x); });
    case ChainOp::kPow:
      // x^2 and x^3 as multiplies, as the Pow kernel does for a single exponent.
      if (!b.p && b.s == 2.0f) return unary(a, y, n, [](float x) { return x * x; });
      if (!b.p && b.s == 3.0f) return unary(a, y, n, [](float x) { return x * x * x; });
      return binary(a, b, y, n, [](float x, float z) { return __builtin_powf(x, z); });
    case ChainOp::kRelu: return unary(a, y, n, [](float x) { return x < 0.0f ? 0.0f : x; });
    case ChainOp::kSigmoid: return vector_unary(a, y, n, math::sigmoid);
    case ChainOp::kTanh: return vector_unary(a, y, n, math::tanh);
    case ChainOp::kExp: return vector_unary(a, y, n, math::exp);
    case ChainOp::kLog: return unary(a, y, n, [](float x) { return __builtin_logf(x); });
    case ChainOp::kNeg: return unary(a, y, n, [](float x) { return -x; });
    case ChainOp::kAbs: return unary(a, y, n, [](float x) { return __builtin_fabsf(x); });
    case ChainOp::kSqrt: return vector_unary(a, y, n, math::sqrt);
    case ChainOp::kErf: return vector_unary(a, y, n, math::erf);
    case ChainOp::kReciprocal: return unary(a, y, n, [](float x) { return 1.0f / x; });
    case ChainOp::kFloor: return unary(a, y, n, [](float x) { return __builtin_floorf(x); });
    case ChainOp::kCeil: return unary(a, y, n, [](float x) { return __builtin_ceilf(x); });
    case ChainOp::kGeluErf: return vector_unary(a, y, n, math::gelu_erf);
    case ChainOp::kGeluTanh: return vector_unary(a, y, n, math::gelu_tanh);
    case ChainOp::kSoftsign: return unary(a, y, n, [](float x) { return x / (1.0f + __builtin_fabsf(x)); });
    case ChainOp::kHardSwish: {
      const float lo = 0.0f, hi = 1.0f;  // variables, not literals: see activations.cpp
      return unary(a, y, n, [lo, hi](float x) { return x * clamp_to(x / 6.0f + 0.5f, lo, hi); });
    }
    case ChainOp::kLeakyRelu: return unary(a, y, n, [p1](float x) { return x < 0.0f ? p1 * x : x; });
    case ChainOp::kClip: return unary(a, y, n, [p1, p2](float x) { return clamp_to(x, p1, p2); });
    case ChainOp::kHardSigmoid: {
      const float lo = 0.0f, hi = 1.0f;
      return unary(a, y, n, [p1, p2, lo, hi](float x) { return clamp_to(p1 * x + p2, lo, hi); });
    }
  }
}

#pragma GCC pop_options

class ElementwiseChainKernel final : public OpKernel {
 public:
  ElementwiseChainKernel(std::string where, ChainProgram program)
      : where_(std::move(where)), program_(std::move(program)) {}

  Status infer(InferContext& ctx) const override {
    std::optional<SymShape> shape = SymShape{};
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      KILN_RETURN_IF_ERROR(check_input_dtype(i, ctx.input_dtype(i)));
      const SymShape* s = ctx.input_shape(i);
      if (!s) shape.reset();
      if (!shape) continue;
      Result<SymShape> b = broadcast_sym_shapes(*shape, *s);
      if (!b.is_ok()) return b.status().with_context(where_);
      shape = std::move(b).value();
    }
    ctx.set_output(0, DType::kFloat32, std::move(shape));
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const size_t k_count = program_.num_inputs;
    if (ctx.num_inputs() != k_count) {
      return invalid_argument(where_ + ": got " + std::to_string(ctx.num_inputs()) + " inputs, the program reads " +
                              std::to_string(k_count));
    }
    std::vector<const Shape*> shapes(k_count);
    Shape out_shape;
    for (size_t k = 0; k < k_count; ++k) {
      const Tensor& t = ctx.input(k);
      KILN_RETURN_IF_ERROR(check_input_dtype(k, t.dtype()));
      shapes[k] = &t.shape();
      Result<Shape> b = broadcast_shapes(out_shape, t.shape());
      if (!b.is_ok()) return b.status().with_context(where_);
      out_shape = std::move(b).value();
    }
    KILN_ASSIGN_OR_RETURN(Tensor * out, prepare_output(ctx, 0, DType::kFloat32, out_shape));
    const int64_t n = out->numel();
    if (n == 0) return Status::ok();

    std::vector<InputView> views(k_count);
    bool any_gather = false;
    for (size_t k = 0; k < k_count; ++k) {
      const Tensor& t = ctx.input(k);
      InputView& v = views[k];
      v.data = t.raw();
      v.load = loader_for(t.dtype());
      if (t.dtype() == DType::kFloat32 && t.numel() == n) {
        v.mode = InputView::Mode::kDirect;
        v.direct = t.data<float>();
      } else if (t.numel() == 1) {
        v.mode = InputView::Mode::kScalar;
        v.load(t.raw(), 0, 1, &v.scalar, 1);
      } else {
        v.mode = InputView::Mode::kGather;
        any_gather = true;
      }
    }
    Layout layout;
    if (any_gather) {
      layout = broadcast_layout(out_shape, shapes);
      if (layout.dims.size() > kMaxChainRank) {
        return unsupported(where_ + ": the broadcast of the inputs over the output " + shape_to_string(out_shape) +
                           " has " + std::to_string(layout.dims.size()) + " separate dims (at most " +
                           std::to_string(kMaxChainRank) + ")");
      }
    }

    float* y = out->data<float>();
    // Blocks of whole runs (a bias row over [N, C] with C >= kMinRowRun) or of kBlock
    // elements that may cross runs (short rows, the [B, 1, 1, S] mask over small S).
    const bool within_runs = any_gather && layout.dims.back() >= kMinRowRun;
    const int64_t run = within_runs ? layout.dims.back() : n;
    const int64_t per_run = (run + kBlock - 1) / kBlock;
    const int64_t blocks = n / run * per_run;
    const int64_t work = n * static_cast<int64_t>(program_.code.size());
#pragma omp parallel for schedule(static) if (blocks > 1 && work >= kParallelWork)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t offset = (b % per_run) * kBlock;
      const int64_t start = b / per_run * run + offset;
      run_block(views, layout, within_runs, start, std::min(kBlock, run - offset), y + start);
    }
    return Status::ok();
  }

 private:
  Status check_input_dtype(size_t i, DType dtype) const {
    if (loader_for(dtype)) return Status::ok();
    return unsupported(where_ + ": input " + std::to_string(i) + " has dtype " + dtype_name(dtype) +
                       "; expected a float, integer or bool type");
  }

  // Elements [start, start + m) of the output, written to y; `within_run` when they lie in
  // one innermost run of the layout.
  void run_block(const std::vector<InputView>& views, const Layout& layout, bool within_run, int64_t start,
                 int64_t m, float* y) const {
    alignas(64) float temps[kMaxChainTemps][kBlock];
    alignas(64) float gathered[kMaxChainInputs][kBlock];
    Arg inputs[kMaxChainInputs];  // left uninitialized: a block has no time to clear them
    const size_t k_count = views.size();
    for (size_t k = 0; k < k_count; ++k) {
      const InputView& v = views[k];
      switch (v.mode) {
        case InputView::Mode::kDirect: inputs[k] = {v.direct + start, 0.0f}; break;
        case InputView::Mode::kScalar: inputs[k] = {nullptr, v.scalar}; break;
        case InputView::Mode::kGather:
          inputs[k] = within_run ? run_input(layout, k_count, k, v, start, m, gathered[k])
                                 : gather(layout, k_count, k, v, start, m, gathered[k]);
          break;
      }
    }
    auto resolve = [&](const ChainOperand& o) -> Arg {
      switch (o.kind) {
        case ChainOperand::Kind::kInput: return inputs[o.index];
        case ChainOperand::Kind::kResult: return {temps[program_.code[o.index].dst], 0.0f};
        case ChainOperand::Kind::kImmediate: return {nullptr, program_.immediates[o.index]};
      }
      return {};
    };
    for (const ChainInstruction& ins : program_.code) {
      const Arg a = resolve(ins.args[0]);
      const Arg b = ins.arity > 1 ? resolve(ins.args[1]) : Arg{};
      const Arg c = ins.arity > 2 ? resolve(ins.args[2]) : Arg{};
      float* dst = ins.dst < 0 ? y : temps[ins.dst];
      // Parameters are immediates (checked by the parser), so their .s holds the value.
      execute(ins.op, a, b, b.s, c.s, dst, m);
    }
  }

  std::string where_;
  ChainProgram program_;
};

}  // namespace

bool chain_loads_dtype(DType dtype) { return loader_for(dtype) != nullptr; }

Result<std::unique_ptr<OpKernel>> make_elementwise_chain(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(ChainProgram program, parse_chain_program(init.node));
  return std::unique_ptr<OpKernel>(std::make_unique<ElementwiseChainKernel>(init.node.describe(), std::move(program)));
}

}  // namespace kiln::elementwise
