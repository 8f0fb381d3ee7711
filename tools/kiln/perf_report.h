// trtexec's performance summary: the same lines, the same statistics (nearest-rank
// percentiles on sorted latencies, trtexec's median), so tools that scrape trtexec logs
// can scrape kiln's.
#pragma once

#include <vector>

#include "benchmark.h"

namespace kiln::cli {

struct LatencyStats {
  double min = 0, max = 0, mean = 0, median = 0;
  double p90 = 0, p95 = 0, p99 = 0;
};

// `latencies_ms` must not be empty.
LatencyStats compute_latency_stats(std::vector<double> latencies_ms);

// trtexec's findPercentile() on an ascending list: drops the top floor((1 - p/100) * n).
double percentile_of_sorted(const std::vector<double>& sorted, float percentile);

void print_performance_summary(const BenchmarkResult& result);

}  // namespace kiln::cli
