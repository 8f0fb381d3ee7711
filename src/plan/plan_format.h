// The fixed header at the start of every plan file, and its checks. Everything here runs
// before a byte of the metadata is parsed: a foreign, truncated or corrupted file is
// refused on the header alone (magic, version, sizes, header checksum) or on the
// checksum of the rest.
//
// Layout (all integers little-endian):
//   0  char[8] magic "KILNPLAN"       32 u64 metadata_size
//   8  u32 format_version             40 u64 weights_offset (a multiple of 64)
//   12 u32 header_size (64)           48 u64 weights_size
//   16 u64 file_size                  56 u32 crc32 of bytes [header_size, file_size)
//   24 u64 metadata_offset (= 64)     60 u32 crc32 of bytes [0, 60)
// then the metadata section (a planpb::PlanMetadata message), zero padding to a multiple
// of 64, and the weights section: every tensor's bytes at a 64-byte-aligned offset.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "kiln/status.h"

namespace kiln {

inline constexpr char kPlanMagic[8] = {'K', 'I', 'L', 'N', 'P', 'L', 'A', 'N'};
// Bump on any change a reader of the previous version would misread.
inline constexpr uint32_t kPlanFormatVersion = 1;
inline constexpr uint32_t kPlanHeaderSize = 64;
// Tensor data alignment in the file; mmap's base is page aligned, so pointers are too.
inline constexpr uint64_t kPlanAlignment = 64;

struct PlanHeader {
  uint32_t format_version = kPlanFormatVersion;
  uint32_t header_size = kPlanHeaderSize;
  uint64_t file_size = 0;
  uint64_t metadata_offset = kPlanHeaderSize;
  uint64_t metadata_size = 0;
  uint64_t weights_offset = 0;
  uint64_t weights_size = 0;
  uint32_t payload_crc32 = 0;  // of bytes [header_size, file_size)
};

inline uint64_t align_up(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

// The 64 header bytes, with the header checksum filled in.
std::array<uint8_t, kPlanHeaderSize> encode_plan_header(const PlanHeader& header);

// Decodes and checks the header of a file of `file_size` bytes whose first
// min(file_size, 64) bytes are `bytes`: magic, format version, header size and checksum,
// the recorded size against the real one, and that the sections lie inside the file.
// The payload checksum is left to the caller. `where` names the file in messages.
Result<PlanHeader> decode_plan_header(const uint8_t* bytes, uint64_t file_size, const std::string& where);

// zlib's crc32 over any length.
uint32_t plan_crc32(const void* data, uint64_t size, uint32_t crc = 0);

}  // namespace kiln
