#include "plan/plan_format.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace kiln {
namespace {

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

constexpr size_t kHeaderCrcOffset = 60;

std::string hex32(uint32_t v) {
  char buf[16];
  snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

// Large plans are checksummed in chunks on every core and the chunk CRCs combined
// (zlib's crc32_combine): the same CRC-32 as one pass, so the format is unchanged, but a
// BERT-base plan is verified in half the time on two cores. Verifying reads every byte,
// and is most of what loading a plan costs.
uint32_t plan_crc32(const void* data, uint64_t size, uint32_t crc) {
  constexpr uint64_t kChunk = 16ull << 20;
  const auto* bytes = static_cast<const Bytef*>(data);
  if (size < 2 * kChunk) return static_cast<uint32_t>(crc32_z(crc, bytes, static_cast<z_size_t>(size)));
  const int64_t chunks = static_cast<int64_t>((size + kChunk - 1) / kChunk);
  std::vector<uLong> partial(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < chunks; ++i) {
    const uint64_t begin = static_cast<uint64_t>(i) * kChunk;
    const uint64_t len = std::min(kChunk, size - begin);
    partial[i] = crc32_z(0, bytes + begin, static_cast<z_size_t>(len));
  }
  uLong combined = crc;
  for (int64_t i = 0; i < chunks; ++i) {
    const uint64_t len = std::min(kChunk, size - static_cast<uint64_t>(i) * kChunk);
    combined = crc32_combine64(combined, partial[i], static_cast<z_off64_t>(len));
  }
  return static_cast<uint32_t>(combined);
}

std::array<uint8_t, kPlanHeaderSize> encode_plan_header(const PlanHeader& h) {
  std::array<uint8_t, kPlanHeaderSize> b{};
  std::memcpy(b.data(), kPlanMagic, sizeof kPlanMagic);
  put_u32(&b[8], h.format_version);
  put_u32(&b[12], h.header_size);
  put_u64(&b[16], h.file_size);
  put_u64(&b[24], h.metadata_offset);
  put_u64(&b[32], h.metadata_size);
  put_u64(&b[40], h.weights_offset);
  put_u64(&b[48], h.weights_size);
  put_u32(&b[56], h.payload_crc32);
  put_u32(&b[kHeaderCrcOffset], plan_crc32(b.data(), kHeaderCrcOffset));
  return b;
}

Result<PlanHeader> decode_plan_header(const uint8_t* b, uint64_t file_size, const std::string& where) {
  if (file_size == 0) return invalid_model(where + ": the file is empty (0 bytes), not a kiln plan");
  if (file_size < sizeof kPlanMagic && std::memcmp(b, kPlanMagic, file_size) == 0) {
    return invalid_model(where + ": truncated: the file has " + std::to_string(file_size) +
                         " bytes, fewer than the " + std::to_string(kPlanHeaderSize) + "-byte header");
  }
  if (file_size < sizeof kPlanMagic || std::memcmp(b, kPlanMagic, sizeof kPlanMagic) != 0) {
    return invalid_model(where + ": not a kiln plan file (bad magic: it does not start with \"KILNPLAN\"); "
                         "plans are written by kiln --saveEngine");
  }
  if (file_size < kPlanHeaderSize) {
    return invalid_model(where + ": truncated: the file has " + std::to_string(file_size) +
                         " bytes, fewer than the " + std::to_string(kPlanHeaderSize) + "-byte header");
  }
  PlanHeader h;
  h.format_version = get_u32(&b[8]);
  // The version is checked before anything else in the header: another version may lay
  // the header out differently.
  if (h.format_version != kPlanFormatVersion) {
    return unsupported(where + ": the plan has format version " + std::to_string(h.format_version) +
                       ", but this kiln reads format version " + std::to_string(kPlanFormatVersion) +
                       "; rebuild the plan from the ONNX model with this kiln");
  }
  h.header_size = get_u32(&b[12]);
  if (h.header_size != kPlanHeaderSize) {
    return invalid_model(where + ": corrupted header: header size " + std::to_string(h.header_size) +
                         ", expected " + std::to_string(kPlanHeaderSize));
  }
  const uint32_t stored_header_crc = get_u32(&b[kHeaderCrcOffset]);
  const uint32_t header_crc = plan_crc32(b, kHeaderCrcOffset);
  if (stored_header_crc != header_crc) {
    return invalid_model(where + ": corrupted header: header checksum mismatch (stored " + hex32(stored_header_crc) +
                         ", computed " + hex32(header_crc) + ")");
  }
  h.file_size = get_u64(&b[16]);
  h.metadata_offset = get_u64(&b[24]);
  h.metadata_size = get_u64(&b[32]);
  h.weights_offset = get_u64(&b[40]);
  h.weights_size = get_u64(&b[48]);
  h.payload_crc32 = get_u32(&b[56]);
  if (h.file_size != file_size) {
    return invalid_model(where + ": size mismatch: the header records " + std::to_string(h.file_size) +
                         " bytes but the file has " + std::to_string(file_size) +
                         (file_size < h.file_size ? " (truncated)" : " (extra bytes at the end)"));
  }
  // Each comparison is arranged so that no sum can overflow.
  const bool sections_ok = h.metadata_offset == h.header_size && h.metadata_size <= file_size - h.metadata_offset &&
                           h.weights_offset % kPlanAlignment == 0 &&
                           h.weights_offset >= h.metadata_offset + h.metadata_size && h.weights_offset <= file_size &&
                           h.weights_size == file_size - h.weights_offset;
  if (!sections_ok) {
    return invalid_model(where + ": corrupted header: sections metadata [" + std::to_string(h.metadata_offset) + ", +" +
                         std::to_string(h.metadata_size) + ") and weights [" + std::to_string(h.weights_offset) +
                         ", +" + std::to_string(h.weights_size) + ") do not fit a file of " +
                         std::to_string(file_size) + " bytes");
  }
  return h;
}

}  // namespace kiln
