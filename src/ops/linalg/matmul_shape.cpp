#include "ops/linalg/matmul_shape.h"

#include "ops/op_util.h"

namespace kiln {

Result<SymShape> matmul_output_shape(const SymShape& a_in, const SymShape& b_in) {
  if (a_in.empty() || b_in.empty()) return invalid_argument("MatMul operands must have rank >= 1");
  SymShape a = a_in, b = b_in;
  if (a.size() == 1) a.insert(a.begin(), Dim(1));
  if (b.size() == 1) b.push_back(Dim(1));
  const Dim& ka = a[a.size() - 1];
  const Dim& kb = b[b.size() - 2];
  if (ka.known() && kb.known() && ka.value != kb.value) {
    return invalid_argument("MatMul inner dims differ: A is " + sym_shape_to_string(a_in) + ", B is " +
                            sym_shape_to_string(b_in) + " (" + std::to_string(ka.value) + " vs " +
                            std::to_string(kb.value) + ")");
  }
  KILN_ASSIGN_OR_RETURN(SymShape batch, broadcast_sym_shapes(SymShape(a.begin(), a.end() - 2),
                                                             SymShape(b.begin(), b.end() - 2)));
  SymShape out = batch;
  if (a_in.size() > 1) out.push_back(a[a.size() - 2]);
  if (b_in.size() > 1) out.push_back(b[b.size() - 1]);
  return out;
}

Result<MatmulDims> matmul_dims(const Shape& a_in, const Shape& b_in) {
  if (a_in.empty() || b_in.empty()) return invalid_argument("MatMul operands must have rank >= 1");
  Shape a = a_in, b = b_in;
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  if (a.back() != b[b.size() - 2]) {
    return invalid_argument("MatMul inner dims differ: A is " + shape_to_string(a_in) + ", B is " +
                            shape_to_string(b_in));
  }
  const size_t rank = std::max(a.size(), b.size());
  a.insert(a.begin(), rank - a.size(), 1);
  b.insert(b.begin(), rank - b.size(), 1);
  KILN_ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2)));
  MatmulDims d;
  d.m = a[rank - 2];
  d.k = a[rank - 1];
  d.n = b[rank - 1];
  d.a = a;
  d.b = b;
  d.c = batch;
  d.c.push_back(d.m);
  d.c.push_back(d.n);
  return d;
}

}  // namespace kiln
