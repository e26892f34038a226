#!/usr/bin/env bash
# Installs the system libraries WaveKit links against, if any are missing (Debian/Ubuntu).
# Safe to run repeatedly: it only calls apt-get when pkg-config cannot find a library.
#
# Usage: tools/bootstrap.sh [-h|--help]
set -euo pipefail
if [ $# -gt 0 ]; then
    case "$1" in
        -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bootstrap.sh: unknown argument: $1 (it takes none; see --help)" >&2; exit 2 ;;
    esac
fi

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
for pair in sndfile:libsndfile1-dev fftw3f:libfftw3-dev openblas:libopenblas-dev soxr:libsoxr-dev libpng:libpng-dev; do
    lib=${pair%%:*} pkg=${pair#*:}
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$lib"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "WaveKit needs: ${missing[*]}; installing with apt-get." >&2
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found. Install ${missing[*]} (or your system's equivalents of libsndfile, FFTW single precision and OpenBLAS with pkg-config files) and run again." >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "error: not root and sudo is not installed; as root run: apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
