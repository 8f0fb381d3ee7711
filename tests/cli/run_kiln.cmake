# Runs kiln once and checks its exit status and output, so one test checks both (ctest's
# PASS_REGULAR_EXPRESSION alone ignores the exit status). Python-free on purpose.
#   cmake -DKILN=<binary> -DARGS="a|b|c" -DEXPECT_RC=<n> -DEXPECT_REGEX=<re> [-DCLEAN="path|path"]
#         -P run_kiln.cmake
# ARGS and CLEAN are '|'-separated because ';' would split it on the way through add_test.
# A failing run (EXPECT_RC != 0) must print exactly one "[E] " line.
if(DEFINED CLEAN)
  string(REPLACE "|" ";" clean "${CLEAN}")
  file(REMOVE_RECURSE ${clean})  # files left by an earlier run must not pass a later check
endif()
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND "${KILN}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
message("${err}")
if(NOT "${rc}" STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "kiln exited with '${rc}', expected ${EXPECT_RC}")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "kiln's output does not match: ${EXPECT_REGEX}")
endif()
if(NOT EXPECT_RC EQUAL 0)
  string(REGEX MATCHALL "(^|\n)\\[E\\] " errors "${out}${err}")
  list(LENGTH errors n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "expected exactly one '[E] ' line, got ${n}")
  endif()
endif()
