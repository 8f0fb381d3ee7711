#include "tensor_spec.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace kiln::cli {
namespace {

// Splits every occurrence of a flag at the commas that are outside single quotes.
std::vector<std::string> split_items(const std::vector<std::string>& args) {
  std::vector<std::string> items;
  for (const std::string& arg : args) {
    std::string cur;
    bool quoted = false;
    for (char c : arg) {
      if (c == '\'') quoted = !quoted;
      if (c == ',' && !quoted) {
        items.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    items.push_back(cur);
  }
  std::vector<std::string> nonempty;  // "a:1,,b:2" and a trailing comma are harmless
  for (std::string& s : items) {
    if (!s.empty()) nonempty.push_back(std::move(s));
  }
  return nonempty;
}

struct NamedItem {
  bool has_name = false;
  std::string name;
  std::string value;
};

// Separates the name from a value that itself holds `value_colons` colons. Unquoted
// names end at the (value_colons+1)-th colon from the right, as in trtexec, so
// "input:0:1x3" names "input:0". Without enough colons the item has no name.
Result<NamedItem> split_name(const std::string& flag, const std::string& item, int value_colons) {
  NamedItem out;
  if (item.front() == '\'') {
    const size_t close = item.find('\'', 1);
    if (close == std::string::npos) {
      return invalid_argument(flag + ": unterminated quote in '" + item + "'");
    }
    if (close + 1 >= item.size() || item[close + 1] != ':') {
      return invalid_argument(flag + ": expected ':' after the quoted name in '" + item + "'");
    }
    out.has_name = true;
    out.name = item.substr(1, close - 1);
    out.value = item.substr(close + 2);
    return out;
  }
  size_t cut = std::string::npos;
  size_t end = item.size();
  for (int i = 0; i <= value_colons; ++i) {
    cut = end == 0 ? std::string::npos : item.rfind(':', end - 1);
    if (cut == std::string::npos) break;
    end = cut;
  }
  if (cut == std::string::npos) {
    out.value = item;
    return out;
  }
  out.has_name = true;
  out.name = item.substr(0, cut);
  out.value = item.substr(cut + 1);
  if (out.name.empty()) return invalid_argument(flag + ": empty input name in '" + item + "'");
  return out;
}

Result<std::vector<NamedItem>> named_items(const std::string& flag, const std::vector<std::string>& args,
                                           const char* syntax) {
  std::vector<NamedItem> out;
  std::map<std::string, bool> seen;
  for (const std::string& item : split_items(args)) {
    KILN_ASSIGN_OR_RETURN(NamedItem n, split_name(flag, item, 0));
    if (!n.has_name) return invalid_argument(flag + ": '" + item + "' is not " + syntax);
    if (seen[n.name]) return invalid_argument(flag + ": input '" + n.name + "' is given twice");
    seen[n.name] = true;
    out.push_back(std::move(n));
  }
  return out;
}

Result<ValueRange> parse_range(const std::string& item, const std::string& text) {
  const std::string where = "--inputRange: '" + item + "'";
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return invalid_argument(where + " is not [name:]LO:HI");
  ValueRange r;
  r.text = text;
  const std::string bounds[2] = {text.substr(0, colon), text.substr(colon + 1)};
  double* d[2] = {&r.lo, &r.hi};
  int64_t* i[2] = {&r.ilo, &r.ihi};
  r.integral = true;
  for (int k = 0; k < 2; ++k) {
    const std::string& b = bounds[k];
    const char* first = b.data();
    const char* last = b.data() + b.size();
    if (!b.empty() && std::from_chars(first, last, *i[k]).ptr == last) {
      *d[k] = static_cast<double>(*i[k]);
      continue;
    }
    r.integral = false;
    char* stop = nullptr;
    *d[k] = b.empty() ? NAN : std::strtod(first, &stop);
    if (b.empty() || stop != last || !std::isfinite(*d[k])) {
      return invalid_argument(where + ": '" + b + "' is not a finite number");
    }
  }
  if (!(r.lo < r.hi)) return invalid_argument(where + ": LO must be less than HI (the range is [LO, HI))");
  return r;
}

}  // namespace

Result<Shape> parse_dims(const std::string& text) {
  Shape shape;
  if (text.empty()) return shape;
  size_t start = 0;
  while (true) {
    const size_t x = text.find('x', start);
    const std::string d = text.substr(start, x == std::string::npos ? std::string::npos : x - start);
    int64_t v = 0;
    const char* last = d.data() + d.size();
    auto [ptr, ec] = std::from_chars(d.data(), last, v);
    if (d.empty() || ec != std::errc() || ptr != last || v < 0) {
      return invalid_argument("'" + text + "' is not a shape like 1x3x224x224 (dim '" + d + "')");
    }
    shape.push_back(v);
    if (x == std::string::npos) break;
    start = x + 1;
  }
  return shape;
}

Result<std::map<std::string, Shape>> parse_shapes(const std::vector<std::string>& args, const std::string& flag) {
  KILN_ASSIGN_OR_RETURN(auto items, named_items(flag, args, "name:dims (e.g. input:1x3x224x224)"));
  std::map<std::string, Shape> out;
  for (const NamedItem& n : items) {
    Result<Shape> s = parse_dims(n.value);
    if (!s.is_ok()) return s.status().with_context(flag + ": input '" + n.name + "'");
    out[n.name] = std::move(s).value();
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_load_inputs(const std::vector<std::string>& args) {
  KILN_ASSIGN_OR_RETURN(auto items, named_items("--loadInputs", args, "name:file.npy"));
  std::map<std::string, std::string> out;
  for (const NamedItem& n : items) {
    if (n.value.empty()) return invalid_argument("--loadInputs: input '" + n.name + "': no file name");
    out[n.name] = n.value;
  }
  return out;
}

Result<InputRanges> parse_input_ranges(const std::vector<std::string>& args) {
  InputRanges out;
  for (const std::string& item : split_items(args)) {
    KILN_ASSIGN_OR_RETURN(NamedItem n, split_name("--inputRange", item, 1));
    KILN_ASSIGN_OR_RETURN(ValueRange r, parse_range(item, n.value));
    if (!n.has_name) {
      if (out.all) return invalid_argument("--inputRange: two ranges without an input name");
      out.all = r;
    } else {
      if (out.by_input.count(n.name)) return invalid_argument("--inputRange: input '" + n.name + "' is given twice");
      out.by_input[n.name] = r;
    }
  }
  return out;
}

}  // namespace kiln::cli
