#!/usr/bin/env bash
# Peak memory (whole process, maximum resident set from /usr/bin/time -f %M) of WaveGlow
# inference with NVIDIA's 256-channel configuration: `wavekit bench waveglow` and
# tools/bench/waveglow_torch_bench.py, one after the other, on the same audio length.
#
# Usage: tools/bench/waveglow_memory.sh [--seconds 10] [--threads 1]
set -euo pipefail
SECONDS_AUDIO=10
THREADS=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) SECONDS_AUDIO="${2:?--seconds needs a value}"; shift 2 ;;
        --threads) THREADS="${2:?--threads needs a value}"; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "waveglow_memory.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[[ -x /usr/bin/time ]] || { echo "waveglow_memory.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
WAVEKIT="${WAVEKIT_BIN:-.build/release/wavekit}"
PY=.venv-tools/bin/python
[[ -x "$WAVEKIT" ]] || { echo "waveglow_memory.sh: build $WAVEKIT first (swift build -c release --product wavekit)" >&2; exit 1; }
bash tools/venv.sh
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
wk=$(peak "$WAVEKIT" bench waveglow --seconds "$SECONDS_AUDIO" --threads "$THREADS" --repeats 1)
pt=$(peak "$PY" tools/bench/waveglow_torch_bench.py --seconds "$SECONDS_AUDIO" --threads "$THREADS" --repeats 1)
echo "| WaveGlow nvidia-256 inference, ${SECONDS_AUDIO} s, ${THREADS} thread(s) | peak MiB |"
echo "| --- | --- |"
echo "| WaveKit | $((wk / 1024)) |"
echo "| PyTorch $("$PY" -c 'import torch; print(torch.__version__)') | $((pt / 1024)) |"
