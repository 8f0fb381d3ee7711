// Reshape and Flatten: new shape, same bytes. run() hands out a view of the input.
#include <map>

#include "ops/op_util.h"
#include "ops/tensor/tensor_ops.h"
#include "ops/tensor/tensor_util.h"

namespace kiln {
namespace {

// Splits a shape's element count into a known factor and a multiset of symbols; false
// when some dim is unknown and unnamed (then nothing can be cancelled).
bool factor_shape(const SymShape& s, int64_t& known, std::map<std::string, int>& symbols) {
  known = 1;
  for (const Dim& d : s) {
    if (d.known()) {
      known *= d.value;
    } else if (!d.symbol.empty()) {
      ++symbols[d.symbol];
    } else {
      return false;
    }
  }
  return true;
}

// The dim that -1 stands for, given the input and the other output dims. Symbols common to
// both sides cancel, so [batch, seq, 768] -> [batch, -1, 64] still resolves when the
// remaining factor is a number or a single symbol.
Result<Dim> resolve_inferred_dim(const SymShape& in, const SymShape& others, const std::vector<int64_t>& req) {
  int64_t in_known = 1, out_known = 1;
  std::map<std::string, int> in_syms, out_syms;
  if (!factor_shape(in, in_known, in_syms) || !factor_shape(others, out_known, out_syms)) {
    return Dim::unknown();
  }
  for (const auto& [sym, count] : out_syms) {
    auto it = in_syms.find(sym);
    if (it == in_syms.end() || it->second < count) return Dim::unknown();
    if ((it->second -= count) == 0) in_syms.erase(it);
  }
  if (out_known == 0) {
    if (!in_syms.empty()) return Dim::unknown();
    return invalid_argument("input 'shape': cannot infer the -1 dim of " + ints_to_string(req) +
                            " when the other dims multiply to 0");
  }
  if (in_syms.empty()) {
    if (in_known % out_known != 0) {
      return invalid_argument("input 'shape': cannot reshape " + sym_shape_to_string(in) + " to " +
                              ints_to_string(req) + " (element counts differ)");
    }
    return Dim(in_known / out_known);
  }
  if (in_syms.size() == 1 && in_syms.begin()->second == 1 && in_known == out_known) {
    return Dim::symbolic(in_syms.begin()->first);
  }
  return Dim::unknown();
}

Result<SymShape> reshape_shape(const SymShape& in, const std::vector<int64_t>& req, bool allowzero) {
  SymShape out(req.size());
  int inferred = -1;
  bool has_zero = false;
  for (size_t i = 0; i < req.size(); ++i) {
    const int64_t r = req[i];
    if (r == -1) {
      if (inferred >= 0) {
        return invalid_argument("input 'shape': " + ints_to_string(req) + " has more than one -1");
      }
      inferred = static_cast<int>(i);
    } else if (r < -1) {
      return invalid_argument("input 'shape': " + ints_to_string(req) + " has invalid dim " +
                              std::to_string(r) + " (expected >= -1)");
    } else if (r == 0 && !allowzero) {
      if (i >= in.size()) {
        return invalid_argument("input 'shape': dim " + std::to_string(i) + " of " + ints_to_string(req) +
                                " is 0 (copy the input dim) but the input has rank " +
                                std::to_string(in.size()));
      }
      out[i] = in[i];
    } else {
      has_zero |= r == 0;
      out[i] = Dim(r);
    }
  }
  if (allowzero && has_zero && inferred >= 0) {
    return invalid_argument("input 'shape': " + ints_to_string(req) +
                            " has both 0 and -1, which allowzero=1 forbids");
  }
  if (inferred >= 0) {
    SymShape others = out;
    others.erase(others.begin() + inferred);
    KILN_ASSIGN_OR_RETURN(out[static_cast<size_t>(inferred)], resolve_inferred_dim(in, others, req));
  } else if (is_concrete(in) && is_concrete(out)) {
    const Dim a = dim_product(in, 0, in.size()), b = dim_product(out, 0, out.size());
    if (a.value != b.value) {
      return invalid_argument("input 'shape': cannot reshape " + sym_shape_to_string(in) + " (" +
                              std::to_string(a.value) + " elements) to " + sym_shape_to_string(out) +
                              " (" + std::to_string(b.value) + ")");
    }
  }
  return out;
}

class ReshapeOp final : public OpKernel {
 public:
  // Reshape-1..4 carry the shape as an attribute; later opsets as input 1.
  ReshapeOp(std::optional<std::vector<int64_t>> attr_shape, bool allowzero)
      : attr_shape_(std::move(attr_shape)), allowzero_(allowzero) {}

  Status infer(InferContext& ctx) const override {
    std::optional<std::vector<int64_t>> req = attr_shape_;
    if (!req) {
      KILN_ASSIGN_OR_RETURN(req, known_int_input(ctx, 1, "shape"));
    }
    const SymShape* in = ctx.input_shape(0);
    if (req && in) {
      KILN_ASSIGN_OR_RETURN(SymShape out, reshape_shape(*in, *req, allowzero_));
      ctx.set_output(0, ctx.input_dtype(0), out);
    } else if (req) {
      // Dims given as numbers are known even when the input's rank is not.
      SymShape out(req->size());
      for (size_t i = 0; i < req->size(); ++i) {
        if ((*req)[i] > 0 || ((*req)[i] == 0 && allowzero_)) out[i] = Dim((*req)[i]);
      }
      ctx.set_output(0, ctx.input_dtype(0), out);
    } else {
      const SymShape* shape_shape = ctx.has_input(1) ? ctx.input_shape(1) : nullptr;
      if (shape_shape && shape_shape->size() == 1 && (*shape_shape)[0].known()) {
        ctx.set_output(0, ctx.input_dtype(0), unknown_dims(static_cast<size_t>((*shape_shape)[0].value)));
      } else {
        ctx.set_output(0, ctx.input_dtype(0), std::nullopt);
      }
    }
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> req;
    if (attr_shape_) {
      req = *attr_shape_;
    } else {
      if (ctx.input(1).rank() != 1) {
        return invalid_argument("input 'shape' has shape " + shape_to_string(ctx.input(1).shape()) +
                                " (expected rank 1)");
      }
      KILN_ASSIGN_OR_RETURN(req, read_int_values(ctx.input(1), "shape"));
    }
    KILN_ASSIGN_OR_RETURN(SymShape out, reshape_shape(to_sym_shape(x.shape()), req, allowzero_));
    KILN_ASSIGN_OR_RETURN(Tensor view, x.reshaped(to_concrete(out)));
    ctx.set_output(0, std::move(view));
    return Status::ok();
  }

 private:
  std::optional<std::vector<int64_t>> attr_shape_;
  bool allowzero_;
};

class FlattenOp final : public OpKernel {
 public:
  explicit FlattenOp(int64_t axis) : axis_(axis) {}

  Status infer(InferContext& ctx) const override {
    const SymShape* in = ctx.input_shape(0);
    if (!in) {
      ctx.set_output(0, ctx.input_dtype(0), unknown_dims(2));
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(SymShape out, flatten_shape(*in));
    ctx.set_output(0, ctx.input_dtype(0), out);
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(SymShape out, flatten_shape(to_sym_shape(x.shape())));
    KILN_ASSIGN_OR_RETURN(Tensor view, x.reshaped(to_concrete(out)));
    ctx.set_output(0, std::move(view));
    return Status::ok();
  }

 private:
  Result<SymShape> flatten_shape(const SymShape& in) const {
    const int64_t rank = static_cast<int64_t>(in.size());
    // axis may equal rank here (everything goes to the outer dim).
    int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    if (axis < 0 || axis > rank) {
      return invalid_argument("attribute 'axis' " + std::to_string(axis_) + " is out of range for rank " +
                              std::to_string(rank) + " (expected [" + std::to_string(-rank) + ", " +
                              std::to_string(rank) + "])");
    }
    const size_t a = static_cast<size_t>(axis);
    return SymShape{dim_product(in, 0, a), dim_product(in, a, in.size())};
  }

  int64_t axis_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_reshape(const KernelInit& init) {
  std::optional<std::vector<int64_t>> attr_shape;
  if (init.opset < 5) {
    if (!has_attr(init.node, "shape")) {
      return invalid_model(init.node.describe() + ": Reshape-1 needs the attribute 'shape'");
    }
    KILN_ASSIGN_OR_RETURN(attr_shape, attr_ints(init.node, "shape"));
  } else if (init.node.inputs.size() < 2 || init.node.inputs[1] == kNoValue) {
    return invalid_model(init.node.describe() + ": input 'shape' is missing");
  }
  KILN_ASSIGN_OR_RETURN(int64_t allowzero, attr_int(init.node, "allowzero", 0));
  return std::unique_ptr<OpKernel>(new ReshapeOp(std::move(attr_shape), allowzero != 0));
}

Result<std::unique_ptr<OpKernel>> make_flatten(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_int(init.node, "axis", 1));
  return std::unique_ptr<OpKernel>(new FlattenOp(axis));
}

}  // namespace kiln
