#!/usr/bin/env bash
# Fresh machine -> installed, built, and the whole test suite run (unit tests, model tests
# against ONNX Runtime's outputs, CLI tests, and ONNX's backend node tests).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/install_deps.sh"
bash "$here/scripts/build.sh"
ctest --test-dir "$here/build" --output-on-failure -j1
