#!/usr/bin/env bash
# The README's second command: install what is missing, then build and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh
swift build --build-tests
swift test --skip-build "$@"
