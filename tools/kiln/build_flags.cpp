#include "build_flags.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "log.h"
#include "passes/pipeline.h"
#include "tensor_spec.h"

namespace kiln::cli {
namespace {

std::string dims_text(const Shape& s) { return s.empty() ? "scalar" : shape_to_string(s); }

std::vector<std::string> split_commas(const std::vector<std::string>& args) {
  std::vector<std::string> items;
  for (const std::string& arg : args) {
    size_t start = 0;
    while (start <= arg.size()) {
      const size_t comma = std::min(arg.find(',', start), arg.size());
      if (comma > start) items.push_back(arg.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return items;
}

// "1024", "1024M", "0.5G", "512K": bytes. Plain numbers are MiB, as in trtexec.
Result<int64_t> parse_size(const std::string& flag, const std::string& text, bool allow_suffix) {
  std::string number = text;
  double unit = 1 << 20;
  if (allow_suffix && !number.empty()) {
    switch (number.back()) {
      case 'K': case 'k': unit = 1 << 10; number.pop_back(); break;
      case 'M': case 'm': unit = 1 << 20; number.pop_back(); break;
      case 'G': case 'g': unit = 1 << 30; number.pop_back(); break;
      default: break;
    }
  }
  char* end = nullptr;
  const double value = number.empty() ? NAN : std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(value)) {
    return invalid_argument(flag + ": '" + text + "' is not a size" +
                            (allow_suffix ? " (MiB, or a number with suffix K, M or G)" : " in MiB"));
  }
  const double bytes = value * unit;
  if (!(bytes >= 1)) return invalid_argument(flag + ": the size must be positive, got '" + text + "'");
  if (bytes >= 0x1p62) return invalid_argument(flag + ": '" + text + "' is too large");
  return static_cast<int64_t>(bytes);
}

Result<std::vector<std::string>> parse_disabled_passes(const std::vector<std::string>& args) {
  const std::vector<std::string> known = pass_names();
  std::vector<std::string> out;
  for (const std::string& name : split_commas(args)) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return invalid_argument("--disablePasses: kiln has no pass named '" + name + "' (its passes: " +
                              (list.empty() ? std::string("none") : list) + ")");
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return out;
}

const char* const kShapeFlags[3] = {"--minShapes", "--optShapes", "--maxShapes"};

// Same inputs in min, opt and max; the same rank; min <= opt <= max in every dim.
Status check_profile(const ShapeProfile& p, const std::string& where) {
  const std::map<std::string, Shape>* sets[3] = {&p.min, &p.opt, &p.max};
  for (int a = 0; a < 3; ++a) {
    for (const auto& [name, _] : *sets[a]) {
      for (int b = 0; b < 3; ++b) {
        if (!sets[b]->count(name)) {
          return invalid_argument(where + ": input '" + name + "' is in " + kShapeFlags[a] + " but not in " +
                                  kShapeFlags[b] + "; min, opt and max must name the same inputs");
        }
      }
    }
  }
  for (const auto& [name, opt] : p.opt) {
    const Shape& min = p.min.at(name);
    const Shape& max = p.max.at(name);
    const std::string all = " (" + std::string(kShapeFlags[0]) + " " + dims_text(min) + ", " + kShapeFlags[1] +
                            " " + dims_text(opt) + ", " + kShapeFlags[2] + " " + dims_text(max) + ")";
    if (min.size() != opt.size() || opt.size() != max.size()) {
      return invalid_argument(where + ": input '" + name + "': min, opt and max have different ranks (" +
                              std::to_string(min.size()) + ", " + std::to_string(opt.size()) + ", " +
                              std::to_string(max.size()) + ")" + all);
    }
    for (size_t k = 0; k < opt.size(); ++k) {
      const std::string dim = where + ": input '" + name + "' dim " + std::to_string(k) + ": ";
      if (min[k] > max[k]) {
        return invalid_argument(dim + "min " + std::to_string(min[k]) + " > max " + std::to_string(max[k]) + all);
      }
      if (min[k] > opt[k]) {
        return invalid_argument(dim + "min " + std::to_string(min[k]) + " > opt " + std::to_string(opt[k]) + all);
      }
      if (opt[k] > max[k]) {
        return invalid_argument(dim + "opt " + std::to_string(opt[k]) + " > max " + std::to_string(max[k]) + all);
      }
    }
  }
  return Status::ok();
}

Result<std::vector<ShapeProfile>> parse_profiles(const Options& o) {
  const std::vector<std::string>* flags[3] = {&o.min_shapes, &o.opt_shapes, &o.max_shapes};
  const size_t count = std::max({o.min_shapes.size(), o.opt_shapes.size(), o.max_shapes.size()});
  std::vector<ShapeProfile> profiles;
  for (size_t i = 0; i < count; ++i) {
    const std::string where = "profile " + std::to_string(i);
    std::map<std::string, Shape> sets[3];
    bool given[3];
    for (int f = 0; f < 3; ++f) {
      given[f] = i < flags[f]->size();
      if (given[f]) {
        KILN_ASSIGN_OR_RETURN(sets[f], parse_shapes({(*flags[f])[i]}, kShapeFlags[f]));
      }
    }
    ShapeProfile p;
    if (given[1] && !given[0] && !given[2]) {  // only opt: a fixed-shape profile
      p.min = p.opt = p.max = sets[1];
    } else if (given[0] && given[2]) {
      p.min = sets[0];
      p.max = sets[2];
      p.opt = given[1] ? sets[1] : sets[2];  // trtexec: opt defaults to max
    } else {
      return invalid_argument(where + ": " + std::string(given[0] ? "--maxShapes" : "--minShapes") +
                              " is missing (give the i-th --minShapes, --optShapes and --maxShapes for profile i; "
                              "--optShapes alone makes min = max = opt)");
    }
    KILN_RETURN_IF_ERROR(check_profile(p, where));
    profiles.push_back(std::move(p));
  }
  return profiles;
}

}  // namespace

Result<int64_t> parse_mem_pool_size(const std::vector<std::string>& args) {
  int64_t workspace = 0;
  for (const std::string& item : split_commas(args)) {
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos) {
      return invalid_argument("--memPoolSize: '" + item + "' is not pool:size (e.g. workspace:1024)");
    }
    const std::string pool = item.substr(0, colon);
    KILN_ASSIGN_OR_RETURN(int64_t bytes, parse_size("--memPoolSize: pool '" + pool + "'", item.substr(colon + 1), true));
    if (pool == "workspace") {
      workspace = bytes;
    } else if (pool == "dlaSRAM" || pool == "dlaLocalDRAM" || pool == "dlaGlobalDRAM" || pool == "tacticSharedMem") {
      log_warning("--memPoolSize: pool '" + pool + "' is a TensorRT GPU pool; kiln runs on the CPU and ignores it");
    } else {
      return invalid_argument("--memPoolSize: unknown pool '" + pool + "' (kiln has: workspace)");
    }
  }
  return workspace;
}

Result<BuildOptions> parse_build_options(const Options& o) {
  BuildOptions build;
  KILN_ASSIGN_OR_RETURN(build.profiles, parse_profiles(o));
  KILN_ASSIGN_OR_RETURN(build.disabled_passes, parse_disabled_passes(o.disable_passes));
  KILN_ASSIGN_OR_RETURN(build.workspace_limit_bytes, parse_mem_pool_size(o.mem_pool_size));
  if (!o.workspace.empty()) {
    log_warning("--workspace flag has been deprecated by --memPoolSize flag.");  // trtexec's words
    KILN_ASSIGN_OR_RETURN(int64_t bytes, parse_size("--workspace", o.workspace, false));
    if (build.workspace_limit_bytes == 0) build.workspace_limit_bytes = bytes;
  }
  if (!o.load_engine.empty()) {
    const bool build_flags = !build.profiles.empty() || !build.disabled_passes.empty() ||
                             build.workspace_limit_bytes != 0;
    if (build_flags) log_warning("build flags are ignored with --loadEngine: the plan keeps those it was built with");
    return BuildOptions();
  }
  if (build.profiles.empty() && !o.shapes.empty()) {
    // As trtexec: without profile flags, --shapes at build time is a profile with
    // min = opt = max, so the plan is specialized (and its weights packed) for them.
    using ShapeMap = std::map<std::string, Shape>;
    KILN_ASSIGN_OR_RETURN(ShapeMap shapes, parse_shapes(o.shapes));
    build.profiles.push_back(ShapeProfile{shapes, shapes, shapes});
  }
  if (!build.profiles.empty() && o.profile >= static_cast<int>(build.profiles.size())) {
    return invalid_argument("--profile=" + std::to_string(o.profile) + ", but only " +
                            std::to_string(build.profiles.size()) + " profile(s) are given (indices from 0)");
  }
  if (build.profiles.empty() && o.profile != 0) {
    return invalid_argument("--profile=" + std::to_string(o.profile) +
                            ", but no profiles are given (--minShapes, --optShapes, --maxShapes)");
  }
  return build;
}

}  // namespace kiln::cli
