#!/usr/bin/env bash
# The README's first command: install what is missing, build WaveKit in release mode and run
# its main job on the bundled default. Until the model issues land, the main job is the
# tensor-core benchmark (tools/bench/cases.json).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh
swift build -c release --product wavekit
bin="$(swift build -c release --show-bin-path)/wavekit"
"$bin" --help
echo
# OpenBLAS would otherwise be pinned to slower kernels where OPENBLAS_CORETYPE is preset.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bin" bench core --repeats 5
