// MaxPool (with the optional Indices output), AveragePool and LpPool over 1 to 3 spatial
// dims of an NC... tensor. The geometry (pool_geometry.h) gives every output position
// its range of in-bounds taps per axis, so the loops below carry no bounds tests.
#include <cmath>
#include <limits>

#include "ops/nn/nn_common.h"
#include "ops/nn/nn_ops.h"
#include "ops/nn/pool_geometry.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

enum class PoolKind { kMax, kAverage, kLp };

struct PoolParams {
  PoolKind kind = PoolKind::kMax;
  bool count_include_pad = false;  // AveragePool
  float p = 2;                     // LpPool
  bool col_major_indices = false;  // MaxPool storage_order=1
};

// One input row the window of an output row touches: its data and (d, h) coordinates.
template <typename T>
struct WindowRow {
  const T* data;
  int64_t d, h;
};

template <typename T, PoolKind K>
void pool_typed(const T* x, T* y, int64_t* indices, int64_t planes, const std::vector<AxisTaps>& t,
                const PoolParams& prm) {
  using C = CalcType<T>;
  const AxisTaps& td = t[0];
  const AxisTaps& th = t[1];
  const AxisTaps& tw = t[2];
  const int64_t id_n = td.axis.in, ih_n = th.axis.in, iw_n = tw.axis.in;
  const int64_t od_n = td.axis.out, oh_n = th.axis.out, ow_n = tw.axis.out;
  const int64_t dd = td.axis.dilation, dh = th.axis.dilation, dw = tw.axis.dilation;
  const int64_t plane_in = id_n * ih_n * iw_n;
  const int64_t plane_out = od_n * oh_n * ow_n;
  const C p = static_cast<C>(prm.p);
  std::vector<WindowRow<T>> rows;
  rows.reserve(static_cast<size_t>(td.axis.kernel * th.axis.kernel));
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* xp = x + pl * plane_in;
    for (int64_t od = 0; od < od_n; ++od) {
      for (int64_t oh = 0; oh < oh_n; ++oh) {
        // The (d, h) rows under this output row's windows, found once for all of its ow.
        rows.clear();
        for (int64_t jd = td.j0[od]; jd < td.j1[od]; ++jd) {
          const int64_t d = td.base[od] + jd * dd;
          for (int64_t jh = th.j0[oh]; jh < th.j1[oh]; ++jh) {
            const int64_t h = th.base[oh] + jh * dh;
            rows.push_back({xp + (d * ih_n + h) * iw_n, d, h});
          }
        }
        const int64_t o_row = pl * plane_out + (od * oh_n + oh) * ow_n;
        const int64_t pad_dh = td.padded[od] * th.padded[oh];
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          const int64_t base = tw.base[ow], jw0 = tw.j0[ow], jw1 = tw.j1[ow];
          T* out = y + o_row + ow;
          if (rows.empty() || jw0 == jw1) {  // a window wholly in padding
            *out = store_as<T>(C(0));
            if (indices) indices[o_row + ow] = pl * plane_in;
            continue;
          }
          if constexpr (K == PoolKind::kMax) {
            C acc = load_as<C>(rows[0].data[base + jw0 * dw]);
            if (!indices) {
              for (const WindowRow<T>& r : rows) {
                for (int64_t jw = jw0; jw < jw1; ++jw) {
                  const C v = load_as<C>(r.data[base + jw * dw]);
                  acc = v > acc ? v : acc;  // branch-free: random data defeats prediction
                }
              }
            } else {
              int64_t best = (rows[0].d * ih_n + rows[0].h) * iw_n + base + jw0 * dw;
              if (prm.col_major_indices) best = ((base + jw0 * dw) * ih_n + rows[0].h) * id_n + rows[0].d;
              for (const WindowRow<T>& r : rows) {
                for (int64_t jw = jw0; jw < jw1; ++jw) {
                  const int64_t w = base + jw * dw;
                  const C v = load_as<C>(r.data[w]);
                  if (v > acc) {
                    acc = v;
                    best = prm.col_major_indices ? (w * ih_n + r.h) * id_n + r.d : (r.d * ih_n + r.h) * iw_n + w;
                  }
                }
              }
              indices[o_row + ow] = pl * plane_in + best;
            }
            *out = store_as<T>(acc);
          } else {
            C acc = 0;
            for (const WindowRow<T>& r : rows) {
              for (int64_t jw = jw0; jw < jw1; ++jw) {
                const C v = load_as<C>(r.data[base + jw * dw]);
                if constexpr (K == PoolKind::kAverage) acc += v;
                else acc += p == C(2) ? v * v : std::pow(std::abs(v), p);
              }
            }
            if constexpr (K == PoolKind::kAverage) {
              const int64_t n = prm.count_include_pad ? pad_dh * tw.padded[ow]
                                                      : static_cast<int64_t>(rows.size()) * (jw1 - jw0);
              *out = store_as<T>(acc / static_cast<C>(n));
            } else {
              *out = store_as<T>(p == C(2) ? std::sqrt(acc) : std::pow(acc, C(1) / p));
            }
          }
        }
      }
    }
  }
}

class PoolKernel final : public OpKernel {
 public:
  PoolKernel(PoolAttrs attrs, PoolParams params) : attrs_(std::move(attrs)), params_(params) {}

  Status infer(InferContext& ctx) const override {
    const DType dt = ctx.input_dtype(0);
    if (params_.kind != PoolKind::kMax || (dt != DType::kInt8 && dt != DType::kUInt8)) {
      KILN_RETURN_IF_ERROR(expect_float_dtype("X", dt));
    }
    std::optional<SymShape> out;
    if (const SymShape* in = ctx.input_shape(0)) {
      KILN_ASSIGN_OR_RETURN(out, pool_output_shape(attrs_, *in, "X"));
    }
    ctx.set_output(0, dt, out);
    if (ctx.num_outputs() > 1 && ctx.has_output(1)) {
      if (params_.kind != PoolKind::kMax) return invalid_model("only MaxPool has a second output (Indices)");
      ctx.set_output(1, DType::kInt64, out);
    }
    return Status::ok();
  }

  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    KILN_ASSIGN_OR_RETURN(std::vector<AxisTaps> taps, pool_taps_3d(attrs_, x.shape(), "X"));
    Tensor& y = ctx.output(0);
    int64_t* indices = ctx.num_outputs() > 1 && ctx.has_output(1) ? ctx.output(1).data<int64_t>() : nullptr;
    const int64_t planes = x.dim(0) * x.dim(1);
    if (y.numel() == 0) return Status::ok();
    DType dt = x.dtype();
    auto body = [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      switch (params_.kind) {
        case PoolKind::kMax: pool_typed<T, PoolKind::kMax>(x.data<T>(), y.data<T>(), indices, planes, taps, params_); break;
        case PoolKind::kAverage: pool_typed<T, PoolKind::kAverage>(x.data<T>(), y.data<T>(), nullptr, planes, taps, params_); break;
        case PoolKind::kLp: pool_typed<T, PoolKind::kLp>(x.data<T>(), y.data<T>(), nullptr, planes, taps, params_); break;
      }
      return Status::ok();
    };
    if (dt == DType::kInt8) return body(TypeTag<int8_t>{});
    if (dt == DType::kUInt8) return body(TypeTag<uint8_t>{});
    return dispatch_float(dt, body);
  }

 private:
  PoolAttrs attrs_;
  PoolParams params_;
};

}  // namespace

Result<std::unique_ptr<OpKernel>> make_max_pool(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(PoolAttrs attrs, parse_pool_attrs(init.node, true, true));
  PoolParams prm;
  prm.kind = PoolKind::kMax;
  KILN_ASSIGN_OR_RETURN(int64_t order, attr_int(init.node, "storage_order", 0));
  if (order != 0 && order != 1) {
    return invalid_model(init.node.describe() + ": attribute 'storage_order' is " + std::to_string(order) +
                         " (expected 0 or 1)");
  }
  prm.col_major_indices = order == 1;
  return std::unique_ptr<OpKernel>(std::make_unique<PoolKernel>(std::move(attrs), prm));
}

Result<std::unique_ptr<OpKernel>> make_average_pool(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(PoolAttrs attrs, parse_pool_attrs(init.node, true, true));
  PoolParams prm;
  prm.kind = PoolKind::kAverage;
  KILN_ASSIGN_OR_RETURN(int64_t include, attr_int(init.node, "count_include_pad", 0));
  prm.count_include_pad = include != 0;
  return std::unique_ptr<OpKernel>(std::make_unique<PoolKernel>(std::move(attrs), prm));
}

Result<std::unique_ptr<OpKernel>> make_lp_pool(const KernelInit& init) {
  KILN_ASSIGN_OR_RETURN(PoolAttrs attrs, parse_pool_attrs(init.node, true, true));
  PoolParams prm;
  prm.kind = PoolKind::kLp;
  // LpPool-1 has a float p, later opsets an int; attr_float reads both.
  KILN_ASSIGN_OR_RETURN(prm.p, attr_float(init.node, "p", 2.0f));
  if (!(prm.p > 0)) {
    return invalid_model(init.node.describe() + ": attribute 'p' is " + std::to_string(prm.p) + " (expected > 0)");
  }
  return std::unique_ptr<OpKernel>(std::make_unique<PoolKernel>(std::move(attrs), prm));
}

}  // namespace kiln
