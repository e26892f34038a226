# Sourced by the benchmark scripts after their arguments: moves to the repository's root, sets
# WAVEKIT (the release binary, or $WAVEKIT_BIN) and PY (the tools environment's python, made
# by tools/venv.sh unless the script sets BENCH_NO_PYTHON=1), and unsets the OpenBLAS settings
# that force slower kernels (they are read when the library loads).
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BENCH_NAME="$(basename "$0")"
WAVEKIT="${WAVEKIT_BIN:-.build/release/wavekit}"
PY=.venv-tools/bin/python
[[ -x "$WAVEKIT" ]] || { echo "$BENCH_NAME: build $WAVEKIT first (swift build -c release --product wavekit)" >&2; exit 1; }
[[ "${BENCH_NO_PYTHON:-0}" == 1 ]] || bash tools/venv.sh
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
