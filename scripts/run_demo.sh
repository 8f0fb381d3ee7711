#!/usr/bin/env bash
# Fresh machine -> installed, built, and the main job run: import the bundled BERT-style
# model (exported from PyTorch with dynamic batch and sequence axes) and time it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/install_deps.sh"
bash "$here/scripts/build.sh"
"$here/build/kiln" --onnx="$here/tests/models/bert/model.onnx" \
  --shapes=input_ids:2x16,attention_mask:2x16,token_type_ids:2x16 --iterations=50 --duration=2 "$@"
