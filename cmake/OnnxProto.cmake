# kiln parses models with the ONNX schema shipped in the pinned onnx wheel
# (requirements.txt), compiled here with Debian's protoc. The wheel's onnx.proto is
# newer than Debian's libonnx-dev (1.12), so newer IR versions and data types are known.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
execute_process(
  COMMAND ${Python3_EXECUTABLE} -c "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'onnx.proto'))"
  OUTPUT_VARIABLE KILN_ONNX_PROTO OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE onnx_found)
if(NOT onnx_found EQUAL 0 OR NOT EXISTS "${KILN_ONNX_PROTO}")
  message(FATAL_ERROR "onnx.proto not found: run scripts/install_deps.sh (pip onnx) first")
endif()

set(KILN_PROTO_DIR ${CMAKE_BINARY_DIR}/proto)
file(MAKE_DIRECTORY ${KILN_PROTO_DIR}/onnx)
configure_file(${KILN_ONNX_PROTO} ${KILN_PROTO_DIR}/onnx/onnx.proto COPYONLY)
add_custom_command(
  OUTPUT ${KILN_PROTO_DIR}/onnx/onnx.pb.cc ${KILN_PROTO_DIR}/onnx/onnx.pb.h
  COMMAND protobuf::protoc --cpp_out=${KILN_PROTO_DIR} -I${KILN_PROTO_DIR} ${KILN_PROTO_DIR}/onnx/onnx.proto
  DEPENDS ${KILN_PROTO_DIR}/onnx/onnx.proto
  COMMENT "protoc onnx.proto")
add_library(kiln_onnx_proto STATIC ${KILN_PROTO_DIR}/onnx/onnx.pb.cc)
target_include_directories(kiln_onnx_proto SYSTEM PUBLIC ${KILN_PROTO_DIR})
target_link_libraries(kiln_onnx_proto PUBLIC protobuf::libprotobuf)
set_target_properties(kiln_onnx_proto PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_compile_options(kiln_onnx_proto PRIVATE -w)
