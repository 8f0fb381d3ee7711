// A plan test helper shared by plan_test and packed_plan_test.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "plan/plan.pb.h"
#include "plan/plan_file.h"
#include "plan/plan_format.h"

namespace kiln::test {

// Rewrites a plan's metadata with `edit` and gives it valid checksums, as a buggy or
// hostile writer would: the reader must still check what it parses.
template <typename Edit>
std::string with_metadata(const std::string& plan, Edit edit) {
  PlanHeader h = decode_plan_header(reinterpret_cast<const uint8_t*>(plan.data()), plan.size(), "plan").value();
  planpb::PlanMetadata meta;
  EXPECT_TRUE(meta.ParseFromArray(plan.data() + h.metadata_offset, static_cast<int>(h.metadata_size)));
  edit(meta);
  const std::string m = meta.SerializeAsString();
  const std::string weights = plan.substr(h.weights_offset);
  h.metadata_size = m.size();
  h.weights_offset = align_up(kPlanHeaderSize + m.size(), kPlanAlignment);
  h.file_size = h.weights_offset + weights.size();
  std::string payload = m + std::string(h.weights_offset - kPlanHeaderSize - m.size(), '\0') + weights;
  h.payload_crc32 = plan_crc32(payload.data(), payload.size());
  const auto header = encode_plan_header(h);
  return std::string(header.begin(), header.end()) + payload;
}

}  // namespace kiln::test
