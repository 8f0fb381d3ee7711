#include "plan/cpu_features.h"

namespace kiln {
namespace {

struct KnownFeature {
  const char* name;
  bool (*present)();
};

// __builtin_cpu_supports takes only string literals, hence one entry per feature.
#define KILN_FEATURE(name) {name, [] { return __builtin_cpu_supports(name) != 0; }}
constexpr KnownFeature kKnownFeatures[] = {
    KILN_FEATURE("sse4.1"),   KILN_FEATURE("avx"),      KILN_FEATURE("avx2"),     KILN_FEATURE("fma"),
    KILN_FEATURE("f16c"),     KILN_FEATURE("bmi"),      KILN_FEATURE("bmi2"),     KILN_FEATURE("avx512f"),
    KILN_FEATURE("avx512bw"), KILN_FEATURE("avx512vl"), KILN_FEATURE("avx512dq"), KILN_FEATURE("avx512cd"),
};
#undef KILN_FEATURE

}  // namespace

std::vector<std::string> compiled_cpu_features() {
  std::vector<std::string> f;
#ifdef __AVX2__
  f.push_back("avx2");
#endif
#ifdef __FMA__
  f.push_back("fma");
#endif
#ifdef __F16C__
  f.push_back("f16c");
#endif
#ifdef __BMI2__
  f.push_back("bmi2");
#endif
#ifdef __AVX512F__
  f.push_back("avx512f");
#endif
#ifdef __AVX512BW__
  f.push_back("avx512bw");
#endif
#ifdef __AVX512VL__
  f.push_back("avx512vl");
#endif
#ifdef __AVX512DQ__
  f.push_back("avx512dq");
#endif
  return f;
}

bool cpu_has_feature(const std::string& feature) {
  __builtin_cpu_init();
  for (const KnownFeature& k : kKnownFeatures) {
    if (feature == k.name) return k.present();
  }
  return false;
}

}  // namespace kiln
