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
# (--name=value works too). If a side fails, its messages are shown and the script exits 1.
set -euo pipefail
MODEL=waveglow
SECONDS_AUDIO=10
THREADS=1
need() { [[ $# -ge 2 ]] || { echo "memory.sh: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) need "$@"; MODEL="$2"; shift 2 ;;
        --model=*) MODEL="${1#*=}"; shift ;;
        --seconds) need "$@"; SECONDS_AUDIO="$2"; shift 2 ;;
        --seconds=*) SECONDS_AUDIO="${1#*=}"; shift ;;
        --threads) need "$@"; THREADS="$2"; shift 2 ;;
        --threads=*) THREADS="${1#*=}"; shift ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "memory.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || { echo "memory.sh: bad --threads: $THREADS (a whole number ≥ 1)" >&2; exit 2; }
[[ "$SECONDS_AUDIO" =~ ^[0-9]*\.?[0-9]+$ && "$SECONDS_AUDIO" =~ [1-9] ]] || { echo "memory.sh: bad --seconds: $SECONDS_AUDIO (a positive number)" >&2; exit 2; }
case "$MODEL" in
    waveglow|wavenet) ;;
    *) echo "memory.sh: bad --model: $MODEL (waveglow or wavenet)" >&2; exit 2 ;;
esac
[[ -x /usr/bin/time ]] || { echo "memory.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
LOG=$(mktemp -d "${TMPDIR:-/tmp}/memory-bench.XXXXXX")
trap 'rm -rf "$LOG"' EXIT
# peak VAR COMMAND...: sets VAR to COMMAND's peak resident set in KiB. COMMAND's output is
# dropped; if it fails, says which command failed, shows its messages and exits 1.
peak() {
    local var=$1 status=0
    shift
    /usr/bin/time -f "%M" -o "$LOG/time" "$@" >/dev/null 2>"$LOG/stderr" || status=$?
    if (( status != 0 )); then
        bench_failed "$status" "$@"
        tail -n 20 "$LOG/stderr" >&2
        exit 1
    fi
    printf -v "$var" '%s' "$(tail -n 1 "$LOG/time")"
    [[ "${!var}" =~ ^[0-9]+$ ]] || { echo "memory.sh: /usr/bin/time gave no peak for: $*" >&2; exit 1; }
}
if [[ "$MODEL" == waveglow ]]; then
    what="WaveGlow nvidia-256 inference, ${SECONDS_AUDIO} s"
    peak wk "$WAVEKIT" bench waveglow --seconds "$SECONDS_AUDIO" --threads "$THREADS" --repeats 1
    peak pt "$PY" tools/bench/waveglow_torch_bench.py --seconds "$SECONDS_AUDIO" --threads "$THREADS" --repeats 1
else
    what="WaveNet small training step, batch 8 x 7 936"
    peak wk "$WAVEKIT" bench wavenet --seconds 0.01 --threads "$THREADS" --repeats 1
    peak pt "$PY" tools/bench/wavenet_torch_bench.py --seconds 0.01 --threads "$THREADS" --repeats 1 --train-repeats 1 --no-check
fi
echo "| $what, ${THREADS} thread(s) | peak MiB |"
echo "| --- | --- |"
echo "| WaveKit | $((wk / 1024)) |"
echo "| PyTorch $("$PY" -c 'import torch; print(torch.__version__)') | $((pt / 1024)) |"
