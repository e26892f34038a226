#!/usr/bin/env bash
# Create (if missing) the Python virtual environment used by the tools/ scripts
# (golden-file generators, benchmarks) at <repo root>/.venv-tools, and install
# torch==2.13.0+cpu, numpy, librosa, soundfile, scipy, safetensors and tensorboard
# into it. Idempotent: if `import torch, numpy, librosa, soundfile, scipy,
# safetensors, tensorboard` already works inside the venv, nothing is installed.
# A venv without pip (what python3 -m venv leaves on Debian/Ubuntu without the
# python3-venv package) gets pip from ensurepip, or a message saying what to do.
#
# Usage: tools/venv.sh [-h|--help]   (then e.g. .venv-tools/bin/python tools/golden/conv_golden.py)
# Env:   PYTHON=python3.11 tools/venv.sh   to pick the interpreter used to create the venv.
#
# pip honours PIP_FIND_LINKS (e.g. a local wheel directory) when it is set; the
# PyTorch CPU index is also passed as an extra index so the "+cpu" build resolves
# on machines without a local wheel cache.
set -euo pipefail

if [[ $# -gt 0 ]]; then
    case "$1" in
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "venv.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
fi

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
VENV="${REPO_ROOT}/.venv-tools"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="torch==2.13.0+cpu"
TORCH_INDEX="https://download.pytorch.org/whl/cpu"
NO_PIP_HELP="install your Python's venv package (Debian/Ubuntu: apt-get install python3-venv), then delete the venv (rm -rf ${VENV}) and run tools/venv.sh again"

if [[ ! -x "${VENV}/bin/python" ]]; then
    echo "venv.sh: creating ${VENV}"
    existed=0; [[ ! -e "${VENV}" ]] || existed=1
    if ! "${PYTHON}" -m venv "${VENV}"; then
        # Debian's python3 without python3-venv fails here but leaves a venv without pip behind.
        [[ "${existed}" == 1 ]] || rm -rf "${VENV}"
        echo "venv.sh: '${PYTHON} -m venv' failed; if it says ensurepip is not available, install your Python's venv package (Debian/Ubuntu: apt-get install python3-venv) and run tools/venv.sh again" >&2
        exit 1
    fi
fi

if "${VENV}/bin/python" -c 'import torch, numpy, librosa, soundfile, scipy, safetensors, tensorboard' >/dev/null 2>&1; then
    echo "venv.sh: ${VENV} ready ($("${VENV}/bin/python" -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'))"
    exit 0
fi

if ! "${VENV}/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "venv.sh: ${VENV} has no pip; adding it with ensurepip"
    "${VENV}/bin/python" -m ensurepip --upgrade >/dev/null 2>&1 && "${VENV}/bin/python" -m pip --version >/dev/null 2>&1 \
        || { echo "venv.sh: ${VENV} has no pip and its Python has no ensurepip: ${NO_PIP_HELP}" >&2; exit 1; }
fi

echo "venv.sh: installing ${TORCH_SPEC}, numpy, librosa, soundfile, scipy, safetensors and tensorboard into ${VENV}"
"${VENV}/bin/python" -m pip install --upgrade pip
"${VENV}/bin/python" -m pip install \
    --extra-index-url "${TORCH_INDEX}" \
    "${TORCH_SPEC}" numpy librosa soundfile scipy safetensors tensorboard

"${VENV}/bin/python" -c 'import torch, numpy; print("venv.sh: ready: torch", torch.__version__, "numpy", numpy.__version__)'
