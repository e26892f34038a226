#!/usr/bin/env bash
# Make a small SC09-style spoken-digit corpus with espeak-ng + sox.
#
# Usage: Recipes/data/make_digits_corpus.sh [OUT_DIR] [--per-digit N] [--seed S] [--voices V1,V2,...]
#
#   OUT_DIR      default: <repo root>/data/sc09-espeak (data/ is git-ignored)
#   --per-digit  clips per digit, 1..9999 (default 30)
#   --seed       seed of the pitch/speed/offset generator, a whole number (default 1)
#   --voices     comma-separated espeak-ng voices (default: DEFAULT_VOICES below,
#                16 accents and variants, minus any this espeak-ng lacks)
#
# Writes
#   OUT_DIR/zero/zero_<voice>_<n>.wav ... OUT_DIR/nine/nine_<voice>_<n>.wav
#       exactly 1 s: 16000 samples, 16 kHz, mono, 16-bit PCM. <voice> is the
#       espeak-ng voice with "+" written as "-" (en-us+f2 -> en-us-f2), <n> is
#       the clip's index within its digit, 0001..N.
#   OUT_DIR/manifest.csv   path|label|voice|pitch|speed|lead_ms
# A rerun first removes the clips its earlier run listed in manifest.csv (written clip by clip,
# so a stopped run's too; only names of the form above), because training reads the digit
# folders, not the manifest; digit folders holding clips without a manifest.csv are refused.
#
# Each clip: espeak-ng says the digit word (voices round robin, pitch -p 25..75,
# speed -s 130..190 words per minute); sox strips the leading and trailing
# silence, peak-normalises to -1 dBFS, resamples to 16 kHz, puts the word after
# 0..250 ms of lead-in silence, pads the end with silence and trims to exactly
# 16000 samples (pad ... trim 0 16000s). Parameters come from a 31-bit LCG in
# bash arithmetic and sox runs with -R, so the same seed gives the same corpus.
# Works with bash 3.2+.
#
# Needs espeak-ng and sox:  apt-get install espeak-ng sox   (macOS: brew install espeak-ng sox)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
PROG="make_digits_corpus.sh"

OUT_DIR=""
PER_DIGIT=30
SEED=1
VOICE_ARG=""
DEFAULT_VOICES="en-us en-gb en-gb-scotland en-gb-x-rp en-029 en-us-nyc en-gb-x-gbclan en-gb-x-gbcwmd en-us+f1 en-us+f2 en-gb+f3 en-gb-scotland+f4 en-029+f5 en-us+m3 en-gb+m4 en-us+m7"
DIGITS=(zero one two three four five six seven eight nine)
RATE=16000

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "${PROG}: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --per-digit) [[ $# -ge 2 ]] || die "--per-digit needs a value"; PER_DIGIT="$2"; shift 2 ;;
        --per-digit=*) PER_DIGIT="${1#*=}"; shift ;;
        --seed) [[ $# -ge 2 ]] || die "--seed needs a value"; SEED="$2"; shift 2 ;;
        --seed=*) SEED="${1#*=}"; shift ;;
        --voices) [[ $# -ge 2 ]] || die "--voices needs a value"; VOICE_ARG="$2"; shift 2 ;;
        --voices=*) VOICE_ARG="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [[ -z "${OUT_DIR}" ]] || die "more than one OUT_DIR given ($OUT_DIR, $1)"; OUT_DIR="$1"; shift ;;
    esac
done
# uint VALUE MIN MAX MESSAGE: sets N to VALUE read as a decimal whole number (leading zeros are
# fine: bash arithmetic would take 08 for octal) if it is in MIN..MAX; else dies with MESSAGE.
uint() {
    local v="${1#"${1%%[!0]*}"}"   # VALUE without its leading zeros
    [[ "$1" =~ ^[0-9]+$ && ${#v} -le 18 ]] && N=$(( 10#${v:-0} )) && (( N >= $2 && N <= $3 )) || die "$4 (got '$1')"
}
uint "${PER_DIGIT}" 1 9999 "--per-digit must be a whole number from 1 to 9999"; PER_DIGIT=$N
uint "${SEED}" 0 999999999999999999 "--seed must be a whole number of at most 18 digits"; SEED=$N
OUT_DIR="${OUT_DIR:-${REPO_ROOT}/data/sc09-espeak}"

# Tool check, voices (VOICES) and the seeded rand/pick.
. "${SCRIPT_DIR}/espeak_common.sh"

# --- generate -----------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/digits-corpus.XXXXXX")"
trap 'rm -rf "${TMP}"' EXIT

TOTAL=$(( 10 * PER_DIGIT ))
echo "${PROG}: ${PER_DIGIT} clips x 10 digits, ${#VOICES[@]} voices (${VOICES[*]}), seed ${SEED} -> ${OUT_DIR}"
START=${SECONDS}
# A rerun removes the clips its earlier run listed in manifest.csv (this script's own record),
# and nothing else. Digit folders holding clips but no manifest.csv are someone else's: refuse.
has_wav() { local f; for f in "$1"/*.wav; do [[ -e "${f}" || -L "${f}" ]] && return 0; done; return 1; }
digit_re='(zero|one|two|three|four|five|six|seven|eight|nine)'
removed=0
if [[ -f "${OUT_DIR}/manifest.csv" ]]; then
    while IFS='|' read -r rel _ || [[ -n "${rel}" ]]; do
        # Only this script's names: <digit>/<digit>_<voice>_<NNNN>.wav.
        [[ "${rel}" =~ ^${digit_re}/${digit_re}_[^/]+_[0-9]{4,}\.wav$ && "${BASH_REMATCH[1]}" == "${BASH_REMATCH[2]}" \
           && -f "${OUT_DIR}/${rel}" ]] || continue
        rm -f -- "${OUT_DIR}/${rel}"; removed=$(( removed + 1 ))
    done < "${OUT_DIR}/manifest.csv"
else
    for word in "${DIGITS[@]}"; do
        if has_wav "${OUT_DIR}/${word}"; then
            echo "${PROG}: ${OUT_DIR}/${word} holds clips this script did not make (no manifest.csv); choose another OUT_DIR, or delete it if an interrupted run of this script left it" >&2
            exit 2
        fi
    done
fi
(( removed == 0 )) || echo "${PROG}: removed ${removed} clips of an earlier run from ${OUT_DIR}/{zero..nine}"
# The record is written as the clips are: each clip's line goes in before its file, so a run
# that is stopped leaves a manifest.csv naming everything it made (the next run removes it).
mkdir -p "${OUT_DIR}"
: > "${OUT_DIR}/manifest.csv"
done_count=0
for (( d = 0; d < 10; d++ )); do
    word="${DIGITS[$d]}"
    mkdir -p "${OUT_DIR}/${word}"
    for (( n = 1; n <= PER_DIGIT; n++ )); do
        voice="${VOICES[$(( (d + n - 1) % ${#VOICES[@]} ))]}"   # round robin, shifted per digit
        rand 51; pitch=$(( 25 + R ))
        rand 61; speed=$(( 130 + R ))
        rand 251; lead_ms=$R
        printf -v name '%s_%s_%04d.wav' "${word}" "${voice//+/-}" "${n}"
        out="${OUT_DIR}/${word}/${name}"
        espeak-ng -v "${voice}" -p "${pitch}" -s "${speed}" -w "${TMP}/raw.wav" -- "${word}" \
            || die "espeak-ng failed for ${name} (voice ${voice})"
        printf '%s|%s|%s|%s|%s|%s\n' "${word}/${name}" "${word}" "${voice}" "${pitch}" "${speed}" "${lead_ms}" >> "${OUT_DIR}/manifest.csv"
        # -V1: errors only (pad warns "pads not applied" when trim ends the stream first)
        sox -R -V1 "${TMP}/raw.wav" -r "${RATE}" -c 1 -b 16 -e signed-integer "${out}" \
            silence 1 0.01 0.3% reverse silence 1 0.01 0.3% reverse \
            gain -n -1 rate "${RATE}" \
            pad "$(( lead_ms * RATE / 1000 ))s" "${RATE}s" trim 0 "${RATE}s" \
            || die "sox failed for ${name}"
        done_count=$(( done_count + 1 ))
        if (( done_count % 20 == 0 || done_count == TOTAL )); then
            echo "  [${done_count}/${TOTAL}] ${word}/${name} (p${pitch}, s${speed}, lead ${lead_ms} ms) $(( SECONDS - START ))s"
        fi
    done
done
echo "${PROG}: wrote ${TOTAL} clips under ${OUT_DIR}/{zero..nine} and ${OUT_DIR}/manifest.csv in $(( SECONDS - START ))s"
