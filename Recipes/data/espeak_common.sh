# Shared by make_speech_corpus.sh and make_digits_corpus.sh (sourced, not run): the tool
# check, the choice of espeak-ng voices, and the seeded generator both corpora draw from.
# Expects PROG, SEED, VOICE_ARG, DEFAULT_VOICES and die() from the sourcing script.

# --- tools --------------------------------------------------------------------
for tool in espeak-ng sox; do
    command -v "${tool}" >/dev/null 2>&1 || die "'${tool}' not found. Install it with: apt-get install espeak-ng sox   (macOS: brew install espeak-ng sox)"
done

# --- voices: keep the ones this espeak-ng has -------------------------------
LANGS="$(espeak-ng --voices 2>/dev/null | awk 'NR > 1 { print $2 }')"
VARIANTS="$(espeak-ng --voices=variant 2>/dev/null | awk 'NR > 1 { for (i = 1; i <= NF; i++) if ($i ~ /^!v\//) print substr($i, 4) }')"
have_voice() {
    local lang="${1%%+*}" variant=""
    [[ "$1" == *+* ]] && variant="${1#*+}"
    printf '%s\n' "${LANGS}" | grep -qxF "${lang}" || return 1
    [[ -z "${variant}" ]] || printf '%s\n' "${VARIANTS}" | grep -qxF "${variant}" || return 1
}
VOICES=()
SKIPPED=()
for v in $(if [[ -n "${VOICE_ARG}" ]]; then echo "${VOICE_ARG}" | tr ',' ' '; else echo "${DEFAULT_VOICES}"; fi); do
    if have_voice "$v"; then VOICES+=("$v"); else SKIPPED+=("$v"); fi
done
[[ ${#SKIPPED[@]} -eq 0 ]] || echo "${PROG}: skipping voices this espeak-ng lacks: ${SKIPPED[*]}" >&2
[[ ${#VOICES[@]} -gt 0 ]] || die "none of the requested voices exist (see: espeak-ng --voices=en, espeak-ng --voices=variant)"

# --- deterministic generator --------------------------------------------------
RNG_STATE=$(( (10#${SEED} * 2654435761 + 1) & 0x7fffffff ))   # 10#: decimal even as 08
# rand N: sets R to an integer in [0, N)
rand() {
    RNG_STATE=$(( (RNG_STATE * 1103515245 + 12345) & 0x7fffffff ))
    R=$(( ((RNG_STATE >> 15) * $1) >> 16 ))   # top 16 bits scaled to [0, N): LCG low bits are weak
}
# pick ARRAY_NAME: sets PICK to a random element (bash 3.2 has no namerefs)
pick() {
    local n
    eval "n=\${#$1[@]}"
    rand "$n"
    eval "PICK=\${$1[$R]}"
}
