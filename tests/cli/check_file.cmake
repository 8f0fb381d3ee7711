# Checks a file another test wrote: it exists and its start matches a regex.
#   cmake -DFILE=<path> -DEXPECT_REGEX=<re> [-DHEX=ON] -P check_file.cmake
# With HEX, the first 16 bytes are compared as lowercase hex (for binary files like .npy).
if(NOT EXISTS "${FILE}")
  message(FATAL_ERROR "${FILE} does not exist")
endif()
if(HEX)
  file(READ "${FILE}" text LIMIT 16 HEX)
else()
  file(READ "${FILE}" text)
endif()
if(NOT text MATCHES "${EXPECT_REGEX}")
  string(SUBSTRING "${text}" 0 400 head)
  message(FATAL_ERROR "${FILE} does not match ${EXPECT_REGEX}; it starts with:\n${head}")
endif()
message(STATUS "${FILE} matches ${EXPECT_REGEX}")
