#include "profile_report.h"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "json_util.h"
#include "log.h"

namespace kiln::cli {
namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

ProfileSummary summarize_profile(const std::vector<LayerInfo>& layers, const BenchmarkResult& result) {
  ProfileSummary summary;
  summary.runs = static_cast<int>(result.latencies_ms.size());
  const std::vector<std::vector<double>>& times = result.layer_times_ms;
  std::vector<double> run_totals(static_cast<size_t>(summary.runs), 0.0);
  for (size_t i = 0; i < times.size(); ++i) {
    LayerProfile p;
    p.name = i < layers.size() ? layers[i].name : "layer " + std::to_string(i);
    p.total_ms = std::accumulate(times[i].begin(), times[i].end(), 0.0);
    p.average_ms = times[i].empty() ? 0 : p.total_ms / static_cast<double>(times[i].size());
    p.median_ms = median_of(times[i]);
    for (size_t r = 0; r < times[i].size() && r < run_totals.size(); ++r) run_totals[r] += times[i][r];
    summary.total.total_ms += p.total_ms;
    summary.layers.push_back(std::move(p));
  }
  LayerProfile& total = summary.total;
  total.name = "Total";
  total.average_ms = summary.runs > 0 ? total.total_ms / summary.runs : 0;
  total.median_ms = median_of(run_totals);
  total.percentage = summary.layers.empty() ? 0 : 100;
  for (LayerProfile& p : summary.layers) p.percentage = total.total_ms > 0 ? 100.0 * p.total_ms / total.total_ms : 0;
  return summary;
}

void print_profile(const ProfileSummary& profile) {
  auto row = [](const std::string& time, const std::string& avg, const std::string& median, const std::string& pct,
                const std::string& name) {
    std::ostringstream os;
    os << std::setw(12) << time << std::setw(12) << avg << std::setw(12) << median << std::setw(10) << pct << "   "
       << name;
    return os.str();
  };
  auto fixed = [](double v, int digits) {
    std::ostringstream os;
    os << std::fixed << std::setprecision(digits) << v;
    return os.str();
  };
  log_info("");
  log_info("=== Profile (" + std::to_string(profile.runs) + " iterations ) ===");
  log_info(row("Time(ms)", "Avg.(ms)", "Median(ms)", "Time(%)", "Layer"));
  auto print = [&](const LayerProfile& p) {
    log_info(row(fixed(p.total_ms, 2), fixed(p.average_ms, 4), fixed(p.median_ms, 4), fixed(p.percentage, 1), p.name));
  };
  for (const LayerProfile& p : profile.layers) print(p);
  print(profile.total);
}

Status export_profile(const std::string& path, const ProfileSummary& profile) {
  std::string out = "[\n  {\"count\": " + std::to_string(profile.runs) + "}";
  for (const LayerProfile& p : profile.layers) {
    out += ",\n  {\"name\": " + json_string(p.name) + ", \"timeMs\": " + number(p.total_ms) +
           ", \"averageMs\": " + number(p.average_ms) + ", \"medianMs\": " + number(p.median_ms) +
           ", \"percentage\": " + number(p.percentage) + "}";
  }
  out += "\n]\n";
  return write_file_atomically(path, out).with_context("--exportProfile");
}

Status export_times(const std::string& path, const BenchmarkResult& result) {
  std::string out = "[";
  for (size_t i = 0; i < result.latencies_ms.size(); ++i) {
    const double start = i < result.start_ms.size() ? result.start_ms[i] : 0;
    const double latency = result.latencies_ms[i];
    out += std::string(i ? ",\n  " : "\n  ") + "{\"startHostMs\": " + number(start) +
           ", \"endHostMs\": " + number(start + latency) + ", \"latencyMs\": " + number(latency) + "}";
  }
  out += "\n]\n";
  return write_file_atomically(path, out).with_context("--exportTimes");
}

}  // namespace kiln::cli
