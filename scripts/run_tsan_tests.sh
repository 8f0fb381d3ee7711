#!/usr/bin/env bash
# Builds the unit tests with ThreadSanitizer into build-tsan/ and runs the tests where
# several threads share one Engine (contexts running concurrently, models run from two
# threads at once). Any data race TSan reports fails the run.
#
# OMP_NUM_THREADS=1: Debian's libgomp is not built with TSan, so its own barriers would be
# reported as races; with one OpenMP thread per caller, the threads under test are
# kiln's, which is what this check is about.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$here/build-tsan"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DKILN_BUILD_BENCH=OFF -DPython3_EXECUTABLE="$(command -v python3)"
ninja -C "$build" -j"$(nproc)" kiln_unit_tests
export OMP_NUM_THREADS=1
export TSAN_OPTIONS="halt_on_error=1 abort_on_error=0 exitcode=66 second_deadlock_stack=1"
"$build/tests/kiln_unit_tests" --gtest_filter='SharedEngine.*:*TwoThreadsShareOneEngine*:AttentionFusionThreads.*:PackedPlan*'
echo "ThreadSanitizer: no data race in the concurrent tests"
