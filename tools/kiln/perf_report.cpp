#include "perf_report.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include "log.h"

namespace kiln::cli {

double percentile_of_sorted(const std::vector<double>& sorted, float percentile) {
  // Computed in float like trtexec, so the same latencies pick the same element.
  const int all = static_cast<int>(sorted.size());
  const int exclude = static_cast<int>((1 - percentile / 100) * all);
  return sorted[std::max(all - 1 - exclude, 0)];
}

LatencyStats compute_latency_stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  LatencyStats s;
  s.min = v.front();
  s.max = v.back();
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  const size_t m = v.size() / 2;
  s.median = v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  s.p90 = percentile_of_sorted(v, 90.f);
  s.p95 = percentile_of_sorted(v, 95.f);
  s.p99 = percentile_of_sorted(v, 99.f);
  return s;
}

void print_performance_summary(const BenchmarkResult& r) {
  const LatencyStats s = compute_latency_stats(r.latencies_ms);
  const double qps = r.walltime_s > 0 ? static_cast<double>(r.latencies_ms.size()) / r.walltime_s : 0.0;
  // Default stream formatting (6 significant digits), as trtexec prints.
  std::ostringstream throughput, latency, walltime;
  throughput << "Throughput: " << qps << " qps";
  latency << "Latency: min = " << s.min << " ms, max = " << s.max << " ms, mean = " << s.mean
          << " ms, median = " << s.median << " ms, percentile(90%) = " << s.p90
          << " ms, percentile(95%) = " << s.p95 << " ms, percentile(99%) = " << s.p99 << " ms";
  walltime << "Total Host Walltime: " << r.walltime_s << " s";
  log_info("");
  log_info("=== Performance summary ===");
  log_info(throughput.str());
  log_info(latency.str());
  log_info(walltime.str());
  log_info("Total inferences: " + std::to_string(r.latencies_ms.size()));
}

}  // namespace kiln::cli
