# The plan file's metadata schema (src/plan/plan.proto), compiled with Debian's protoc like
# onnx.proto (OnnxProto.cmake). zlib provides the crc32 that guards the plan's contents.
find_package(ZLIB REQUIRED)

set(KILN_PLAN_PROTO_DIR ${CMAKE_BINARY_DIR}/proto)
file(MAKE_DIRECTORY ${KILN_PLAN_PROTO_DIR}/plan)
add_custom_command(
  OUTPUT ${KILN_PLAN_PROTO_DIR}/plan/plan.pb.cc ${KILN_PLAN_PROTO_DIR}/plan/plan.pb.h
  COMMAND protobuf::protoc --cpp_out=${KILN_PLAN_PROTO_DIR} -I${PROJECT_SOURCE_DIR}/src
          ${PROJECT_SOURCE_DIR}/src/plan/plan.proto
  DEPENDS ${PROJECT_SOURCE_DIR}/src/plan/plan.proto
  COMMENT "protoc plan.proto")
add_library(kiln_plan_proto STATIC ${KILN_PLAN_PROTO_DIR}/plan/plan.pb.cc)
target_include_directories(kiln_plan_proto SYSTEM PUBLIC ${KILN_PLAN_PROTO_DIR})
target_link_libraries(kiln_plan_proto PUBLIC protobuf::libprotobuf ZLIB::ZLIB)
set_target_properties(kiln_plan_proto PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_compile_options(kiln_plan_proto PRIVATE -w)
