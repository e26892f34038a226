#!/usr/bin/env bash
# The README's second command: install what is missing, then build and run the whole test suite.
#
# Usage: tools/test.sh [-h|--help] [swift test options]
#   Other arguments go to `swift test`, e.g. tools/test.sh --filter WaveNetTests
set -euo pipefail
for arg in "$@"; do
    case "$arg" in
        --) break ;;
        -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    esac
done
cd "$(dirname "$0")/.."
tools/bootstrap.sh
swift build --build-tests
swift test --skip-build "$@"
