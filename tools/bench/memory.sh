#!/usr/bin/env bash
# Peak memory (whole process, maximum resident set from /usr/bin/time -f %M) of WaveKit and
# PyTorch doing the same work, one after the other:
#   waveglow  inference with NVIDIA's 256-channel configuration on --seconds of audio:
#             `wavekit bench waveglow` and tools/bench/waveglow_torch_bench.py
#   wavenet   a teacher-forced training step of the `small` preset, batch 8 x 7 936:
#             `wavekit bench wavenet` and tools/bench/wavenet_torch_bench.py (both first
#             generate 10 ms per utterance, which needs far less than the step)
#
# Usage: tools/bench/memory.sh [--model waveglow|wavenet] [--seconds 10 (waveglow only)] [--threads 1]
set -euo pipefail
MODEL=waveglow
SECONDS_AUDIO=10
THREADS=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) MODEL="${2:?--model needs a value}"; shift 2 ;;
        --seconds) SECONDS_AUDIO="${2:?--seconds needs a value}"; shift 2 ;;
        --threads) THREADS="${2:?--threads needs a value}"; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "memory.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || { echo "memory.sh: bad --threads: $THREADS (a whole number ≥ 1)" >&2; exit 2; }
case "$MODEL" in
    waveglow|wavenet) ;;
    *) echo "memory.sh: bad --model: $MODEL (waveglow or wavenet)" >&2; exit 2 ;;
esac
[[ -x /usr/bin/time ]] || { echo "memory.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
if [[ "$MODEL" == waveglow ]]; then
    what="WaveGlow nvidia-256 inference, ${SECONDS_AUDIO} s"
    wk=$(peak "$WAVEKIT" bench waveglow --seconds "$SECONDS_AUDIO" --threads "$THREADS" --repeats 1)
    pt=$(peak "$PY" tools/bench/waveglow_torch_bench.py --seconds "$SECONDS_AUDIO" --threads "$THREADS" --repeats 1)
else
    what="WaveNet small training step, batch 8 x 7 936"
    wk=$(peak "$WAVEKIT" bench wavenet --seconds 0.01 --threads "$THREADS" --repeats 1)
    pt=$(peak "$PY" tools/bench/wavenet_torch_bench.py --seconds 0.01 --threads "$THREADS" --repeats 1 --train-repeats 1 --no-check)
fi
echo "| $what, ${THREADS} thread(s) | peak MiB |"
echo "| --- | --- |"
echo "| WaveKit | $((wk / 1024)) |"
echo "| PyTorch $("$PY" -c 'import torch; print(torch.__version__)') | $((pt / 1024)) |"
