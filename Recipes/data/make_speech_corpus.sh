#!/usr/bin/env bash
# Make a small synthetic speech corpus in LJSpeech layout with espeak-ng + sox.
#
# Usage: Recipes/data/make_speech_corpus.sh [OUT_DIR] [--count N] [--seed S] [--voices V1,V2,...]
#
#   OUT_DIR   default: <repo root>/data/espeak-ljspeech (data/ is git-ignored)
#   --count   number of utterances, 1..99900 (default 240: the corpus the bundled models trained on)
#   --seed    seed of the sentence/pitch/speed generator, a whole number (default 1)
#   --voices  comma-separated espeak-ng voices (default: DEFAULT_VOICES below,
#             16 accents and variants, minus any this espeak-ng lacks)
#
# Writes
#   OUT_DIR/wavs/LJ001-0001.wav ...   22050 Hz, mono, 16-bit PCM, peak-normalised to -1 dBFS
#                                     (IDs LJccc-nnnn, 100 utterances per "chapter")
#   OUT_DIR/metadata.csv              ID|text|normalized text        (LJSpeech format)
#   OUT_DIR/voices.csv                ID|voice|pitch|speed           (what each clip was made with)
# A rerun first removes the clips its earlier run listed in voices.csv (written clip by clip,
# so a stopped run's too) and nothing else; a folder holding clips or a metadata.csv without
# voices.csv is someone else's corpus (a real LJSpeech has the same names) and is refused.
#
# Voices are used round robin; pitch (-p) is drawn from 30..70 and speed (-s,
# words per minute) from 140..180. Sentences come from small embedded word
# lists and templates; "text" may hold digits, years and "Mr."/"Dr.", and
# "normalized text" spells them out (that is what espeak-ng is given).
# Everything is drawn from a 31-bit LCG in bash arithmetic (not $RANDOM, whose
# sequence differs across bash versions), and sox runs with -R (repeatable
# dither), so the same seed and voice list give the same corpus. Works with bash 3.2+.
#
# Needs espeak-ng and sox:  apt-get install espeak-ng sox   (macOS: brew install espeak-ng sox)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
PROG="make_speech_corpus.sh"

OUT_DIR=""
COUNT=240
SEED=1
VOICE_ARG=""
DEFAULT_VOICES="en-us en-gb en-gb-scotland en-gb-x-rp en-029 en-us-nyc en-gb-x-gbclan en-gb-x-gbcwmd en-us+f1 en-us+f2 en-gb+f3 en-gb-scotland+f4 en-029+f5 en-us+m3 en-gb+m4 en-us+m7"

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "${PROG}: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --count) [[ $# -ge 2 ]] || die "--count needs a value"; COUNT="$2"; shift 2 ;;
        --count=*) COUNT="${1#*=}"; shift ;;
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
uint "${COUNT}" 1 99900 "--count must be a whole number from 1 to 99900"; COUNT=$N
uint "${SEED}" 0 999999999999999999 "--seed must be a whole number of at most 18 digits"; SEED=$N
OUT_DIR="${OUT_DIR:-${REPO_ROOT}/data/espeak-ljspeech}"

# Tool check, voices (VOICES) and the seeded rand/pick.
. "${SCRIPT_DIR}/espeak_common.sh"

ONES=(zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen)
TENS=("" "" twenty thirty forty fifty sixty seventy eighty ninety)
# words N (0..99): sets WORDS
words() {
    local n=$1
    if (( n < 20 )); then WORDS="${ONES[$n]}"
    elif (( n % 10 == 0 )); then WORDS="${TENS[$((n / 10))]}"
    else WORDS="${TENS[$((n / 10))]}-${ONES[$((n % 10))]}"
    fi
}
# year_words Y (1800..1999): sets WORDS, e.g. 1887 -> eighteen eighty-seven, 1905 -> nineteen oh five
year_words() {
    local hi=$(( $1 / 100 )) lo=$(( $1 % 100 )) h
    words "$hi"; h="$WORDS"
    if (( lo == 0 )); then WORDS="$h hundred"
    elif (( lo < 10 )); then words "$lo"; WORDS="$h oh $WORDS"
    else words "$lo"; WORDS="$h $WORDS"
    fi
}

ADJS=(quiet bright heavy small ancient gentle narrow golden silver hollow crooked patient rapid humble distant curious careful frozen wooden sudden)
NOUNS=(river lantern garden window teacher letter mountain carriage doctor bridge ribbon soldier harbor pencil castle kitten engine blanket village sailor)
PLURALS=(boxes horses candles houses clocks apples ships stones papers rivers birds coins chairs ladders wagons books keys bells roads flowers)
VERBS=(found opened carried painted followed watched mended counted guarded dropped lifted noticed cleaned borrowed gathered)
ADVERBS=(slowly quietly carefully suddenly gladly softly bravely early later again)
PLACES=(market station library kitchen harbor courtyard museum valley chapel orchard)
NAMES=(Smith Turner Walker Harris Morgan Bennett Clarke Foster Hughes Palmer)
TITLES=("Mr." "Dr." "Mrs.")
TITLE_WORDS=("Mister" "Doctor" "Missus")

# sentence: sets TEXT (as written) and NORM (spelled out) from the next template
sentence() {
    local a1 n1 v1 a2 n2 adv place name num t
    rand 8; t=$R
    pick ADJS; a1=$PICK; pick NOUNS; n1=$PICK; pick VERBS; v1=$PICK
    pick ADJS; a2=$PICK; pick NOUNS; n2=$PICK; pick ADVERBS; adv=$PICK
    pick PLACES; place=$PICK; pick NAMES; name=$PICK
    case $t in
        0) TEXT="The ${a1} ${n1} ${v1} the ${a2} ${n2}."; NORM="$TEXT" ;;
        1) rand 19; num=$(( R + 2 )); pick PLURALS; words "$num"
           TEXT="${name} ${v1} ${num} ${a1} ${PICK} near the ${place}."
           NORM="${name} ${v1} ${WORDS} ${a1} ${PICK} near the ${place}." ;;
        2) TEXT="Yesterday, the ${n1} ${v1} the ${n2} ${adv}."; NORM="$TEXT" ;;
        3) TEXT="Did ${name} see the ${a1} ${n1} in the ${place}?"; NORM="$TEXT" ;;
        4) rand 12; num=$(( R + 1 )); pick PLURALS; words "$num"
           TEXT="At ${num} o'clock, the ${a1} ${PICK} were ${v1} ${adv}."
           NORM="At ${WORDS} o'clock, the ${a1} ${PICK} were ${v1} ${adv}." ;;
        5) rand ${#TITLES[@]}
           TEXT="${TITLES[$R]} ${name} ${v1} the ${n1}, and then the ${a2} ${n2}."
           NORM="${TITLE_WORDS[$R]} ${name} ${v1} the ${n1}, and then the ${a2} ${n2}." ;;
        6) rand 200; num=$(( R + 1800 )); year_words "$num"
           TEXT="In ${num}, the ${place} near the ${n1} was ${a1} and ${a2}."
           NORM="In ${WORDS}, the ${place} near the ${n1} was ${a1} and ${a2}." ;;
        *) TEXT="The ${n1} by the ${place} was ${a1}, but the ${n2} was ${a2}."; NORM="$TEXT" ;;
    esac
}

# --- generate -----------------------------------------------------------------
mkdir -p "${OUT_DIR}/wavs"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/speech-corpus.XXXXXX")"
trap 'rm -rf "${TMP}"' EXIT
META="${TMP}/metadata.csv"
: > "${META}"

echo "${PROG}: ${COUNT} utterances, ${#VOICES[@]} voices (${VOICES[*]}), seed ${SEED} -> ${OUT_DIR}"
# A rerun removes the clips its earlier run listed in voices.csv (this script's own record),
# and nothing else. A folder holding clips or a metadata.csv but no voices.csv is someone
# else's corpus (a real LJSpeech has the same file names): refuse it.
has_wav() { local f; for f in "$1"/*.wav; do [[ -e "${f}" || -L "${f}" ]] && return 0; done; return 1; }
removed=0
if [[ -f "${OUT_DIR}/voices.csv" ]]; then
    while IFS='|' read -r id _ || [[ -n "${id}" ]]; do
        [[ "${id}" =~ ^LJ[0-9]{3}-[0-9]{4}$ && -f "${OUT_DIR}/wavs/${id}.wav" ]] || continue
        rm -f -- "${OUT_DIR}/wavs/${id}.wav"; removed=$(( removed + 1 ))
    done < "${OUT_DIR}/voices.csv"
elif [[ -f "${OUT_DIR}/metadata.csv" ]] || has_wav "${OUT_DIR}/wavs"; then
    echo "${PROG}: ${OUT_DIR} holds a corpus this script did not make (clips or metadata.csv, no voices.csv); choose another OUT_DIR, or delete it if an interrupted run of this script left it" >&2
    exit 2
fi
(( removed == 0 )) || echo "${PROG}: removed ${removed} clips of an earlier run from ${OUT_DIR}/wavs"
# The record is written as the clips are: each clip's line goes in before its file, so a run
# that is stopped leaves a voices.csv naming everything it made (the next run removes it).
: > "${OUT_DIR}/voices.csv"
START=${SECONDS}
for (( i = 1; i <= COUNT; i++ )); do
    printf -v ID 'LJ%03d-%04d' $(( (i - 1) / 100 + 1 )) $(( (i - 1) % 100 + 1 ))
    sentence
    voice="${VOICES[$(( (i - 1) % ${#VOICES[@]} ))]}"   # round robin: every voice equally often
    rand 41; pitch=$(( 30 + R ))
    rand 41; speed=$(( 140 + R ))
    espeak-ng -v "${voice}" -p "${pitch}" -s "${speed}" -w "${TMP}/raw.wav" -- "${NORM}" \
        || die "espeak-ng failed for ${ID} (voice ${voice})"
    printf '%s|%s|%s|%s\n' "${ID}" "${voice}" "${pitch}" "${speed}" >> "${OUT_DIR}/voices.csv"
    sox -R -q "${TMP}/raw.wav" -r 22050 -c 1 -b 16 -e signed-integer "${OUT_DIR}/wavs/${ID}.wav" \
        gain -n -1 rate 22050 \
        || die "sox failed for ${ID}"
    printf '%s|%s|%s\n' "${ID}" "${TEXT}" "${NORM}" >> "${META}"
    if (( i % 20 == 0 || i == COUNT )); then
        echo "  [${i}/${COUNT}] ${ID} (${voice}, p${pitch}, s${speed}) $(( SECONDS - START ))s"
    fi
done
mv "${META}" "${OUT_DIR}/metadata.csv"
echo "${PROG}: wrote ${COUNT} clips to ${OUT_DIR}/wavs, ${OUT_DIR}/metadata.csv and ${OUT_DIR}/voices.csv in $(( SECONDS - START ))s"
