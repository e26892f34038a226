#!/usr/bin/env python3
"""Objective vocoder quality on held-out clips: copy synthesis by a WaveKit checkpoint and by
Griffin-Lim (32 iterations) from the same mels, against the original audio.

Metrics, on time-aligned signals cut to the same length (the first two lower is better):
  - log-mel L1: mean |ln(mel_orig) - ln(mel_vocoded)| over non-silent bins (tacotron2 mel,
    natural log, floor 1e-5; bins where the original is above the floor);
  - MCD (mel-cepstral distortion, dB): (10 / ln 10) * sqrt(2 * sum_{d=1..24} (c_d - c'_d)^2),
    averaged over non-silent frames, with c the DCT-II (ortho) of the log mel power spectrum
    (librosa-style mel-cepstra; coefficient 0, the energy, is excluded as usual);
  - frame-energy correlation of log RMS per 256-sample frame (higher is better) and the
    vocoder's RMS in frames where the original is digital silence (its noise floor);
  - the log-mel L1 per group of 10 mel bands, and its signed mean (vocoder minus original),
    which tell an error of level (signed mean far from 0) from one of detail (signed mean
    near 0, as when harmonics land between the original's);
  - the level: the vocoder's RMS over the original's, and the mean log-mel difference (signed,
    vocoder minus original, and absolute) over the original's loud bins (within 40 dB of the clip's loudest
    bin), its middle ones (40-80 dB below) and its quiet ones (more than 80 dB below, above the
    floor). A vocoder too quiet where the speech is and too loud where it is not shows a
    negative first figure and a positive last one, which a mean over all bins hides.

Usage:
  tools/venv.sh
  .venv-tools/bin/python tools/eval/compare_vocoders.py --checkpoint A.safetensors [--checkpoint B.safetensors ...] \
      --clips $(cat runs/RUN/validation.txt) [--wavekit .build/release/wavekit] [--out bench-results/vocoder-eval] \
      [--temperature T] [--sigma S] [--denoise D]
It calls `wavekit vocode` for every checkpoint (WaveNet: --temperature; WaveGlow: --sigma and
--denoise) and for Griffin-Lim, and prints a table per clip plus the means. The default
--wavekit is the release build in this repository (wherever the script is run from); a relative
--out is taken from the current folder. Clips may be at any rate and stereo, as `wavekit vocode`
takes them: the original is mixed down to mono and resampled (librosa, soxr_hq) to the rate of
each vocoded file before the comparison, and a note says so.
"""
import argparse, json, os, shlex, shutil, subprocess, sys
import numpy as np
import librosa, soundfile as sf
import scipy.fft


def logmel(y, sr):
    m = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=256, win_length=1024, n_mels=80,
                                       fmin=0, fmax=8000, power=1.0, center=True, pad_mode="reflect")
    return np.log(np.maximum(m, 1e-5))


def mcd(a, b, sr):
    def cep(y):
        p = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=256, n_mels=80, fmax=8000, power=2.0)
        return scipy.fft.dct(np.log(np.maximum(p, 1e-10)), axis=0, type=2, norm="ortho")[1:25]
    ca, cb = cep(a), cep(b)
    energy = librosa.feature.rms(y=a, frame_length=1024, hop_length=256)[0][: ca.shape[1]]
    keep = energy > energy.max() * 1e-3
    d = np.sqrt(2 * np.sum((ca - cb) ** 2, axis=0))[keep]
    return float(10 / np.log(10) * d.mean())


def envelope(a, b, frame=256):
    """Correlation of the per-frame log energies (does the vocoder follow the loudness?) and the
    vocoder's RMS in frames where the original is digital silence (its noise floor; nan when
    the original has no silent frame)."""
    n = min(len(a), len(b)) // frame * frame
    ea = np.sqrt((a[:n].reshape(-1, frame) ** 2).mean(1))
    eb = np.sqrt((b[:n].reshape(-1, frame) ** 2).mean(1))
    corr = float(np.corrcoef(np.log(ea + 1e-5), np.log(eb + 1e-5))[0, 1])
    silent = ea < 1e-4
    return corr, float(eb[silent].mean()) if silent.any() else float("nan")


BAND_GROUPS = [(i, i + 10) for i in range(0, 80, 10)]


def metrics(orig, voc, sr):
    """(log-mel L1, MCD, frame-energy correlation, RMS in the original's silent frames) and,
    per group of 10 bands, the (absolute, signed) mean log-mel difference."""
    n = min(len(orig), len(voc))
    a, b = orig[:n], voc[:n]
    A, B = logmel(a, sr), logmel(b, sr)
    mask = A > np.log(1e-5) + 1e-3
    bands = [(float(np.abs(B - A)[lo:hi][mask[lo:hi]].mean()), float((B - A)[lo:hi][mask[lo:hi]].mean()))
             for lo, hi in BAND_GROUPS]
    return (float(np.abs(A - B)[mask].mean()), mcd(a, b, sr)) + envelope(a, b), bands, level(a, b, A, B, mask)


LEVEL_GROUPS = [("loud", 0.0, np.log(100.0)), ("middle", np.log(100.0), np.log(1e4)), ("quiet", np.log(1e4), np.inf)]


def level(a, b, A, B, mask):
    """RMS ratio (vocoder / original), then the signed and then the absolute mean log-mel
    difference (vocoder minus original) over the original's loud, middle and quiet bins
    (LEVEL_GROUPS: nats below the clip's loudest bin; 40 dB of amplitude is ln 100)."""
    below = A.max() - A
    groups = [mask & (below >= lo) & (below < hi) for _, lo, hi in LEVEL_GROUPS]
    signed = [float((B - A)[g].mean()) if g.any() else float("nan") for g in groups]
    absolute = [float(np.abs(B - A)[g].mean()) if g.any() else float("nan") for g in groups]
    return (float(np.sqrt(np.mean(b ** 2)) / max(np.sqrt(np.mean(a ** 2)), 1e-12)),) + tuple(signed) + tuple(absolute)


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROG = os.path.basename(sys.argv[0])  # the script that was run (teacher_forced.py imports this one)


def fail(msg):
    print(f"{PROG}: {msg}", file=sys.stderr)
    sys.exit(1)


def wavekit_run(cmd):
    """Runs a wavekit command; on failure prints the command and wavekit's messages and exits 1."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        how = f"killed by signal {-r.returncode}" if r.returncode < 0 else f"exit status {r.returncode}"
        msg = (r.stderr.strip() or r.stdout.strip() or "(no message)")
        fail(f"failed ({how}): {shlex.join(cmd)}\n{msg}")
    return r.stdout


def find_wavekit(arg):
    """The wavekit binary: the default is this repository's release build; an explicit value is a
    path (relative to the current folder) or a command on PATH."""
    if arg is None:
        path = os.path.join(REPO, ".build", "release", "wavekit")
        if not os.access(path, os.X_OK):
            fail(f"{path} not found; build it with: (cd {shlex.quote(REPO)} && swift build -c release --product wavekit), "
                 "or name a binary with --wavekit")
        return path
    path = arg if os.sep in arg else shutil.which(arg) or arg
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        fail(f"--wavekit {arg}: no such executable")
    return path


def load_clip(path):
    """The audio as mono float32 (channels averaged) and its rate; exits with a message if unreadable."""
    try:
        y, sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, OSError, RuntimeError) as e:
        fail(f"cannot read {path}: {e}")
    if y.shape[0] == 0:
        fail(f"{path} is empty")
    return y.mean(axis=1), sr


def family(wavekit, checkpoint):
    out = wavekit_run([wavekit, "info", checkpoint, "--json"])
    try:
        info = json.loads(out)
    except json.JSONDecodeError:
        fail(f"`wavekit info {checkpoint} --json` printed no JSON")
    if not isinstance(info, dict) or "family" not in info:
        fail(f"{checkpoint} is not a vocoder checkpoint (`wavekit info` finds no model family in it)")
    return info["family"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", action="append", required=True, help="a WaveKit vocoder checkpoint (repeatable)")
    ap.add_argument("--clips", nargs="+", required=True)
    ap.add_argument("--wavekit", default=None,
                    help="the wavekit binary (default: .build/release/wavekit in this repository)")
    ap.add_argument("--out", default="bench-results/vocoder-eval")
    ap.add_argument("--temperature", type=float, default=1.0, help="WaveNet sampling temperature (> 0)")
    ap.add_argument("--sigma", type=float, default=0.6, help="WaveGlow sigma (>= 0)")
    ap.add_argument("--denoise", type=float, default=0.0, help="WaveGlow denoiser strength, 0..1 (0: off)")
    args = ap.parse_args()
    # Everything is checked before --out is made.
    if not (np.isfinite(args.temperature) and args.temperature > 0):
        ap.error(f"--temperature must be a positive number (got {args.temperature:g})")
    if not (np.isfinite(args.sigma) and args.sigma >= 0):
        ap.error(f"--sigma must be 0 or more (got {args.sigma:g})")
    if not (0 <= args.denoise <= 1):
        ap.error(f"--denoise must be between 0 and 1 (got {args.denoise:g})")
    wavekit = find_wavekit(args.wavekit)
    for path in args.checkpoint:
        if not os.path.isfile(path):
            fail(f"checkpoint not found: {path}")
    for clip in args.clips:
        if not os.path.isfile(clip):
            fail(f"clip not found: {clip}")
        try:
            frames = sf.info(clip).frames
        except (sf.LibsndfileError, OSError, RuntimeError) as e:
            fail(f"cannot read clip {clip}: {e}")
        if frames == 0:
            fail(f"clip {clip} is empty")
    names = [os.path.splitext(os.path.basename(c))[0] for c in args.clips]
    if len(set(names)) < len(names):
        fail("two clips have the same file name; their outputs and rows would clash: "
             + ", ".join(sorted({n for n in names if names.count(n) > 1})))
    vocoders = []
    for ckpt in args.checkpoint:
        fam = family(wavekit, ckpt)
        label = os.path.splitext(os.path.basename(ckpt))[0]
        if label == "checkpoint":                    # a run folder's file: name it by its run
            label = os.path.basename(os.path.dirname(os.path.abspath(ckpt)))
        while label in [l for l, _ in vocoders] or label == "griffin-lim":
            label += "+"
        extra = ["--checkpoint", ckpt]
        if fam == "wavenet":
            extra += ["--temperature", str(args.temperature)]
        elif fam == "waveglow":
            extra += ["--sigma", str(args.sigma)] + (["--denoise", str(args.denoise)] if args.denoise > 0 else [])
        vocoders.append((label, extra))
    vocoders.append(("griffin-lim", ["--vocoder", "griffin-lim", "--iterations", "32"]))
    os.makedirs(args.out, exist_ok=True)
    rows, band_rows, level_rows = [], [], []
    for clip in args.clips:
        name = os.path.splitext(os.path.basename(clip))[0]
        orig, sr = load_clip(clip)
        if sf.info(clip).channels > 1:
            print(f"note: {name} has {sf.info(clip).channels} channels: the original is their mean (mono)", file=sys.stderr)
        at_rate = {sr: orig}                         # the original at each vocoder's rate
        results, band_results, level_results = {}, {}, {}
        for label, extra in vocoders:
            out = os.path.join(args.out, f"{name}-{label}.wav")
            wavekit_run([wavekit, "vocode", clip, "-o", out, "--quiet"] + extra)
            voc, vsr = load_clip(out)
            if vsr not in at_rate:
                print(f"note: {name} is {sr} Hz and {label} writes {vsr} Hz: the original is resampled to {vsr} Hz "
                      "for the comparison", file=sys.stderr)
                at_rate[vsr] = librosa.resample(orig, orig_sr=sr, target_sr=vsr, res_type="soxr_hq").astype(np.float32)
            results[label], band_results[label], level_results[label] = metrics(at_rate[vsr], voc, vsr)
        rows.append((name, results))
        band_rows.append(band_results)
        level_rows.append(level_results)
        print(f"{name:14s}  " + "   ".join(f"{l} L1 {results[l][0]:.3f} MCD {results[l][1]:6.2f}" for l, _ in vocoders), flush=True)
    labels = [l for l, _ in vocoders]
    mean = {k: tuple(float(np.nanmean([r[1][k][i] for r in rows])) for i in range(4)) for k in labels}
    print(f"{'mean':14s}  " + "   ".join(f"{l} L1 {mean[l][0]:.3f} MCD {mean[l][1]:6.2f}" for l in labels))
    print()
    print("| vocoder | log-mel L1 (nats) | MCD (dB) | frame-energy correlation | RMS where the original is silent |")
    print("| --- | --- | --- | --- | --- |")
    for l in labels:
        print(f"| {l} | {mean[l][0]:.3f} | {mean[l][1]:.2f} | {mean[l][2]:.3f} | {mean[l][3]:.4f} |")
    bands = {k: [tuple(float(np.mean([r[k][g][i] for r in band_rows])) for i in range(2)) for g in range(len(BAND_GROUPS))]
             for k in labels}
    print()
    print("log-mel L1 per group of mel bands, absolute (signed: vocoder minus original)")
    print("| vocoder | " + " | ".join(f"bands {lo}-{hi - 1}" for lo, hi in BAND_GROUPS) + " |")
    print("| --- |" + " --- |" * len(BAND_GROUPS))
    for l in labels:
        print(f"| {l} | " + " | ".join(f"{a:.2f} ({s:+.2f})" for a, s in bands[l]) + " |")
    g = len(LEVEL_GROUPS)
    levels = {k: [float(np.nanmean([r[k][i] for r in level_rows])) for i in range(1 + 2 * g)] for k in labels}
    print()
    print("level: RMS over the original's, and the log-mel difference by the original's level, signed (vocoder minus original) and (absolute)")
    print("| vocoder | RMS ratio | " + " | ".join(f"{n} bins" for n, _, _ in LEVEL_GROUPS) + " |")
    print("| --- |" + " --- |" * (1 + g))
    for l in labels:
        print(f"| {l} | {levels[l][0]:.2f} | " + " | ".join(f"{levels[l][1 + i]:+.2f} ({levels[l][1 + g + i]:.2f})" for i in range(g)) + " |")
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"checkpoints": args.checkpoint, "clips": [r[0] for r in rows], "per_clip": {r[0]: r[1] for r in rows},
                   "mean": mean, "bands": bands, "levels": levels, "temperature": args.temperature, "sigma": args.sigma,
                   "denoise": args.denoise}, f, indent=1)


if __name__ == "__main__":
    main()
