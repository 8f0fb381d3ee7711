#include "plan/plan_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <new>

#include "plan/plan.pb.h"
#include "plan/plan_graph.h"

#ifndef KILN_VERSION
#define KILN_VERSION "unknown"
#endif

namespace kiln {
namespace {

std::string describe(const std::string& path) { return "plan file '" + path + "'"; }
std::string errno_text() { return std::strerror(errno); }

// --- writing ---

// The temporary file of one write: closed and removed unless the write got to rename().
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (created_ && !renamed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  Status open() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) return io_error("cannot create '" + path_ + "': " + errno_text());
    created_ = true;
    return Status::ok();
  }
  Status write(const void* data, uint64_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      const ssize_t n = ::write(fd_, p, size < (uint64_t{1} << 30) ? size : (uint64_t{1} << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return io_error("cannot write '" + path_ + "': " + errno_text());
      p += n;
      size -= static_cast<uint64_t>(n);
    }
    return Status::ok();
  }
  Status write_at(uint64_t offset, const void* data, size_t size) {
    if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
      return io_error("cannot seek in '" + path_ + "': " + errno_text());
    }
    return write(data, size);
  }
  // fsync, close and rename over `target`.
  Status commit(const std::string& target) {
    if (::fsync(fd_) != 0) return io_error("cannot sync '" + path_ + "': " + errno_text());
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return io_error("cannot close '" + path_ + "': " + errno_text());
    if (::rename(path_.c_str(), target.c_str()) != 0) {
      return io_error("cannot rename '" + path_ + "' to '" + target + "': " + errno_text());
    }
    renamed_ = true;
    return Status::ok();
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool created_ = false;
  bool renamed_ = false;
};

// The rename is durable only once the directory entry is: best effort, since a failure
// here leaves a complete plan in place either way.
void sync_parent_directory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = std::filesystem::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

Result<std::string> serialize_metadata(const planpb::PlanMetadata& meta) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);  // the same engine always gives the same file
    if (!meta.SerializeToCodedStream(&coded)) return internal_error("cannot serialize the plan metadata");
  }
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return resource_exhausted("the plan metadata is " + std::to_string(bytes.size()) +
                              " bytes, more than protobuf's 2 GiB limit");
  }
  return bytes;
}

Status write_plan(const std::string& path, const Graph& graph, const BuildOptions& options,
                  const PlanWriteOptions& write_options, const PlanPackedWeights& packed) {
  planpb::PlanMetadata meta;
  meta.set_kiln_version(KILN_VERSION);
  for (const std::string& f : write_options.cpu_features) meta.add_required_cpu_features(f);
  meta.set_source_model(graph.source_path);
  build_options_to_proto(options, meta.mutable_build_options());
  WeightsLayout weights;
  KILN_RETURN_IF_ERROR(graph_to_proto(graph, weights, meta.mutable_graph()));
  KILN_RETURN_IF_ERROR(packed_weights_to_proto(packed.per_node, weights, meta.mutable_packed_weights()));
  if (!meta.packed_weights().empty()) meta.set_packed_weights_format(packed.format);
  KILN_ASSIGN_OR_RETURN(std::string metadata, serialize_metadata(meta));

  PlanHeader header;
  header.format_version = write_options.format_version;
  header.metadata_size = metadata.size();
  header.weights_offset = align_up(header.metadata_offset + header.metadata_size, kPlanAlignment);
  header.weights_size = weights.size();
  header.file_size = header.weights_offset + header.weights_size;

  TempFile tmp(path + ".tmp." + std::to_string(::getpid()));
  KILN_RETURN_IF_ERROR(tmp.open());
  static constexpr uint8_t kZeros[kPlanAlignment] = {};
  uint32_t crc = 0;
  uint64_t pos = kPlanHeaderSize;
  auto emit = [&](const void* data, uint64_t size) {
    crc = plan_crc32(data, size, crc);
    pos += size;
    return tmp.write(data, size);
  };
  auto pad_to = [&](uint64_t target) { return emit(kZeros, target - pos); };
  // The header goes last, once the checksum is known; a crash before then leaves a temp
  // file with a zero header, which no reader accepts.
  KILN_RETURN_IF_ERROR(tmp.write(kZeros, kPlanHeaderSize));
  KILN_RETURN_IF_ERROR(emit(metadata.data(), metadata.size()));
  KILN_RETURN_IF_ERROR(pad_to(header.weights_offset));
  for (const WeightsLayout::Blob& b : weights.blobs()) {
    KILN_RETURN_IF_ERROR(pad_to(header.weights_offset + b.offset));
    KILN_RETURN_IF_ERROR(emit(b.data, b.size));
  }
  KILN_RETURN_IF_ERROR(pad_to(header.file_size));
  header.payload_crc32 = crc;
  const auto header_bytes = encode_plan_header(header);
  KILN_RETURN_IF_ERROR(tmp.write_at(0, header_bytes.data(), header_bytes.size()));
  KILN_RETURN_IF_ERROR(tmp.commit(path));
  sync_parent_directory(path);
  return Status::ok();
}

// --- reading ---

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A read-only private mapping of a whole file; tensors hold it through shared_ptr.
class Mapping {
 public:
  Mapping(void* data, size_t size) : data_(data), size_(size) {}
  ~Mapping() { ::munmap(data_, size_); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const uint8_t* bytes() const { return static_cast<const uint8_t*>(data_); }

 private:
  void* data_;
  size_t size_;
};

Status read_fully(int fd, uint8_t* out, size_t size, const std::string& where) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(where + ": cannot read: " + errno_text());
    if (n == 0) return io_error(where + ": the file shrank while being read");
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

std::string joined(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

Status check_cpu_features(const planpb::PlanMetadata& meta, const std::string& where) {
  for (const std::string& feature : meta.required_cpu_features()) {
    if (!cpu_has_feature(feature)) {
      return unsupported(where + ": the plan needs the CPU feature '" + feature +
                         "', which this CPU does not have (the plan needs: " +
                         joined(meta.required_cpu_features()) + "); rebuild it from the ONNX model on this machine");
    }
  }
  return Status::ok();
}

Result<PlanContents> read_plan(const std::string& path) {
  const std::string where = describe(path);
  const int raw_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw_fd < 0) {
    if (errno == ENOENT) return not_found(where + " does not exist");
    return io_error("cannot open " + where + ": " + errno_text());
  }
  FileDescriptor fd(raw_fd);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("cannot stat " + where + ": " + errno_text());
  if (S_ISDIR(st.st_mode)) return invalid_argument(where + " is a directory, not a plan file");
  if (!S_ISREG(st.st_mode)) return invalid_argument(where + " is not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  uint8_t header_bytes[kPlanHeaderSize] = {};
  KILN_RETURN_IF_ERROR(read_fully(fd.get(), header_bytes, file_size < kPlanHeaderSize ? file_size : kPlanHeaderSize,
                                  where));
  KILN_ASSIGN_OR_RETURN(PlanHeader header, decode_plan_header(header_bytes, file_size, where));
  if (file_size > SIZE_MAX) return resource_exhausted(where + ": too large to map");

  void* addr = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (addr == MAP_FAILED) return io_error("cannot map " + where + ": " + errno_text());
  auto mapping = std::make_shared<Mapping>(addr, file_size);
  const uint8_t* base = mapping->bytes();

  const uint32_t crc = plan_crc32(base + header.header_size, file_size - header.header_size);
  if (crc != header.payload_crc32) {
    char buf[96];
    snprintf(buf, sizeof buf, "stored 0x%08x, computed 0x%08x", header.payload_crc32, crc);
    return invalid_model(where + ": checksum mismatch (" + buf + "): the file is corrupted");
  }

  planpb::PlanMetadata meta;
  if (header.metadata_size > static_cast<uint64_t>(INT_MAX) ||
      !meta.ParseFromArray(base + header.metadata_offset, static_cast<int>(header.metadata_size))) {
    return invalid_model(where + ": the metadata section cannot be parsed");
  }
  KILN_RETURN_IF_ERROR(check_cpu_features(meta, where));

  PlanContents plan;
  plan.kiln_version = meta.kiln_version();
  plan.source_model = meta.source_model();
  plan.file_size = file_size;
  const WeightsView weights{base + header.weights_offset, header.weights_size, mapping};
  KILN_ASSIGN_OR_RETURN(plan.graph, graph_from_proto(meta.graph(), weights, where));
  plan.graph.source_path = path;
  KILN_ASSIGN_OR_RETURN(plan.options, build_options_from_proto(meta.build_options(), where));
  plan.packed_weights.format = meta.packed_weights_format();
  KILN_ASSIGN_OR_RETURN(plan.packed_weights.per_node,
                        packed_weights_from_proto(meta.packed_weights(), plan.graph, weights, where));
  return plan;
}

}  // namespace

size_t PlanPackedWeights::count() const {
  size_t n = 0;
  for (const auto& node : per_node) n += node.size();
  return n;
}

uint64_t PlanPackedWeights::bytes() const {
  uint64_t n = 0;
  for (const auto& node : per_node) {
    for (const PackedWeight& w : node) n += w.data.nbytes();
  }
  return n;
}

Status write_plan_file(const std::string& path, const Graph& graph, const BuildOptions& options,
                       const PlanWriteOptions& write_options, const PlanPackedWeights& packed) {
  try {
    return write_plan(path, graph, options, write_options, packed).with_context("cannot write " + describe(path));
  } catch (const std::bad_alloc&) {
    return resource_exhausted("cannot write " + describe(path) + ": out of memory");
  }
}

Result<PlanContents> read_plan_file(const std::string& path) {
  try {
    return read_plan(path);
  } catch (const std::bad_alloc&) {
    return resource_exhausted(describe(path) + ": out of memory while loading");
  }
}

}  // namespace kiln
