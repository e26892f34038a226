# Sourced by the benchmark scripts after their arguments: moves to the repository's root, sets
# WAVEKIT (the release binary, or $WAVEKIT_BIN) and PY (the tools environment's python, made
# by tools/venv.sh unless the script sets BENCH_NO_PYTHON=1), and unsets the OpenBLAS settings
# that force slower kernels (they are read when the library loads). Defines bench_failed.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BENCH_NAME="$(basename "$0")"
WAVEKIT="${WAVEKIT_BIN:-.build/release/wavekit}"
PY=.venv-tools/bin/python
[[ -x "$WAVEKIT" ]] || { echo "$BENCH_NAME: build $WAVEKIT first (swift build -c release --product wavekit)" >&2; exit 1; }
[[ "${BENCH_NO_PYTHON:-0}" == 1 ]] || bash tools/venv.sh
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

# bench_failed STATUS COMMAND...: says on stderr which command failed and how (its exit status,
# or the signal that ended it: SIGKILL is most often the out-of-memory killer). The caller
# shows the command's own messages (if it kept them) and exits non-zero.
bench_failed() {
    local status=$1 how cmd
    shift
    how="exit status $status"
    if (( status > 128 )); then
        how="killed by signal $((status - 128)), SIG$(kill -l $((status - 128)) 2>/dev/null || echo '?')"
        (( status != 137 )) || how+=": most often the out-of-memory killer, see dmesg | grep -i oom"
    fi
    printf -v cmd '%q ' "$@"
    echo "$BENCH_NAME: failed ($how): ${cmd% }" >&2
}
