#!/usr/bin/env bash
# WaveGlow inference speed against PyTorch: `wavekit bench waveglow` and
# tools/bench/waveglow_torch_bench.py alternately, --pairs times per case (NVIDIA's 256-channel
# configuration, sigma 0.6, batch 1; each side a median of 3 timed runs, 2 for 10 s or more).
# Prints a row per case with each side's median over the pairs, their ratio, and the range of
# the per-pair ratios (this machine class is noisy: alternating pairs show how much).
#
# Usage: tools/bench/waveglow.sh [--seconds "1 2 10"] [--threads "1 2"] [--pairs 1]
# (--name=value works too). If a run fails, the script says which command it was and exits 1.
set -euo pipefail
SECONDS_LIST="1 2 10"
THREADS="1 2"
PAIRS=1
need() { [[ $# -ge 2 ]] || { echo "waveglow.sh: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) need "$@"; SECONDS_LIST="$2"; shift 2 ;;
        --seconds=*) SECONDS_LIST="${1#*=}"; shift ;;
        --threads) need "$@"; THREADS="$2"; shift 2 ;;
        --threads=*) THREADS="${1#*=}"; shift ;;
        --pairs) need "$@"; PAIRS="$2"; shift 2 ;;
        --pairs=*) PAIRS="${1#*=}"; shift ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "waveglow.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ "$PAIRS" =~ ^[1-9][0-9]*$ ]] || { echo "waveglow.sh: bad --pairs: $PAIRS" >&2; exit 2; }
[[ -n "${THREADS// /}" ]] || { echo "waveglow.sh: --threads is empty" >&2; exit 2; }
[[ -n "${SECONDS_LIST// /}" ]] || { echo "waveglow.sh: --seconds is empty" >&2; exit 2; }
for t in $THREADS; do [[ "$t" =~ ^[1-9][0-9]*$ ]] || { echo "waveglow.sh: bad --threads value: $t (whole numbers ≥ 1)" >&2; exit 2; }; done
for s in $SECONDS_LIST; do [[ "$s" =~ ^[0-9]*\.?[0-9]+$ && "$s" =~ [1-9] ]] || { echo "waveglow.sh: bad --seconds value: $s (positive numbers)" >&2; exit 2; }; done
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
OUT=$(mktemp "${TMPDIR:-/tmp}/waveglow-bench.XXXXXX")
trap 'rm -f "$OUT"' EXIT
# median_ms COMMAND...: runs COMMAND (a --json benchmark; its messages go to the terminal) and
# sets MS to its first result's median_ms; if it fails or prints no such JSON, says which
# command it was and exits 1.
median_ms() {
    local status=0
    "$@" > "$OUT" || status=$?
    if (( status != 0 )); then bench_failed "$status" "$@"; exit 1; fi
    MS=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median_ms"])' "$OUT" 2>/dev/null) \
        || { echo "$BENCH_NAME: no median_ms in the JSON printed by: $*; it printed:" >&2; head -c 2000 "$OUT" >&2; echo >&2; exit 1; }
}
echo "| audio | threads | WaveKit ms | PyTorch ms | ratio | per-pair ratios |"
echo "| --- | --- | --- | --- | --- | --- |"
for s in $SECONDS_LIST; do
    repeats=3; awk -v s="$s" 'BEGIN { exit !(s >= 10) }' && repeats=2
    for t in $THREADS; do
        wk=(); pt=()
        for _ in $(seq "$PAIRS"); do
            median_ms "$WAVEKIT" bench waveglow --seconds "$s" --threads "$t" --repeats "$repeats" --json; wk+=("$MS")
            median_ms "$PY" tools/bench/waveglow_torch_bench.py --seconds "$s" --threads "$t" --repeats "$repeats" --json; pt+=("$MS")
        done
        "$PY" - "$s" "$t" "${wk[*]}" "${pt[*]}" <<'PYEOF'
import statistics, sys
s, t, wk, pt = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
ratios = sorted(p / w for w, p in zip(wk, pt))
mw, mp = statistics.median(wk), statistics.median(pt)
print(f"| {s} s | {t} | {mw:.0f} | {mp:.0f} | {mp / mw:.2f}x | {', '.join(f'{r:.2f}' for r in ratios)} |")
PYEOF
    done
done
