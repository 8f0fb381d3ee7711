// The timing loop, trtexec's rules: warm up for --warmUp ms, then run until both
// --iterations runs and --duration seconds are done.
#pragma once

#include <vector>

#include "kiln/engine.h"
#include "options.h"

namespace kiln::cli {

struct BenchmarkResult {
  int warmup_runs = 0;
  double warmup_ms = 0;
  std::vector<double> latencies_ms;  // one per timed run, in run order
  double walltime_s = 0;             // start of the first timed run to end of the last
};

// Stops at the first failed run and returns its status. The context's outputs are those
// of the last run.
Result<BenchmarkResult> run_benchmark(ExecutionContext& context, const Options& options);

}  // namespace kiln::cli
