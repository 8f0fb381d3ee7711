#!/usr/bin/env bash
# Installs everything kiln needs to build and test, from Debian packages and PyPI only.
# Safe to run again: apt-get and pip skip what is already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

apt_packages=(
  cmake ninja-build g++ pkg-config
  libprotobuf-dev protobuf-compiler   # ONNX ModelProto parsing
  libdnnl-dev                         # oneDNN 2.6 (OpenMP): matmul and convolution
  libcli11-dev                        # command-line flags
  zlib1g-dev                          # crc32 of plan files
  libgtest-dev libgmock-dev           # unit tests
  libbenchmark-dev libsleef-dev libhwy-dev  # bench/ only: math library vs Sleef and Highway
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The onnx wheel provides onnx.proto (the schema kiln compiles) and the backend node
# test data; onnxruntime is the reference the model tests compare against.
python3 -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
