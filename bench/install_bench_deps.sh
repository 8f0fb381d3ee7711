#!/usr/bin/env bash
# Installs what bench/run_bench.py needs beyond kiln's own build and test dependencies
# (scripts/install_deps.sh: onnx and onnxruntime for python3):
#   - OpenVINO, the second engine kiln is measured against, and matplotlib for the chart,
#     into the same python3 that runs the harness (pinned, so two runs compare like with like);
#   - the torch export venv (scripts/install_export_deps.sh), which the harness calls only to
#     export the full-size models it has not cached yet.
# Safe to run again: pip and the export script skip what is already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

python3 -m pip install --quiet --disable-pip-version-check \
  "openvino==2026.4.1" \
  "matplotlib==3.11.2"

"$here/scripts/install_export_deps.sh"

python3 - <<'PY'
import matplotlib, numpy, onnx, onnxruntime, openvino
print("bench deps ok: onnxruntime", onnxruntime.__version__, "openvino", openvino.__version__,
      "matplotlib", matplotlib.__version__, "onnx", onnx.__version__, "numpy", numpy.__version__)
PY
