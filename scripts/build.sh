#!/usr/bin/env bash
# Configures and builds kiln into build/ (Release, Ninja).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmake -S "$here" -B "$here/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
ninja -C "$here/build" -j"$(nproc)"
