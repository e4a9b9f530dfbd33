#!/usr/bin/env bash
# Installs the training toolchain (development tooling only: nothing at run time, in `npm test` or in
# CI needs it). Debian's packages: PyTorch 1.13 (CPU, oneDNN), ONNX, numpy, matplotlib (loss curves),
# Pillow (JPEG augmentation in the forensic trainers).
#
# Run every training script with Debian's interpreter, /usr/bin/python3: a python3 earlier on PATH
# (pyenv, a venv) does not see Debian's dist-packages. `npm run train:*` does this for you.
set -euo pipefail
need=()
for pkg in python3-torch python3-onnx python3-numpy python3-matplotlib python3-pil; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
/usr/bin/python3 - <<'PY'
import torch, onnx, numpy, matplotlib, PIL
print(f"training toolchain ready: torch {torch.__version__}, onnx {onnx.__version__}, numpy {numpy.__version__}")
PY
