#include "ops/reduce/reduce_ops.h"
#include "ops/registry.h"

namespace kiln {

// One entry per opset where an op's inputs or attributes changed; the factories read
// init.opset for the finer differences (axes attribute vs input, TopK's k).
std::span<const OpRegistration> reduce_ops() {
  static const OpRegistration kOps[] = {
      // Axes: attribute up to ReduceSum-11 / the others' opset 13, input from 13 / 18.
      {"", "ReduceSum", 1, make_reduce_sum},
      {"", "ReduceSum", 13, make_reduce_sum},
      {"", "ReduceMean", 1, make_reduce_mean},
      {"", "ReduceMean", 18, make_reduce_mean},
      {"", "ReduceMax", 1, make_reduce_max},
      {"", "ReduceMax", 18, make_reduce_max},
      {"", "ReduceMin", 1, make_reduce_min},
      {"", "ReduceMin", 18, make_reduce_min},
      {"", "ReduceProd", 1, make_reduce_prod},
      {"", "ReduceProd", 18, make_reduce_prod},
      {"", "ReduceL1", 1, make_reduce_l1},
      {"", "ReduceL1", 18, make_reduce_l1},
      {"", "ReduceL2", 1, make_reduce_l2},
      {"", "ReduceL2", 18, make_reduce_l2},
      {"", "ReduceLogSum", 1, make_reduce_log_sum},
      {"", "ReduceLogSum", 18, make_reduce_log_sum},
      {"", "ReduceLogSumExp", 1, make_reduce_log_sum_exp},
      {"", "ReduceLogSumExp", 18, make_reduce_log_sum_exp},
      {"", "ReduceSumSquare", 1, make_reduce_sum_square},
      {"", "ReduceSumSquare", 18, make_reduce_sum_square},
      // select_last_index arrives in opset 12.
      {"", "ArgMax", 1, make_arg_max},
      {"", "ArgMin", 1, make_arg_min},
      // k: attribute in TopK-1, input from TopK-10; largest/sorted from TopK-11.
      {"", "TopK", 1, make_top_k},
      {"", "TopK", 10, make_top_k},
      {"", "TopK", 11, make_top_k},
  };
  return kOps;
}

}  // namespace kiln
