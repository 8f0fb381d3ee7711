// The CPU features a plan needs. kiln is compiled for a baseline (x86-64-v3: AVX2, FMA,
// F16C, BMI2, or -march=native with KILN_NATIVE), and its code, not only oneDNN's JIT,
// uses those instructions; a plan records them so that loading it on an older CPU fails
// with a message instead of SIGILL. A plan with packed weights also needs the features of
// the instruction set their layouts were chosen for (an AVX-512 plan refuses to load on
// an AVX2 machine, where oneDNN would pick other layouts and its kernels others still).
#pragma once

#include <string>
#include <vector>

namespace kiln {

// Features this build of kiln was compiled to use, in __builtin_cpu_supports names.
std::vector<std::string> compiled_cpu_features();

// Whether this CPU has `feature`; false for names kiln does not know how to detect.
bool cpu_has_feature(const std::string& feature);

}  // namespace kiln
