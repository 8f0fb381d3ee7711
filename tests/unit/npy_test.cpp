// .npy reading and writing, checked against files numpy wrote (tests/unit/data, see the
// README there) and against malformed files.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "io/npy.h"
#include "unit/model_builder.h"

namespace kiln {
namespace {

using test::error_mentions;
using test::read_file;
using test::TempDir;
using test::write_file;

std::string data_file(const std::string& name) { return std::string(KILN_SOURCE_DIR) + "/tests/unit/data/" + name; }

template <typename T>
std::vector<T> values_of(const Tensor& t) {
  std::vector<T> v(static_cast<size_t>(t.numel()));
  if (t.numel()) std::memcpy(v.data(), t.raw(), t.nbytes());
  return v;
}

// A version 1.0 .npy file with the given header dict and data bytes.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const size_t len = header.size();
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  if (major != 1) {
    out += static_cast<char>((len >> 16) & 0xff);
    out += static_cast<char>((len >> 24) & 0xff);
  }
  return out + header + data;
}

std::string f32_dict(const std::string& shape) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
}

// ---- files numpy wrote ----

TEST(Npy, ReadsNumpyFloat32) {
  Result<Tensor> t = read_npy(data_file("f32_2x3.npy"));
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->dtype(), DType::kFloat32);
  EXPECT_EQ(t->shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of<float>(*t), (std::vector<float>{-2, -0.5f, 1, 2.5f, 4, 5.5f}));
}

TEST(Npy, ReadsNumpyInt64) {
  Result<Tensor> t = read_npy(data_file("i64_4.npy"));
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->dtype(), DType::kInt64);
  EXPECT_EQ(t->shape(), (Shape{4}));
  EXPECT_EQ(values_of<int64_t>(*t), (std::vector<int64_t>{-(int64_t{1} << 40), -1, 0, int64_t{1} << 62}));
}

TEST(Npy, ReadsNumpyFloat16) {
  Result<Tensor> t = read_npy(data_file("f16_3.npy"));
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->dtype(), DType::kFloat16);
  EXPECT_EQ(values_of<uint16_t>(*t), (std::vector<uint16_t>{0x3C00, 0x7BFF, 0x8001}));
  EXPECT_EQ(t->get_as_double(1), 65504.0);
}

TEST(Npy, ReadsNumpyBoolScalarEmptyAndVersion2) {
  Result<Tensor> b = read_npy(data_file("bool_2x2.npy"));
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(b->dtype(), DType::kBool);
  EXPECT_EQ(b->shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of<uint8_t>(*b), (std::vector<uint8_t>{1, 0, 0, 1}));

  Result<Tensor> s = read_npy(data_file("scalar_f64.npy"));
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->dtype(), DType::kFloat64);
  EXPECT_EQ(s->rank(), 0u);
  EXPECT_EQ(s->numel(), 1);
  EXPECT_EQ(s->get_as_double(0), 3.25);

  Result<Tensor> e = read_npy(data_file("u8_0x5.npy"));
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  EXPECT_EQ(e->dtype(), DType::kUInt8);
  EXPECT_EQ(e->shape(), (Shape{0, 5}));
  EXPECT_EQ(e->numel(), 0);

  Result<Tensor> v2 = read_npy(data_file("v2_i32.npy"));
  ASSERT_TRUE(v2.is_ok()) << v2.status().to_string();
  EXPECT_EQ(v2->dtype(), DType::kInt32);
  EXPECT_EQ(values_of<int32_t>(*v2), (std::vector<int32_t>{1, 2, 3}));
}

TEST(Npy, RejectsNumpyBigEndianAndFortranOrder) {
  EXPECT_TRUE(error_mentions(read_npy(data_file("be_f32.npy")), {"be_f32.npy", ">f4"}));
  EXPECT_TRUE(error_mentions(read_npy(data_file("fortran_f32.npy")), {"fortran_f32.npy", "Fortran"}));
}

// kiln writes the same bytes numpy does, so files compare equal with cmp.
TEST(Npy, WritesWhatNumpyWrites) {
  TempDir dir;
  for (const char* name : {"f32_2x3.npy", "i64_4.npy", "scalar_f64.npy", "bool_2x2.npy", "u8_0x5.npy"}) {
    Result<Tensor> t = read_npy(data_file(name));
    ASSERT_TRUE(t.is_ok()) << t.status().to_string();
    ASSERT_TRUE(write_npy(dir.file(name), *t).is_ok()) << name;
    EXPECT_EQ(read_file(dir.file(name)), read_file(data_file(name))) << name;
  }
}

// ---- round trip ----

template <typename T>
void expect_round_trip(const TempDir& dir, const Shape& shape) {
  Result<Tensor> t = Tensor::allocate(DTypeOf<T>::value, shape);
  ASSERT_TRUE(t.is_ok());
  for (int64_t i = 0; i < t->numel(); ++i) t->template data<T>()[i] = static_cast<T>((i * 37 + 11) % 101 - 50);
  const std::string path = dir.file("rt_" + dtype_name(t->dtype()) + "_" + shape_to_string(shape) + ".npy");
  Status s = write_npy(path, *t);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  Result<Tensor> back = read_npy(path);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->dtype(), t->dtype());
  EXPECT_EQ(back->shape(), shape);
  ASSERT_EQ(back->nbytes(), t->nbytes());
  EXPECT_EQ(std::memcmp(back->raw(), t->raw(), t->nbytes()), 0) << path;
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp")) << "temporary file left behind";
}

TEST(Npy, RoundTripsEveryDtypeAndRank) {
  TempDir dir;
  for (const Shape& shape : {Shape{}, Shape{1}, Shape{7}, Shape{2, 3}, Shape{2, 0, 3}, Shape{3, 1, 4, 5}}) {
    expect_round_trip<float>(dir, shape);
    expect_round_trip<double>(dir, shape);
    expect_round_trip<int8_t>(dir, shape);
    expect_round_trip<int16_t>(dir, shape);
    expect_round_trip<int32_t>(dir, shape);
    expect_round_trip<int64_t>(dir, shape);
    expect_round_trip<uint8_t>(dir, shape);
    expect_round_trip<uint16_t>(dir, shape);
    expect_round_trip<uint32_t>(dir, shape);
    expect_round_trip<uint64_t>(dir, shape);
  }
  Tensor h = Tensor::from_vector<Float16>({2}, {Float16{0x3C00}, Float16{0xFC00}});
  ASSERT_TRUE(write_npy(dir.file("h.npy"), h).is_ok());
  Result<Tensor> hb = read_npy(dir.file("h.npy"));
  ASSERT_TRUE(hb.is_ok());
  EXPECT_EQ(hb->dtype(), DType::kFloat16);
  EXPECT_EQ(values_of<uint16_t>(*hb), (std::vector<uint16_t>{0x3C00, 0xFC00}));
  Tensor b = Tensor::from_vector<bool>({3}, {true, false, true});
  ASSERT_TRUE(write_npy(dir.file("b.npy"), b).is_ok());
  Result<Tensor> bb = read_npy(dir.file("b.npy"));
  ASSERT_TRUE(bb.is_ok());
  EXPECT_EQ(values_of<uint8_t>(*bb), (std::vector<uint8_t>{1, 0, 1}));
}

TEST(Npy, WriteErrors) {
  TempDir dir;
  const std::string path = dir.file("no/such/folder/x.npy");
  EXPECT_TRUE(error_mentions(write_npy(path, Tensor::scalar(1.0f)), {path}));
  Tensor bf = Tensor::from_vector<BFloat16>({1}, {BFloat16{0x3F80}});  // numpy has no bfloat16
  EXPECT_TRUE(error_mentions(write_npy(dir.file("bf.npy"), bf), {"bfloat16"}));
}

// ---- malformed files ----

TEST(Npy, MissingAndEmptyFiles) {
  TempDir dir;
  auto r = read_npy(dir.file("missing.npy"));
  EXPECT_TRUE(error_mentions(r, {"missing.npy"}));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  write_file(dir.file("empty.npy"), "");
  EXPECT_TRUE(error_mentions(read_npy(dir.file("empty.npy")), {"empty.npy"}));
  EXPECT_TRUE(error_mentions(read_npy(dir.path()), {dir.path()}));
}

TEST(Npy, BadMagicAndVersion) {
  EXPECT_TRUE(error_mentions(parse_npy("PK\x03\x04 this is a zip file", "z.npy"), {"z.npy", "magic"}));
  EXPECT_TRUE(error_mentions(parse_npy(std::string("\x93NUMPY", 6), "short.npy"), {"short.npy"}));
  std::string v4 = npy_bytes(f32_dict("(1,)"), std::string(4, '\0'));
  v4[6] = 4;
  EXPECT_TRUE(error_mentions(parse_npy(v4, "v4.npy"), {"v4.npy", "version 4"}));
  std::string v2 = npy_bytes(f32_dict("(1,)"), std::string(4, '\0'), 2);
  EXPECT_TRUE(parse_npy(v2, "v2.npy").is_ok());
  EXPECT_TRUE(error_mentions(parse_npy(v2.substr(0, 11), "v2cut.npy"), {"v2cut.npy"}));
}

TEST(Npy, TruncatedAtEveryByte) {
  const std::string good = read_file(data_file("f32_2x3.npy"));
  ASSERT_TRUE(parse_npy(good, "good.npy").is_ok());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_TRUE(error_mentions(parse_npy(good.substr(0, n), "cut.npy"), {"cut.npy"})) << "prefix " << n;
  }
  EXPECT_TRUE(error_mentions(parse_npy(good + "x", "long.npy"), {"long.npy", "24 bytes"}));
}

TEST(Npy, HeaderLengthBeyondFile) {
  std::string b = npy_bytes(f32_dict("(1,)"), std::string(4, '\0'));
  b[8] = '\xff';
  b[9] = '\x7f';
  EXPECT_TRUE(error_mentions(parse_npy(b, "h.npy"), {"h.npy", "truncated"}));
}

TEST(Npy, MalformedHeaders) {
  const std::string four(4, '\0');
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes("{'fortran_order': False, 'shape': (1,), }", four), "a.npy"),
                             {"a.npy", "dtype"}));
  EXPECT_TRUE(error_mentions(
      parse_npy(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", four), "c.npy"),
      {"c.npy", "<c8"}));
  EXPECT_TRUE(error_mentions(
      parse_npy(npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", four), "o.npy"),
      {"o.npy", "|O"}));
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False, }", four), "s.npy"),
                             {"s.npy", "shape"}));
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes(f32_dict("(1, x)"), four), "x.npy"), {"x.npy", "shape"}));
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes(f32_dict("(-1,)"), four), "n.npy"), {"n.npy", "shape"}));
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes(f32_dict("(1"), four), "p.npy"), {"p.npy", "shape"}));
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes(f32_dict("[1]"), four), "l.npy"), {"l.npy", "shape"}));
  EXPECT_TRUE(error_mentions(
      parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", four), "f.npy"),
      {"f.npy", "Fortran"}));
}

TEST(Npy, DataSizeMismatch) {
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes(f32_dict("(2, 3)"), std::string(20, '\0')), "d.npy"),
                             {"d.npy", "2x3", "24 bytes", "20"}));
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes(f32_dict("(2, 3)"), std::string(28, '\0')), "d.npy"),
                             {"d.npy", "24 bytes", "28"}));
}

TEST(Npy, HugeShapes) {
  const std::string four(4, '\0');
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes(f32_dict("(99999999999999999999,)"), four), "big.npy"),
                             {"big.npy"}));
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes(f32_dict("(4294967296, 4294967296, 4294967296)"), four), "o.npy"),
                             {"o.npy"}));
  EXPECT_TRUE(error_mentions(parse_npy(npy_bytes(f32_dict("(1000000000000,)"), four), "t.npy"), {"t.npy"}));
}

#if !defined(__SANITIZE_ADDRESS__)
[[noreturn]] void parse_oversized_npy_and_exit() {
  rlimit limit{};
  limit.rlim_cur = limit.rlim_max = rlim_t{4} << 30;
  setrlimit(RLIMIT_AS, &limit);
  auto r = parse_npy(npy_bytes(f32_dict("(4294967296,)"), std::string(4, '\0')), "huge.npy");
  const bool good = !r.is_ok() && r.status().message().find("the file has 4") != std::string::npos;
  if (!good) fprintf(stderr, "got: %s\n", r.status().to_string().c_str());
  std::exit(good ? 0 : 1);
}

// A header that claims 16 GiB over 4 bytes of data is refused by comparing sizes, not by
// first trying to allocate 16 GiB: run under a 4 GiB address-space limit.
TEST(Npy, OversizedShapeIsRejectedBeforeAllocating) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(parse_oversized_npy_and_exit(), ::testing::ExitedWithCode(0), "");
}
#endif

}  // namespace
}  // namespace kiln
