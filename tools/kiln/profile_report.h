// Per-layer profile and per-run timing reports: trtexec's --dumpProfile, --exportProfile
// and --exportTimes.
#pragma once

#include <string>
#include <vector>

#include "benchmark.h"
#include "kiln/engine.h"
#include "kiln/status.h"

namespace kiln::cli {

struct LayerProfile {
  std::string name;
  double total_ms = 0, average_ms = 0, median_ms = 0, percentage = 0;
};

struct ProfileSummary {
  int runs = 0;
  std::vector<LayerProfile> layers;  // in execution order; empty when the runs were not profiled
  LayerProfile total;                // over all layers; its median is that of the per-run sums
};

ProfileSummary summarize_profile(const std::vector<LayerInfo>& layers, const BenchmarkResult& result);

// trtexec's "=== Profile (N iterations ) ===" table, then a Total line.
void print_profile(const ProfileSummary& profile);

// [{"count": N}, {"name", "timeMs", "averageMs", "medianMs", "percentage"}, ...], atomically.
Status export_profile(const std::string& path, const ProfileSummary& profile);

// [{"startHostMs", "endHostMs", "latencyMs"}, ...] per timed run, ms from the first
// timed run's start, atomically.
Status export_times(const std::string& path, const BenchmarkResult& result);

}  // namespace kiln::cli
