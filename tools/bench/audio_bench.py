#!/usr/bin/env python3
"""librosa / torch / soundfile reference side of `wavekit bench audio`.

Usage:
    audio_bench.py --impl librosa|torch [--cases tools/bench/audio_cases.json]
                   [--audio bench-results/bench60s.wav] [--threads N]
                   [--repeats R] [--only TEXT] [--json]
    audio_bench.py --make-audio PATH      (only create the WAV, then exit)

Reads the same case file as the Swift benchmark (tools/bench/audio_cases.json).
The audio is a deterministic 60 s, 22 050 Hz, mono, 16-bit PCM WAV (chirps +
harmonics + seeded noise, peak 0.5); it is generated when the --audio path
does not exist. For each case the inputs are built once (reading the file, and
for griffin-lim the input |STFT|, are not timed), then one warm-up and
--repeats timed runs (time.perf_counter); median and min are reported.

Case kinds and what is timed, per --impl:

  logmel      librosa: librosa.feature.melspectrogram(power=1, pad_mode=reflect,
                       Slaney mels) then np.log(np.maximum(M, 1e-5)).
              torch:   torch.stft(...).abs() (periodic Hann window built
                       once), matmul with a precomputed mel matrix
                       (librosa.filters.mel), clamp(min=1e-5).log(), under
                       torch.no_grad().
  griffinlim  librosa: librosa.griffinlim(S, n_iter, momentum, init='random',
                       random_state=seed) on S = |librosa.stft(first N s)|.
              torch:   not run.
  read_wav    librosa: soundfile.read(path, dtype='float32') of the whole
                       file (from the page cache after the warm-up; the
                       result carries "lib": "soundfile").
              torch:   not run.

Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and
VECLIB_MAXIMUM_THREADS are set to --threads before numpy is imported, and for
torch torch.set_num_threads(N) is called. (librosa's FFT goes through
scipy.fft with its default of one worker, so only its BLAS work -- the mel
projection -- can use more than one thread.)

With --json it prints exactly one JSON object on stdout, the schema of
torch_bench.py:

    {"impl": "librosa" | "torch", "version": "<librosa or torch version>",
     "threads": N,
     "results": [{"name": ..., "median_ms": ..., "min_ms": ...,
                  "gflops": null, ["lib": "soundfile"]}],
     "libs": {"numpy": ..., ...}, "blas": [{"api", "num_threads"}, ...]}

Cases this impl does not implement are left out of "results". Progress
messages go to stderr.
"""

import argparse
import json
import os
import statistics
import sys
import time
import wave

DEFAULT_CASES = "tools/bench/audio_cases.json"
DEFAULT_AUDIO = "bench-results/bench60s.wav"
IMPLS = ("librosa", "torch")
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS")

# Audio defaults (overridden by the "audio" block of the case file).
SAMPLE_RATE = 22050
SECONDS = 60
PEAK = 0.5
AUDIO_SEED = 20250101


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------- audio

def synth_audio(sr=SAMPLE_RATE, seconds=SECONDS, peak=PEAK, seed=AUDIO_SEED):
    """Deterministic test signal as int16 samples (numpy array).

    Sum of: an exponential chirp 80 Hz -> 7 kHz over the whole file; a linear
    chirp 300 Hz -> 3 kHz repeating every 5 s (raised-cosine faded per
    segment); a 10-harmonic tone stepping through five notes every 2 s with
    5 Hz vibrato and 3 Hz tremolo; white noise about 40 dB below. Normalised
    so the peak is `peak` of full scale, then rounded to 16 bits.
    """
    import numpy as np

    n = int(round(sr * seconds))
    t = np.arange(n, dtype=np.float64) / sr
    dur = n / sr
    two_pi = 2.0 * np.pi

    # 1. exponential chirp over the whole file
    f0, f1 = 80.0, 7000.0
    k = np.log(f1 / f0)
    sweep = np.sin(two_pi * f0 * dur / k * (np.exp(t / dur * k) - 1.0))

    # 2. repeating linear chirp, 5 s segments, faded in/out
    seg = 5.0
    tau = np.mod(t, seg)
    g0, g1 = 300.0, 3000.0
    chirp = np.sin(two_pi * (g0 * tau + (g1 - g0) * tau * tau / (2.0 * seg)))
    chirp *= np.sin(np.pi * tau / seg) ** 2

    # 3. harmonic tone: notes every 2 s, vibrato, tremolo, 1/h harmonics
    notes = np.array([110.0, 146.83, 164.81, 196.0, 220.0])
    note = notes[(np.floor(t / 2.0).astype(np.int64)) % len(notes)]
    freq = note * (1.0 + 0.01 * np.sin(two_pi * 5.0 * t))
    phase = two_pi * np.cumsum(freq) / sr
    tone = np.zeros(n)
    for h in range(1, 11):
        tone += np.sin(h * phase) / h
    tone *= 0.6 + 0.4 * np.sin(two_pi * 3.0 * t)
    tone /= np.max(np.abs(tone))

    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n)

    x = 0.35 * sweep + 0.25 * chirp + 0.4 * tone + 0.01 * noise
    x *= peak / np.max(np.abs(x))
    q = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    return q


def write_wav(path, samples, sr):
    """Write int16 mono samples as a PCM WAV, atomically (tmp + rename)."""
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sr)
            w.writeframes(samples.tobytes())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def check_wav(path, spec):
    """Exit with a message if the WAV header disagrees with `spec`."""
    try:
        with wave.open(path, "rb") as w:
            ch, width, sr, frames = (w.getnchannels(), w.getsampwidth(),
                                     w.getframerate(), w.getnframes())
    except (wave.Error, EOFError, OSError) as e:
        raise SystemExit(f"audio_bench.py: {path}: not a readable PCM WAV "
                         f"({e}); delete it to regenerate")
    want_sr = int(spec.get("sample_rate", SAMPLE_RATE))
    want_ch = int(spec.get("channels", 1))
    want_bits = int(spec.get("bits", 16))
    want_frames = int(round(want_sr * float(spec.get("seconds", SECONDS))))
    problems = []
    if sr != want_sr:
        problems.append(f"sample rate {sr} (want {want_sr})")
    if ch != want_ch:
        problems.append(f"{ch} channels (want {want_ch})")
    if width * 8 != want_bits:
        problems.append(f"{width * 8}-bit (want {want_bits})")
    if frames != want_frames:
        problems.append(f"{frames} frames (want {want_frames})")
    if problems:
        raise SystemExit(f"audio_bench.py: {path}: " + ", ".join(problems)
                         + "; delete it to regenerate")


def ensure_audio(path, spec):
    """Generate the WAV at `path` if it does not exist; then check it."""
    if not os.path.exists(path):
        sr = int(spec.get("sample_rate", SAMPLE_RATE))
        seconds = float(spec.get("seconds", SECONDS))
        peak = float(spec.get("peak", PEAK))
        if int(spec.get("channels", 1)) != 1 or int(spec.get("bits", 16)) != 16:
            raise SystemExit("audio_bench.py: can only generate mono 16-bit WAV")
        log(f"audio_bench.py: writing {path} ({seconds:g} s, {sr} Hz, mono, "
            f"16-bit)")
        write_wav(path, synth_audio(sr, seconds, peak), sr)
    check_wav(path, spec)


# ---------------------------------------------------------------- helpers

def stft_args(case):
    window = case.get("window", "hann")
    if window != "hann":
        raise ValueError(f"case {case['name']!r}: unsupported window {window!r}")
    return dict(n_fft=int(case["n_fft"]), hop_length=int(case["hop_length"]),
                win_length=int(case.get("win_length", case["n_fft"])),
                window=window, center=bool(case.get("center", True)),
                pad_mode=case.get("pad_mode", "reflect"))


def mel_args(case, sr):
    scale = case.get("mel_scale", "slaney")
    if scale not in ("slaney", "htk"):
        raise ValueError(f"case {case['name']!r}: unknown mel_scale {scale!r}")
    norm = case.get("mel_norm", "slaney")
    return dict(sr=sr, n_fft=int(case["n_fft"]), n_mels=int(case["n_mels"]),
                fmin=float(case.get("fmin", 0.0)),
                fmax=(None if case.get("fmax") is None else float(case["fmax"])),
                htk=(scale == "htk"), norm=norm)


def log_floor(case):
    if case.get("log", "ln") != "ln":
        raise ValueError(f"case {case['name']!r}: only natural log supported")
    return float(case.get("log_floor", 1e-5))


def check_rate(case, sr):
    want = case.get("sample_rate")
    if want is not None and int(want) != sr:
        raise SystemExit(f"audio_bench.py: case {case['name']!r} wants "
                         f"{want} Hz, the file is {sr} Hz")


def head(case, y, sr):
    """The first case['seconds'] seconds of y (error if the file is short)."""
    n = int(round(float(case["seconds"]) * sr))
    if n > len(y):
        raise SystemExit(f"audio_bench.py: case {case['name']!r} needs "
                         f"{case['seconds']} s, the file has {len(y) / sr:g} s")
    return y[:n]


# ------------------------------------------------------------ librosa side
#
# Each builder returns step() (what is timed) and extra result fields.

def librosa_logmel(case, ctx):
    import numpy as np
    import librosa
    y, sr = ctx["audio"]()
    check_rate(case, sr)
    x = np.ascontiguousarray(head(case, y, sr))
    st, mel = stft_args(case), mel_args(case, sr)
    power = float(case.get("power", 1.0))
    floor = log_floor(case)

    def step():
        m = librosa.feature.melspectrogram(
            y=x, sr=sr, n_fft=st["n_fft"], hop_length=st["hop_length"],
            win_length=st["win_length"], window=st["window"],
            center=st["center"], pad_mode=st["pad_mode"], power=power,
            n_mels=mel["n_mels"], fmin=mel["fmin"], fmax=mel["fmax"],
            htk=mel["htk"], norm=mel["norm"])
        return np.log(np.maximum(m, floor))

    return step, {}


def librosa_griffinlim(case, ctx):
    import numpy as np
    import librosa
    y, sr = ctx["audio"]()
    check_rate(case, sr)
    x = np.ascontiguousarray(head(case, y, sr))
    st = stft_args(case)
    # Input magnitude: not timed.
    S = np.abs(librosa.stft(x, **st))
    n_iter = int(case.get("n_iter", 32))
    momentum = float(case.get("momentum", 0.99))
    init = case.get("init", "random")
    seed = int(case.get("seed", 0))

    def step():
        return librosa.griffinlim(
            S, n_iter=n_iter, hop_length=st["hop_length"],
            win_length=st["win_length"], n_fft=st["n_fft"],
            window=st["window"], center=st["center"],
            pad_mode=st["pad_mode"], momentum=momentum, init=init,
            random_state=seed)

    return step, {}


def librosa_read_wav(case, ctx):
    import soundfile
    path = ctx["path"]
    dtype = case.get("dtype", "float32")

    def step():
        data, _sr = soundfile.read(path, dtype=dtype)
        return data

    return step, {"lib": "soundfile"}


# -------------------------------------------------------------- torch side

def torch_logmel(case, ctx):
    import librosa
    import torch
    y, sr = ctx["audio"]()
    check_rate(case, sr)
    x = torch.from_numpy(head(case, y, sr).copy())
    st, mel = stft_args(case), mel_args(case, sr)
    if st["pad_mode"] not in ("reflect", "constant", "replicate", "circular"):
        raise ValueError(f"case {case['name']!r}: torch.stft has no "
                         f"pad_mode {st['pad_mode']!r}")
    power = float(case.get("power", 1.0))
    floor = log_floor(case)
    window = torch.hann_window(st["win_length"])  # periodic, like librosa
    basis = torch.from_numpy(librosa.filters.mel(**mel)).contiguous()
    n_fft, hop, win = st["n_fft"], st["hop_length"], st["win_length"]
    center, pad_mode = st["center"], st["pad_mode"]

    def step():
        spec = torch.stft(x, n_fft, hop, win, window=window, center=center,
                          pad_mode=pad_mode, return_complex=True).abs()
        if power != 1.0:
            spec = spec.pow(power)
        return torch.matmul(basis, spec).clamp(min=floor).log()

    return step, {}


BUILDERS = {
    "librosa": {"logmel": librosa_logmel, "griffinlim": librosa_griffinlim,
                "read_wav": librosa_read_wav},
    "torch": {"logmel": torch_logmel},
}


# ------------------------------------------------------------------ timing

def time_step(step, repeats):
    step()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def lib_versions(impl):
    versions = {}
    names = ["numpy", "scipy", "librosa", "soundfile"]
    if impl == "torch":
        names.append("torch")
    for name in names:
        mod = sys.modules.get(name)
        if mod is None:
            try:
                mod = __import__(name)
            except ImportError:
                continue
        versions[name] = getattr(mod, "__version__", None)
    sf = sys.modules.get("soundfile")
    if sf is not None and getattr(sf, "__libsndfile_version__", None):
        versions["libsndfile"] = sf.__libsndfile_version__
    return versions


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [{"api": p.get("internal_api"), "num_threads": p.get("num_threads")}
            for p in threadpool_info()]


def print_table(report, out=sys.stdout):
    print(f"{report['impl']} {report['version']}  threads={report['threads']}",
          file=out)
    width = max([len("case")] + [len(r["name"]) for r in report["results"]])
    header = f"{'case':<{width}}  {'median ms':>10}  {'min ms':>10}"
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in report["results"]:
        print(f"{r['name']:<{width}}  {r['median_ms']:>10.3f}  "
              f"{r['min_ms']:>10.3f}", file=out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--impl", choices=IMPLS)
    p.add_argument("--cases", default=DEFAULT_CASES)
    p.add_argument("--audio", default=DEFAULT_AUDIO)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--only", action="append", default=[],
                   help="run only cases whose name contains this text "
                        "(may be repeated)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout instead of a table")
    p.add_argument("--make-audio", metavar="PATH", default=None,
                   help="only create the benchmark WAV at PATH (if missing)")
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    if args.make_audio is None and args.impl is None:
        p.error("--impl is required (or use --make-audio PATH)")

    # Thread limits must be in the environment before numpy/torch load
    # their BLAS / OpenMP runtimes.
    if "numpy" in sys.modules or "torch" in sys.modules:
        log("audio_bench.py: warning: numpy/torch already imported; "
            "thread environment variables may not take effect")
    for var in THREAD_ENV:
        os.environ[var] = str(args.threads)

    spec = {}
    if os.path.exists(args.cases):
        with open(args.cases) as f:
            spec = json.load(f).get("audio", {})
    elif args.make_audio is None:
        p.error(f"--cases: {args.cases} not found")

    if args.make_audio is not None:
        existed = os.path.exists(args.make_audio)
        ensure_audio(args.make_audio, spec)
        if existed:
            log(f"audio_bench.py: {args.make_audio} exists, kept")
        return 0

    with open(args.cases) as f:
        cases = json.load(f)["cases"]
    if args.only:
        cases = [c for c in cases if any(s in c["name"] for s in args.only)]

    if args.impl == "torch":
        import torch
        torch.set_num_threads(args.threads)
        version = torch.__version__
    else:
        import librosa
        version = librosa.__version__

    ensure_audio(args.audio, spec)
    cache = {}

    def audio():  # read once, not timed
        if "y" not in cache:
            import soundfile
            y, sr = soundfile.read(args.audio, dtype="float32", always_2d=True)
            if y.shape[1] != 1:
                raise SystemExit(f"audio_bench.py: {args.audio}: "
                                 f"{y.shape[1]} channels, want mono")
            cache["y"] = (y[:, 0].copy(), int(sr))
        return cache["y"]

    ctx = {"audio": audio, "path": args.audio}
    builders = BUILDERS[args.impl]
    results = []
    for case in cases:
        kind = case.get("kind")
        if kind not in builders:
            log(f"[{args.impl} t={args.threads}] {case['name']}: "
                f"not implemented for {args.impl}, skipped")
            continue
        log(f"[{args.impl} t={args.threads}] {case['name']} ...")
        if args.impl == "torch":
            import torch
            with torch.no_grad():
                step, extra = builders[kind](case, ctx)
                med, mn = time_step(step, args.repeats)
        else:
            step, extra = builders[kind](case, ctx)
            med, mn = time_step(step, args.repeats)
        r = {"name": case["name"], "median_ms": med * 1e3,
             "min_ms": mn * 1e3, "gflops": None}
        r.update(extra)
        results.append(r)

    report = {
        "impl": args.impl,
        "version": version,
        "threads": args.threads,
        "results": results,
        "libs": lib_versions(args.impl),
        "blas": blas_info(),
    }
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
