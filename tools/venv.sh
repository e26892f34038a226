#!/usr/bin/env bash
# Create (if missing) the Python virtual environment used by the tools/ scripts
# (golden-file generators, benchmarks) at <repo root>/.venv-tools, and install
# torch==2.13.0+cpu, numpy, librosa, soundfile, scipy, safetensors and tensorboard
# into it. Idempotent: if `import torch, numpy, librosa, soundfile, scipy,
# safetensors, tensorboard` already works inside the venv, nothing is installed.
#
# Usage: tools/venv.sh            (then e.g. .venv-tools/bin/python tools/golden/conv_golden.py)
# Env:   PYTHON=python3.11 tools/venv.sh   to pick the interpreter used to create the venv.
#
# pip honours PIP_FIND_LINKS (e.g. a local wheel directory) when it is set; the
# PyTorch CPU index is also passed as an extra index so the "+cpu" build resolves
# on machines without a local wheel cache.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
VENV="${REPO_ROOT}/.venv-tools"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="torch==2.13.0+cpu"
TORCH_INDEX="https://download.pytorch.org/whl/cpu"

if [[ ! -x "${VENV}/bin/python" ]]; then
    echo "venv.sh: creating ${VENV}"
    "${PYTHON}" -m venv "${VENV}"
fi

if "${VENV}/bin/python" -c 'import torch, numpy, librosa, soundfile, scipy, safetensors, tensorboard' >/dev/null 2>&1; then
    echo "venv.sh: ${VENV} ready ($("${VENV}/bin/python" -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'))"
    exit 0
fi

echo "venv.sh: installing ${TORCH_SPEC}, numpy, librosa, soundfile, scipy, safetensors and tensorboard into ${VENV}"
"${VENV}/bin/python" -m pip install --upgrade pip
"${VENV}/bin/python" -m pip install \
    --extra-index-url "${TORCH_INDEX}" \
    "${TORCH_SPEC}" numpy librosa soundfile scipy safetensors tensorboard

"${VENV}/bin/python" -c 'import torch, numpy; print("venv.sh: ready: torch", torch.__version__, "numpy", numpy.__version__)'
