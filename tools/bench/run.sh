#!/usr/bin/env bash
# Benchmark WaveKit against reference implementations in the same run and
# print combined tables:
#   core   `wavekit bench core` vs PyTorch (tools/bench/torch_bench.py) on
#          tools/bench/cases.json
#   audio  `wavekit bench audio` vs librosa (+ soundfile) and torch
#          (tools/bench/audio_bench.py) on tools/bench/audio_cases.json, with
#          the generated WAV bench-results/bench60s.wav
#   wavenet `wavekit bench wavenet` vs tools/bench/wavenet_torch_bench.py:
#          cached generation of 1 and 8 utterances and a training step
#
# Usage: tools/bench/run.sh [--suite core|audio|wavenet|all] [--threads "1 2"]
#                           [--repeats 10] [--no-build]
#
#   --suite S        core, audio, wavenet or all (default all: core, then audio)
#   --threads LIST   space-separated thread counts (default "1 2")
#   --repeats N      timed iterations per case, after one warm-up (default 10;
#                    for wavenet 3, and N applies to its generation cases and
#                    its training step on both sides)
#   --no-build       skip `swift build -c release --product wavekit`
#   (--suite=S, --threads=LIST and --repeats=N work too)
#
# Environment:
#   WAVEKIT_BIN      WaveKit binary (default .build/release/wavekit)
#
# The combined JSON is saved to bench-results/core-<date>.json,
# bench-results/audio-<date>.json and bench-results/wavenet-<date>.json
# (git-ignored).
set -euo pipefail

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }
need() { [[ $# -ge 2 ]] || { echo "run.sh: $1 needs a value" >&2; usage >&2; exit 2; }; }

SUITE=all
THREADS="1 2"
REPEATS=""        # default: 10, or 3 for --suite wavenet
REPEATS_GIVEN=0
BUILD=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --suite)      need "$@"; SUITE="$2"; shift 2 ;;
        --suite=*)    SUITE="${1#*=}"; shift ;;
        --threads)    need "$@"; THREADS="$2"; shift 2 ;;
        --threads=*)  THREADS="${1#*=}"; shift ;;
        --repeats)    need "$@"; REPEATS="$2"; REPEATS_GIVEN=1; shift 2 ;;
        --repeats=*)  REPEATS="${1#*=}"; REPEATS_GIVEN=1; shift ;;
        --no-build)   BUILD=0; shift ;;
        -h|--help)    usage; exit 0 ;;
        *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$SUITE" in
    core|audio|wavenet|all) ;;
    *) echo "run.sh: bad --suite: $SUITE (core, audio, wavenet or all)" >&2; exit 2 ;;
esac
for t in $THREADS; do
    [[ "$t" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: bad thread count: $t" >&2; exit 2; }
done
[[ -n "${THREADS// /}" ]] || { echo "run.sh: --threads is empty" >&2; exit 2; }
if [[ "$REPEATS_GIVEN" == 0 ]]; then
    REPEATS=10; [[ "$SUITE" != wavenet ]] || REPEATS=3
fi
[[ "$REPEATS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: bad --repeats: $REPEATS" >&2; exit 2; }

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$(pwd)"
# A failing step stops the run (set -e); say which one (its own messages are above).
set -E
trap 'status=$?; echo "run.sh: failed (exit status $status): $BASH_COMMAND" >&2; exit $status' ERR
CASES=tools/bench/cases.json
AUDIO_CASES=tools/bench/audio_cases.json
AUDIO_WAV=bench-results/bench60s.wav
WAVEKIT="${WAVEKIT_BIN:-.build/release/wavekit}"
PY="$ROOT/.venv-tools/bin/python"
want_core()  { [[ "$SUITE" == core  || "$SUITE" == all ]]; }
want_audio() { [[ "$SUITE" == audio || "$SUITE" == all ]]; }
want_wavenet() { [[ "$SUITE" == wavenet ]]; }

# This environment forces OpenBLAS onto its AVX2 (Haswell) kernels and a fixed
# L2 size; users' machines don't, so benchmark without them.
echo "unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE" \
     "(were: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>}," \
     "OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>})"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

# Python venv with torch, numpy, librosa, soundfile (.venv-tools).
bash tools/venv.sh
[[ -x "$PY" ]] || { echo "run.sh: $PY missing after tools/venv.sh" >&2; exit 1; }
if want_audio && ! "$PY" -c 'import librosa, soundfile, scipy' >/dev/null 2>&1; then
    echo "run.sh: the audio suite needs librosa and soundfile in .venv-tools" \
         "(tools/venv.sh installs them)" >&2
    exit 1
fi

if [[ "$BUILD" == 1 ]]; then
    swift build -c release --product wavekit
fi
[[ -x "$WAVEKIT" ]] || { echo "run.sh: $WAVEKIT not found (build it, or drop --no-build)" >&2; exit 1; }

cpu_model() {
    local m=""
    if [[ -r /proc/cpuinfo ]]; then
        m="$(grep -m1 -i '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" || true
    fi
    if [[ -z "$m" ]] && command -v lscpu >/dev/null 2>&1; then
        m="$(lscpu | grep -m1 -i '^model name' | cut -d: -f2- | sed 's/^ *//')" || true
    fi
    if [[ -z "$m" ]] && command -v sysctl >/dev/null 2>&1; then
        m="$(sysctl -n machdep.cpu.brand_string 2>/dev/null)" || true
    fi
    echo "${m:-unknown}"
}
CPU="$(cpu_model)"
NCPU="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')"
TORCH_VERSION="$("$PY" -c 'import torch; print(torch.__version__)')"

echo "CPU:     $CPU ($NCPU logical CPUs)"
echo "torch:   $TORCH_VERSION"
if want_audio; then
    echo "librosa: $("$PY" -c 'import librosa, soundfile, numpy, scipy; print(librosa.__version__, " soundfile:", soundfile.__version__, "(libsndfile", soundfile.__libsndfile_version__ + ")", " numpy:", numpy.__version__, " scipy:", scipy.__version__)')"
fi
echo "suite:   $SUITE"
echo "threads: $THREADS   repeats: $REPEATS"
echo

TMP="$(mktemp -d "${TMPDIR:-/tmp}/wavekit-bench.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
STAMP="$(date +%Y%m%d-%H%M%S)"

# ------------------------------------------------------------------- core

run_wavekit() {
    echo "== WaveKit, $1 thread(s)" >&2
    "$WAVEKIT" bench core --cases "$CASES" --threads "$1" --repeats "$REPEATS" --json \
        > "$TMP/wavekit-t$1.json"
}
run_pytorch() {
    echo "== PyTorch, $1 thread(s)" >&2
    "$PY" tools/bench/torch_bench.py --cases "$CASES" --threads "$1" --repeats "$REPEATS" --json \
        > "$TMP/pytorch-t$1.json"
}

if want_core; then
    # Alternate which implementation goes first so drift (thermal, noisy
    # neighbours) doesn't systematically favour one side.
    i=0
    FILES=()
    for t in $THREADS; do
        if (( i % 2 == 0 )); then
            run_wavekit "$t"; run_pytorch "$t"
        else
            run_pytorch "$t"; run_wavekit "$t"
        fi
        FILES+=("$TMP/wavekit-t$t.json" "$TMP/pytorch-t$t.json")
        i=$((i + 1))
    done

    OUT="bench-results/core-$STAMP.json"
    echo
    "$PY" tools/bench/compare.py --cpu "$CPU" --repeats "$REPEATS" \
        --note "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset" \
        --save "$OUT" "${FILES[@]}"
fi

# ------------------------------------------------------------------ audio

run_audio() {   # run_audio IMPL THREADS
    local impl="$1" t="$2"
    case "$impl" in
        wavekit)
            echo "== WaveKit audio, $t thread(s)" >&2
            "$WAVEKIT" bench audio --cases "$AUDIO_CASES" --audio "$AUDIO_WAV" \
                --threads "$t" --repeats "$REPEATS" --json > "$TMP/audio-wavekit-t$t.json" ;;
        librosa|torch)
            echo "== $impl audio, $t thread(s)" >&2
            "$PY" tools/bench/audio_bench.py --impl "$impl" --cases "$AUDIO_CASES" \
                --audio "$AUDIO_WAV" --threads "$t" --repeats "$REPEATS" --json \
                > "$TMP/audio-$impl-t$t.json" ;;
    esac
}

if want_audio; then
    [[ "$SUITE" == all ]] && echo
    "$PY" tools/bench/audio_bench.py --cases "$AUDIO_CASES" --make-audio "$AUDIO_WAV"

    # Rotate which implementation goes first at each thread count so drift
    # doesn't systematically favour one side.
    ORDER=(wavekit librosa torch)
    i=0
    FILES=()
    for t in $THREADS; do
        for k in 0 1 2; do
            run_audio "${ORDER[$(( (i + k) % 3 ))]}" "$t"
        done
        FILES+=("$TMP/audio-wavekit-t$t.json" "$TMP/audio-librosa-t$t.json" "$TMP/audio-torch-t$t.json")
        i=$((i + 1))
    done

    OUT="bench-results/audio-$STAMP.json"
    echo
    "$PY" tools/bench/compare.py --layout multi --cpu "$CPU" --repeats "$REPEATS" \
        --note "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset" \
        --note "audio: $AUDIO_WAV (60 s, 22050 Hz, mono, 16-bit); file reading timed only in 'read wav'" \
        --save "$OUT" "${FILES[@]}"
fi

# ---------------------------------------------------------------- wavenet

if want_wavenet; then
    for t in $THREADS; do
        echo "== WaveKit wavenet, $t thread(s)" >&2
        "$WAVEKIT" bench wavenet --threads "$t" --repeats "$REPEATS" --json > "$TMP/wn-wavekit-t$t.json"
        echo "== PyTorch wavenet, $t thread(s)" >&2
        "$PY" tools/bench/wavenet_torch_bench.py --threads "$t" --repeats "$REPEATS" \
            --train-repeats "$REPEATS" --json > "$TMP/wn-pytorch-t$t.json"
    done
    mkdir -p bench-results
    "$PY" - "$TMP" "bench-results/wavenet-$STAMP.json" $THREADS <<'PYEOF'
import json, sys
tmp, out, threads = sys.argv[1], sys.argv[2], sys.argv[3:]
rows, saved = [], {}
for t in threads:
    wk = {r["name"]: r for r in json.load(open(f"{tmp}/wn-wavekit-t{t}.json"))["results"]}
    pt = {r["name"]: r for r in json.load(open(f"{tmp}/wn-pytorch-t{t}.json"))["results"]}
    saved[t] = {"wavekit": wk, "pytorch": pt}
    for name in wk:
        if name not in pt:
            continue
        a, b = wk[name], pt[name]
        if a.get("samples_per_s"):
            rows.append((name, t, f"{a['samples_per_s']:,.0f} samples/s", f"{b['samples_per_s']:,.0f} samples/s",
                         a["samples_per_s"] / b["samples_per_s"]))
        else:
            rows.append((name, t, f"{a['median_ms']:.0f} ms", f"{b['median_ms']:.0f} ms", b["median_ms"] / a["median_ms"]))
    one, eight = wk.get("wavenet small generate 1 utt"), wk.get("wavenet small generate 8 utt")
    if one and eight:
        print(f"threads {t}: WaveKit 8 utterances / 1 utterance throughput = "
              f"{eight['samples_per_s'] / one['samples_per_s']:.2f}x")
print()
print("| case | threads | WaveKit | PyTorch | ratio (WaveKit faster by) |")
print("| --- | --- | --- | --- | --- |")
for name, t, a, b, r in rows:
    print(f"| {name} | {t} | {a} | {b} | {r:.2f}x |")
json.dump(saved, open(out, "w"), indent=1)
print(f"\nsaved {out}")
PYEOF
fi

