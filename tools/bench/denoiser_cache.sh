#!/usr/bin/env bash
# What caching the WaveGlow denoiser's bias saves: `wavekit vocode --denoise 0.01` of
# Audio/speech.wav with NVIDIA's 256-channel configuration, first with an empty cache (the bias
# is measured: one sigma = 0 inference over 88 frames) and then with the cached bias. The
# checkpoint comes from one training step of `preset: nvidia` on speech.wav (weights random
# for listening, but the same work per sample as NVIDIA's published model); it is about 1.4 GB.
#
# Usage: tools/bench/denoiser_cache.sh [--threads 1]     (or --threads=1)
set -euo pipefail
THREADS=1
need() { [[ $# -ge 2 ]] || { echo "denoiser_cache.sh: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --threads) need "$@"; THREADS="$2"; shift 2 ;;
        --threads=*) THREADS="${1#*=}"; shift ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "denoiser_cache.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || { echo "denoiser_cache.sh: bad --threads: $THREADS (a whole number ≥ 1)" >&2; exit 2; }
BENCH_NO_PYTHON=1 source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/data/wavs"
cp Audio/speech.wav "$WORK/data/wavs/speech.wav"
echo "speech|WaveKit turns mel spectrograms into speech, quickly.|WaveKit turns mel spectrograms into speech, quickly." > "$WORK/data/metadata.csv"
cat > "$WORK/recipe.yaml" <<YAML
name: denoiser-cache-probe
data: {path: $WORK/data, layout: ljspeech, sample_rate: 22050, mel_preset: tacotron2, validation_fraction: 0}
model: {family: waveglow, preset: nvidia}
optimizer: {kind: adam, learning_rate: 0.0001}
training: {batch_size: 1, crop_samples: 4096, steps: 1, checkpoint_every: 1, validate_every: 1000, log_every: 1}
YAML
# checked COMMAND...: runs COMMAND; if it fails (its messages are above), says which it was and exits 1.
checked() { local status=0; "$@" || status=$?; (( status == 0 )) || { bench_failed "$status" "$@"; exit 1; }; }
checked "$WAVEKIT" train "$WORK/recipe.yaml" --out "$WORK/run" --threads "$THREADS" --quiet
# seconds COMMAND...: sets SECS to COMMAND's wall time.
seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'); }
vocode() { checked env XDG_CACHE_HOME="$WORK/cache" "$WAVEKIT" vocode Audio/speech.wav --checkpoint "$WORK/run/checkpoint.safetensors" \
                      -o "$WORK/out.wav" --sigma 0 --denoise 0.01 --threads "$THREADS" --quiet; }
seconds vocode; first=$SECS
seconds vocode; cached=$SECS
echo "| vocode --denoise 0.01, Audio/speech.wav, WaveGlow nvidia-256, ${THREADS} thread(s) | seconds |"
echo "| --- | --- |"
echo "| bias measured (empty cache) | $first |"
echo "| bias from the cache | $cached |"
