#!/usr/bin/env bash
# Installs what scripts/export_models.py needs to export the test models with PyTorch:
#   - Debian's CPU build of torch 1.13 and torchvision 0.14 (apt),
#   - a venv at .cache/export-venv on Debian's python 3.11 that sees those system packages
#     and adds Hugging Face transformers (a release that still supports torch 1.13) plus
#     onnx and onnxruntime (to check exports right after writing them).
# The fixtures' reference outputs come from the project's own onnxruntime (python3 on PATH,
# see scripts/install_deps.sh), not from this venv.
# Safe to run again: it only installs what is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$here/.cache/export-venv"

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

apt_packages=(python3-torch python3-torchvision python3-venv python3-pip)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$(dirname "$venv")"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi

# Pinned so that pip never pulls a newer numpy/torch over Debian's (torch 1.13 is built
# against numpy 1.x). transformers 4.36.2 is one of the last releases that supports
# torch 1.13 (later ones start to assume torch 2.x APIs).
pip_packages=(
  "transformers==4.36.2"
  "onnx==1.16.2"
  "onnxruntime==1.20.1"
)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "${pip_packages[@]}" "numpy==$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')"

"$venv/bin/python" - <<'EOF'
import torch, torchvision, transformers, onnx, onnxruntime, numpy
print("export venv ok: torch", torch.__version__, "torchvision", torchvision.__version__,
      "transformers", transformers.__version__, "onnx", onnx.__version__,
      "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)
EOF
