// GatherND and ScatterND: the last dim of `indices` holds a coordinate prefix into
// `data`; each coordinate selects (or receives) a whole trailing slice. All coordinates
// are checked before any data moves.
#include <cstring>

#include "ops/op_util.h"
#include "ops/tensor/scatter_reduce.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

// Converts each coordinate tuple of `indices` (last dim k) into an element offset within
// one batch of `data`, whose dims from `batch_dims` on are `dims`.
Result<std::vector<int64_t>> coordinate_offsets(const Tensor& indices, const Shape& data, size_t batch_dims,
                                                size_t k) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, read_int_values(indices, "indices"));
  const std::vector<int64_t> strides = contiguous_strides(Shape(data.begin() + static_cast<int64_t>(batch_dims), data.end()));
  std::vector<int64_t> offsets(k ? idx.size() / k : 0);
  for (size_t t = 0; t < offsets.size(); ++t) {
    int64_t off = 0;
    for (size_t m = 0; m < k; ++m) {
      int64_t i = idx[t * k + m];
      const int64_t dim = data[batch_dims + m];
      if (!wrap_index(i, dim)) return index_out_of_range("indices", idx[t * k + m], static_cast<int64_t>(batch_dims + m), dim);
      off += i * strides[m];
    }
    offsets[t] = off;
  }
  return offsets;
}

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= s[i];
  return p;
}

class GatherNDOp final : public OpKernel {
 public:
  explicit GatherNDOp(int64_t batch_dims) : b_(batch_dims) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* data = ctx.input_shape(0);
    const SymShape* indices = ctx.input_shape(1);
    if (!data || !indices || indices->empty() || !indices->back().known()) {
      ctx.set_output(0, ctx.input_dtype(0), std::nullopt);
      return Status::ok();
    }
    const int64_t k = indices->back().value;
    KILN_RETURN_IF_ERROR(check_ranks(static_cast<int64_t>(data->size()), static_cast<int64_t>(indices->size()), k));
    SymShape out(indices->begin(), indices->end() - 1);
    out.insert(out.end(), data->begin() + b_ + k, data->end());
    ctx.set_output(0, ctx.input_dtype(0), out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    if (indices.rank() == 0) return invalid_argument("input 'indices' must have rank >= 1");
    const int64_t k = indices.shape().back();
    KILN_RETURN_IF_ERROR(check_ranks(static_cast<int64_t>(data.rank()), static_cast<int64_t>(indices.rank()), k));
    const size_t b = static_cast<size_t>(b_);
    for (size_t d = 0; d < b; ++d) {
      if (indices.dim(d) != data.dim(d)) {
        return invalid_argument("input 'indices' has shape " + shape_to_string(indices.shape()) +
                                ", whose batch dims differ from input 'data', " + shape_to_string(data.shape()));
      }
    }
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> offsets,
                          coordinate_offsets(indices, data.shape(), b, static_cast<size_t>(k)));
    Shape out_shape(indices.shape().begin(), indices.shape().end() - 1);
    out_shape.insert(out_shape.end(), data.shape().begin() + b_ + k, data.shape().end());
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, data.dtype(), out_shape));
    const size_t elem = dtype_size(data.dtype());
    const int64_t batches = product(data.shape(), 0, b);
    const int64_t batch_size = product(data.shape(), b, data.rank());
    const int64_t slice = product(data.shape(), b + static_cast<size_t>(k), data.rank());
    const int64_t per_batch = batches ? static_cast<int64_t>(offsets.size()) / batches : 0;
    const char* src = static_cast<const char*>(data.raw());
    char* dst = static_cast<char*>(y->raw());
    const size_t slice_bytes = static_cast<size_t>(slice) * elem;
    for (int64_t bi = 0; bi < batches; ++bi) {
      for (int64_t j = 0; j < per_batch; ++j) {
        const int64_t off = bi * batch_size + offsets[static_cast<size_t>(bi * per_batch + j)];
        std::memcpy(dst, src + static_cast<size_t>(off) * elem, slice_bytes);
        dst += slice_bytes;
      }
    }
    return Status::ok();
  }

 private:
  Status check_ranks(int64_t r, int64_t q, int64_t k) const {
    if (q < 1 || r < 1 || b_ >= std::min(r, q) || k < 1 || k > r - b_) {
      return invalid_argument("inputs 'data' (rank " + std::to_string(r) + ") and 'indices' (rank " +
                              std::to_string(q) + ", last dim " + std::to_string(k) + ") do not fit batch_dims " +
                              std::to_string(b_) + " (expected batch_dims < both ranks and 1 <= last dim <= " +
                              std::to_string(r - b_) + ")");
    }
    return Status::ok();
  }

  int64_t b_;
};

class ScatterNDOp final : public OpKernel {
 public:
  explicit ScatterNDOp(ScatterReduction r) : reduction_(r) {}

  Status infer(InferContext& ctx) const override { return infer_same_as_input(ctx); }

  Status run(RunContext& ctx) const override {
    const Tensor& data = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    const Tensor& updates = ctx.input(2);
    if (updates.dtype() != data.dtype()) {
      return invalid_argument("input 'updates' has dtype " + dtype_name(updates.dtype()) + " (expected " +
                              dtype_name(data.dtype()) + " like 'data')");
    }
    if (indices.rank() == 0 || indices.shape().back() < 1 ||
        indices.shape().back() > static_cast<int64_t>(data.rank())) {
      return invalid_argument("input 'indices' has shape " + shape_to_string(indices.shape()) +
                              " (expected rank >= 1 and a last dim in [1, " + std::to_string(data.rank()) + "])");
    }
    const size_t k = static_cast<size_t>(indices.shape().back());
    Shape expected(indices.shape().begin(), indices.shape().end() - 1);
    expected.insert(expected.end(), data.shape().begin() + static_cast<int64_t>(k), data.shape().end());
    if (updates.shape() != expected) {
      return invalid_argument("input 'updates' has shape " + shape_to_string(updates.shape()) + " (expected " +
                              shape_to_string(expected) + ")");
    }
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> offsets, coordinate_offsets(indices, data.shape(), 0, k));
    KILN_ASSIGN_OR_RETURN(Tensor * y, prepare_output(ctx, 0, data.dtype(), data.shape()));
    if (y->raw() != data.raw() && data.nbytes()) std::memcpy(y->raw(), data.raw(), data.nbytes());
    const int64_t slice = product(data.shape(), k, data.rank());
    if (reduction_ == ScatterReduction::kNone) {
      const size_t elem = dtype_size(data.dtype());
      char* dst = static_cast<char*>(y->raw());
      const char* src = static_cast<const char*>(updates.raw());
      for (size_t t = 0; t < offsets.size(); ++t) {
        std::memcpy(dst + static_cast<size_t>(offsets[t]) * elem, src + t * static_cast<size_t>(slice) * elem,
                    static_cast<size_t>(slice) * elem);
      }
      return Status::ok();
    }
    return dispatch_all(data.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* dst = y->data<T>();
      const T* src = updates.data<T>();
      for (size_t t = 0; t < offsets.size(); ++t) {
        T* row = dst + offsets[t];
        const T* upd = src + static_cast<int64_t>(t) * slice;
        for (int64_t e = 0; e < slice; ++e) row[e] = scatter_combine(row[e], upd[e], reduction_);
      }
      return Status::ok();
    });
  }

 private:
  ScatterReduction reduction_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_gather_nd(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t batch_dims, attr_int(init.node, "batch_dims", 0));
  if (batch_dims < 0) {
    return invalid_model(init.node.describe() + ": attribute 'batch_dims' is " + std::to_string(batch_dims) +
                         " (expected >= 0)");
  }
  return std::unique_ptr<OpKernel>(new GatherNDOp(batch_dims));
}

Result<std::unique_ptr<OpKernel>> make_scatter_nd(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(ScatterReduction r, parse_scatter_reduction(init.node));
  return std::unique_ptr<OpKernel>(new ScatterNDOp(r));
}

}  // namespace kiln
