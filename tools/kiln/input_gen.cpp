#include "input_gen.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "kiln/half.h"

namespace kiln::cli {
namespace {

// splitmix64: tiny, fast and fully specified, so the values are the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)

 private:
  uint64_t state_;
};

// Seeded by the input's name (FNV-1a) so one input's values do not change when another
// input is added, removed or loaded from a file.
uint64_t seed_for(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return h ^ 0x6b696c6eull;  // "kiln"
}

template <typename T>
void fill_integers(Tensor& t, Rng& rng, int64_t lo, int64_t hi) {
  T* p = t.data<T>();
  // hi > lo, so the span fits in uint64 even for [INT64_MIN, INT64_MAX).
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  for (int64_t i = 0; i < t.numel(); ++i) {
    p[i] = static_cast<T>(static_cast<uint64_t>(lo) + rng.next() % span);
  }
}

template <typename T, typename Convert>
void fill_floats(Tensor& t, Rng& rng, double lo, double hi, Convert convert) {
  T* p = t.data<T>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = convert(lo + (hi - lo) * rng.unit());
}

template <typename T>
Status check_integer_range(const std::string& name, DType dtype, const ValueRange& r) {
  const std::string where = "--inputRange for input '" + name + "' (" + dtype_name(dtype) + ")";
  if (!r.integral) return invalid_argument(where + ": '" + r.text + "' needs integer bounds");
  // [lo, hi) must hold only values of T: lo >= min and hi - 1 <= max.
  const bool fits = r.ilo >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                    (static_cast<uint64_t>(std::numeric_limits<T>::max()) >= static_cast<uint64_t>(INT64_MAX) ||
                     r.ihi - 1 <= static_cast<int64_t>(std::numeric_limits<T>::max()));
  if (!fits) return invalid_argument(where + ": [" + r.text + ") does not fit the dtype");
  return Status::ok();
}

template <typename T>
Status fill_integer_input(Tensor& t, Rng& rng, const std::string& name, const std::optional<ValueRange>& r) {
  if (!r) {
    fill_integers<T>(t, rng, 0, 2);
    return Status::ok();
  }
  KILN_RETURN_IF_ERROR(check_integer_range<T>(name, t.dtype(), *r));
  fill_integers<T>(t, rng, r->ilo, r->ihi);
  return Status::ok();
}

}  // namespace

Result<Tensor> generate_input(const std::string& name, DType dtype, const Shape& shape,
                              const std::optional<ValueRange>& range) {
  Result<Tensor> allocated = Tensor::allocate(dtype, shape);
  if (!allocated.is_ok()) return allocated.status().with_context("input '" + name + "'");
  Tensor t = std::move(allocated).value();
  Rng rng(seed_for(name));
  const double lo = range ? range->lo : -1.0;
  const double hi = range ? range->hi : 1.0;
  Status s = Status::ok();
  switch (dtype) {
    case DType::kFloat32: fill_floats<float>(t, rng, lo, hi, [](double v) { return static_cast<float>(v); }); break;
    case DType::kFloat64: fill_floats<double>(t, rng, lo, hi, [](double v) { return v; }); break;
    case DType::kFloat16:
      fill_floats<uint16_t>(t, rng, lo, hi, [](double v) { return float_to_half(static_cast<float>(v)); });
      break;
    case DType::kBFloat16:
      fill_floats<uint16_t>(t, rng, lo, hi, [](double v) { return float_to_bfloat16(static_cast<float>(v)); });
      break;
    case DType::kInt8: s = fill_integer_input<int8_t>(t, rng, name, range); break;
    case DType::kInt16: s = fill_integer_input<int16_t>(t, rng, name, range); break;
    case DType::kInt32: s = fill_integer_input<int32_t>(t, rng, name, range); break;
    case DType::kInt64: s = fill_integer_input<int64_t>(t, rng, name, range); break;
    case DType::kUInt8: s = fill_integer_input<uint8_t>(t, rng, name, range); break;
    case DType::kUInt16: s = fill_integer_input<uint16_t>(t, rng, name, range); break;
    case DType::kUInt32: s = fill_integer_input<uint32_t>(t, rng, name, range); break;
    case DType::kUInt64: s = fill_integer_input<uint64_t>(t, rng, name, range); break;
    case DType::kBool: fill_integers<bool>(t, rng, 0, 2); break;
    default:
      return unsupported("input '" + name + "': cannot generate values of dtype " + dtype_name(dtype) +
                         "; give them with --loadInputs");
  }
  if (!s.is_ok()) return s;
  return t;
}

std::string describe_generated(DType dtype, const std::optional<ValueRange>& range) {
  if (dtype == DType::kBool) return "random 0/1";
  if (is_float_dtype(dtype)) {
    return range ? "uniform in [" + range->text.substr(0, range->text.find(':')) + ", " +
                       range->text.substr(range->text.find(':') + 1) + ")"
                 : "uniform in [-1, 1]";
  }
  if (!range) return "uniform integers in [0, 2)";
  return "uniform integers in [" + std::to_string(range->ilo) + ", " + std::to_string(range->ihi) + ")";
}

}  // namespace kiln::cli
