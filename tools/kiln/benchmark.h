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
  std::vector<double> start_ms;      // each timed run's start, ms after the first one's
  // With --dumpProfile or --exportProfile: [layer][timed run], layers in layer_info() order.
  std::vector<std::vector<double>> layer_times_ms;
  double walltime_s = 0;             // start of the first timed run to end of the last
};

// Profiles the timed runs (not the warm-up) when --dumpProfile or --exportProfile asks.
// Stops at the first failed run and returns its status. The context's outputs are those
// of the last run.
Result<BenchmarkResult> run_benchmark(ExecutionContext& context, const Options& options);

}  // namespace kiln::cli
