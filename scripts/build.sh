#!/usr/bin/env bash
# Configures and builds kiln into build/ (Release, Ninja).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The python3 that install_deps.sh gave onnx to: its onnx.proto is the schema kiln compiles.
cmake -S "$here" -B "$here/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$(command -v python3)"
ninja -C "$here/build" -j"$(nproc)"
