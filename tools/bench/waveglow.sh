#!/usr/bin/env bash
# WaveGlow inference speed against PyTorch: `wavekit bench waveglow` and
# tools/bench/waveglow_torch_bench.py alternately, --pairs times per case (NVIDIA's 256-channel
# configuration, sigma 0.6, batch 1; each side a median of 3 timed runs, 2 for 10 s or more).
# Prints a row per case with each side's median over the pairs, their ratio, and the range of
# the per-pair ratios (this machine class is noisy: alternating pairs show how much).
#
# Usage: tools/bench/waveglow.sh [--seconds "1 2 10"] [--threads "1 2"] [--pairs 1]
set -euo pipefail
SECONDS_LIST="1 2 10"
THREADS="1 2"
PAIRS=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) SECONDS_LIST="${2:?--seconds needs a value}"; shift 2 ;;
        --threads) THREADS="${2:?--threads needs a value}"; shift 2 ;;
        --pairs) PAIRS="${2:?--pairs needs a value}"; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "waveglow.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ "$PAIRS" =~ ^[1-9][0-9]*$ ]] || { echo "waveglow.sh: bad --pairs: $PAIRS" >&2; exit 2; }
for t in $THREADS; do [[ "$t" =~ ^[1-9][0-9]*$ ]] || { echo "waveglow.sh: bad --threads value: $t (whole numbers ≥ 1)" >&2; exit 2; }; done
for s in $SECONDS_LIST; do [[ "$s" =~ ^[0-9]*\.?[0-9]+$ && "$s" =~ [1-9] ]] || { echo "waveglow.sh: bad --seconds value: $s (positive numbers)" >&2; exit 2; }; done
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
echo "| audio | threads | WaveKit ms | PyTorch ms | ratio | per-pair ratios |"
echo "| --- | --- | --- | --- | --- | --- |"
for s in $SECONDS_LIST; do
    repeats=3; awk -v s="$s" 'BEGIN { exit !(s >= 10) }' && repeats=2
    for t in $THREADS; do
        wk=(); pt=()
        for _ in $(seq "$PAIRS"); do
            wk+=("$("$WAVEKIT" bench waveglow --seconds "$s" --threads "$t" --repeats "$repeats" --json \
                   | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["median_ms"])')")
            pt+=("$("$PY" tools/bench/waveglow_torch_bench.py --seconds "$s" --threads "$t" --repeats "$repeats" --json \
                   | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["median_ms"])')")
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
