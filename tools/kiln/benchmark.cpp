#include "benchmark.h"

#include <chrono>
#include <sstream>

#include "log.h"

namespace kiln::cli {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

Result<BenchmarkResult> run_benchmark(ExecutionContext& context, const Options& options) {
  BenchmarkResult result;
  const Clock::time_point warm_start = Clock::now();
  while (ms_between(warm_start, Clock::now()) < options.warmup_ms) {
    Status s = context.run();
    if (!s.is_ok()) return s.with_context("inference failed during warm-up");
    ++result.warmup_runs;
  }
  result.warmup_ms = ms_between(warm_start, Clock::now());
  log_info("Warmup completed " + std::to_string(result.warmup_runs) + " queries over " +
           std::to_string(static_cast<long long>(result.warmup_ms + 0.5)) + " ms");

  const bool profile = options.dump_profile || !options.export_profile.empty();
  context.set_profiling(profile);
  const double duration_ms = options.duration_s * 1000.0;
  const Clock::time_point start = Clock::now();
  Clock::time_point end = start;
  Clock::time_point first_start = start;
  while (static_cast<int>(result.latencies_ms.size()) < options.iterations || ms_between(start, end) < duration_ms) {
    const Clock::time_point t0 = Clock::now();
    if (result.latencies_ms.empty()) first_start = t0;
    Status s = context.run();
    end = Clock::now();
    if (!s.is_ok()) {
      context.set_profiling(false);
      return s.with_context("inference failed in iteration " + std::to_string(result.latencies_ms.size() + 1));
    }
    const double ms = ms_between(t0, end);
    result.latencies_ms.push_back(ms);
    result.start_ms.push_back(ms_between(first_start, t0));
    if (profile) {
      const std::vector<double>& layers = context.last_layer_times_ms();
      if (result.layer_times_ms.size() < layers.size()) result.layer_times_ms.resize(layers.size());
      for (size_t i = 0; i < layers.size(); ++i) result.layer_times_ms[i].push_back(layers[i]);
    }
    if (verbose_enabled()) {
      std::ostringstream line;
      line << "Iteration " << result.latencies_ms.size() << ": " << ms << " ms";
      log_verbose(line.str());
    }
  }
  context.set_profiling(false);
  result.walltime_s = ms_between(start, end) / 1000.0;
  std::ostringstream line;
  line << "Timing trace has " << result.latencies_ms.size() << " queries over " << result.walltime_s << " s";
  log_info(line.str());
  return result;
}

}  // namespace kiln::cli
