#!/usr/bin/env bash
# The README's first command: install what is missing, build WaveKit in release mode and run
# its main job on the bundled default: the mel-spectrogram of Audio/speech.wav (tacotron2
# preset, with an image) vocoded back to audio by the bundled WaveNet and WaveGlow vocoders
# and by Griffin-Lim. Outputs go to demo-output/.
#
# Usage: tools/demo.sh [-h|--help]
set -euo pipefail
if [[ $# -gt 0 ]]; then
    case "$1" in
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo.sh: unknown argument: $1 (it takes none; see --help)" >&2; exit 2 ;;
    esac
fi
cd "$(dirname "$0")/.."
tools/bootstrap.sh
swift build -c release --product wavekit
bin="$(swift build -c release --show-bin-path)/wavekit"
mkdir -p demo-output
"$bin" info Audio/speech.wav
"$bin" mel Audio/speech.wav -o demo-output/speech.npy --png demo-output/speech.png
"$bin" vocode demo-output/speech.npy --checkpoint Audio/wavenet-small-espeak.safetensors -o demo-output/speech-wavenet.wav --temperature 0.7
"$bin" vocode demo-output/speech.npy --checkpoint Audio/waveglow-small-espeak.safetensors -o demo-output/speech-waveglow.wav --sigma 0.2
"$bin" vocode demo-output/speech.npy -o demo-output/speech-griffinlim.wav
"$bin" info demo-output/speech-wavenet.wav
echo
echo "Listen to demo-output/speech-{wavenet,waveglow,griffinlim}.wav; look at demo-output/speech.png."
echo "The bundled neural vocoders had 2 CPU hours of training and are far worse than Griffin-Lim"
echo "(Audio/README.md gives their scores); they show the path, not the quality."
echo "See 'wavekit --help' for more; tools/bench/run.sh compares speed with PyTorch and librosa."
