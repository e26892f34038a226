"""Generate golden reference data for WaveKit's DSP code (windows, STFT, mel
filter banks, log-mel front ends, MFCC, mu-law, Griffin-Lim, mel inversion).

Writes into Tests/DSPTests/Golden/ (relative to the repo root):

  * speech22k.wav / speech16k.wav -- committed test clips. If missing, they are
    made with espeak-ng saying "WaveKit turns mel spectrograms into speech,
    quickly." (espeak-ng -w tmp.wav, default voice), then converted by sox to
    22050 Hz and 16000 Hz mono 16-bit PCM WAV (`sox -R tmp.wav -r RATE -c 1
    -b 16 out.wav`; -R = repeatable mode, so sox's dither is seeded
    deterministically). If they already exist they are reused unchanged, so the
    goldens stay stable across espeak-ng / sox versions.
  * *.npy -- float32, C-order arrays written with numpy.save; see
    manifest.json for every file's shape and the exact parameters used.
  * manifest.json -- tool versions plus {name: {shape, description}}.

Clips are read with soundfile as float32 (exactly int16 / 32768).
Spectrogram shapes are librosa's: [freq_bins, frames] or [n_mels, frames].
Matrix products (mel @ |STFT|) are done in float64 from the float32 arrays and
the result is rounded to float32.

Regenerate (from the repo root):
    tools/venv.sh && .venv-tools/bin/python tools/golden/dsp_golden.py
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import scipy
import scipy.fft
import scipy.signal
import soundfile as sf
import librosa

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "Tests", "DSPTests", "Golden")
SCRIPT_REL = "tools/golden/dsp_golden.py"

TEXT = "WaveKit turns mel spectrograms into speech, quickly."
SIZE_BUDGET = 3 * 1024 * 1024

F32 = np.float32
F64 = np.float64

manifest_files = {}


def tool_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        text = (out.stdout or out.stderr).strip().splitlines()
        return text[0].strip() if text else "unknown"
    except OSError:
        return "not installed"


def make_clips():
    p22 = os.path.join(OUT_DIR, "speech22k.wav")
    p16 = os.path.join(OUT_DIR, "speech16k.wav")
    if os.path.exists(p22) and os.path.exists(p16):
        print("clips: reusing existing speech22k.wav / speech16k.wav")
        return p22, p16
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"dsp_golden.py: {tool} is needed to create the test clips")
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "tmp.wav")
        subprocess.run(["espeak-ng", "-w", raw, TEXT], check=True)
        for path, rate in ((p22, 22050), (p16, 16000)):
            if os.path.exists(path):
                print(f"clips: reusing existing {os.path.basename(path)}")
                continue
            subprocess.run(["sox", "-R", raw, "-r", str(rate), "-c", "1", "-b", "16", path],
                           check=True)
            print(f"clips: created {os.path.basename(path)}")
    return p22, p16


def load_clip(path, expected_sr):
    x, sr = sf.read(path, dtype="float32")
    assert sr == expected_sr, (path, sr)
    assert x.ndim == 1, (path, x.shape)
    return np.ascontiguousarray(x, dtype=F32)


def save(name, arr, description):
    arr = np.ascontiguousarray(np.asarray(arr), dtype=F32)
    assert np.all(np.isfinite(arr)), name
    np.save(os.path.join(OUT_DIR, name), arr)
    manifest_files[name] = {"shape": list(arr.shape), "description": description}
    return arr


def stft_mag(y, n_fft, hop, win, window="hann"):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win, window=window,
                                center=True, pad_mode="reflect"))
    for w in caught:
        print(f"  warning from librosa.stft (len={len(y)}, n_fft={n_fft}): "
              f"{w.category.__name__}: {w.message}")
    return S.astype(F32)


def matmul64(a, b):
    return (a.astype(F64) @ b.astype(F64))


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    p22, p16 = make_clips()
    speech22k = load_clip(p22, 22050)
    speech16k = load_clip(p16, 16000)
    for name, x, sr in (("speech22k.wav", speech22k, 22050), ("speech16k.wav", speech16k, 16000)):
        manifest_files[name] = {
            "shape": [int(x.shape[0])],
            "description": f"espeak-ng '{TEXT}' -> sox -R -r {sr} -c 1 -b 16; "
                           f"{sr} Hz mono int16 PCM WAV, {x.shape[0] / sr:.3f} s",
        }

    # ---- windows -------------------------------------------------------------
    save("window_hann_periodic_1024.npy", librosa.filters.get_window("hann", 1024, fftbins=True),
         "librosa.filters.get_window('hann', 1024, fftbins=True) (periodic Hann, w[0]=0)")
    save("window_hann_symmetric_1024.npy", scipy.signal.get_window("hann", 1024, fftbins=False),
         "scipy.signal.get_window('hann', 1024, fftbins=False) (symmetric Hann, w[0]=w[1023]=0)")
    save("window_hamming_periodic_1024.npy",
         librosa.filters.get_window("hamming", 1024, fftbins=True),
         "librosa.filters.get_window('hamming', 1024, fftbins=True) (periodic, 0.54-0.46cos)")
    save("window_blackman_periodic_1024.npy",
         librosa.filters.get_window("blackman", 1024, fftbins=True),
         "librosa.filters.get_window('blackman', 1024, fftbins=True) (periodic, 0.42/0.5/0.08)")

    # ---- STFT magnitudes -----------------------------------------------------
    stft_desc = ("np.abs(librosa.stft({y}, n_fft={n}, hop_length={h}, win_length={w}, "
                 "window='hann', center=True, pad_mode='reflect'))")
    mag_speech = save("stft_mag_speech.npy", stft_mag(speech22k, 1024, 256, 1024),
                      stft_desc.format(y="speech22k", n=1024, h=256, w=1024))

    short = (0.5 * np.sin(2 * np.pi * 440 * np.arange(300) / 22050)).astype(F32)
    save("short_input.npy", short,
         "(0.5*sin(2*pi*440*n/22050)).astype(float32), n=0..299 (shorter than n_fft=1024)")
    save("stft_mag_short.npy", stft_mag(short, 1024, 256, 1024),
         stft_desc.format(y="short_input", n=1024, h=256, w=1024))

    mag_16k = save("stft_mag_16k_win800.npy", stft_mag(speech16k, 1024, 200, 800),
                   stft_desc.format(y="speech16k", n=1024, h=200, w=800)
                   + " (800-pt periodic Hann zero-padded centred in 1024)")

    # ---- mel filter banks ----------------------------------------------------
    mel_22k = save("mel_slaney_22050_1024_80_0_8000.npy",
                   librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0, fmax=8000),
                   "librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0, fmax=8000) "
                   "(slaney mel scale, norm='slaney'), [n_mels, 1+n_fft/2]")
    mel_22k_125 = save("mel_slaney_22050_1024_80_125_7600.npy",
                       librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=125, fmax=7600),
                       "librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=125, fmax=7600) "
                       "(slaney mel scale, norm='slaney'), [n_mels, 1+n_fft/2]")
    mel_htk = save("mel_htk_16000_400_128_0_8000_nonorm.npy",
                   librosa.filters.mel(sr=16000, n_fft=400, n_mels=128, fmin=0, fmax=8000,
                                       htk=True, norm=None),
                   "librosa.filters.mel(sr=16000, n_fft=400, n_mels=128, fmin=0, fmax=8000, "
                   "htk=True, norm=None), [n_mels, 1+n_fft/2]")

    # ---- Tacotron2-style log-mel (22050 Hz, 1024/256/1024, 80 mels 0-8000) ---
    taco_desc = ("mel_slaney_22050_1024_80_0_8000 @ stft_mag(%s; n_fft=1024, hop=256, "
                 "win=1024, hann, center, reflect), product in float64")

    def tacotron2(y):
        lin = matmul64(mel_22k, stft_mag(y, 1024, 256, 1024))
        return lin, np.log(np.maximum(lin, 1e-5))

    lin, log = tacotron2(speech22k)
    linmel_speech = save("linmel_tacotron2_speech.npy", lin, taco_desc % "speech22k")
    save("logmel_tacotron2_speech.npy", log,
         "ln(max(" + (taco_desc % "speech22k") + ", 1e-5))")

    silence = np.zeros(22050, dtype=F32)
    _, log = tacotron2(silence)
    save("logmel_tacotron2_silence.npy", log,
         "ln(max(" + (taco_desc % "np.zeros(22050)") + ", 1e-5)) (all ln(1e-5))")

    n = np.arange(22050)
    square = np.where((n // 25) % 2 == 0, 1.0, -1.0).astype(F32)
    lin, log = tacotron2(square)
    sq = "square x[n]=+1 if (n//25)%2==0 else -1, 22050 samples (441 Hz full scale)"
    save("linmel_tacotron2_square.npy", lin, taco_desc % sq)
    save("logmel_tacotron2_square.npy", log, "ln(max(" + (taco_desc % sq) + ", 1e-5))")

    # ---- 16 kHz log-mel (1024/200/800, 80 mels 0-8000) -----------------------
    mel_16k_80 = librosa.filters.mel(sr=16000, n_fft=1024, n_mels=80, fmin=0, fmax=8000)
    lin = matmul64(mel_16k_80, mag_16k)
    d16 = ("librosa.filters.mel(sr=16000, n_fft=1024, n_mels=80, fmin=0, fmax=8000) "
           "@ stft_mag_16k_win800, product in float64")
    save("linmel_16k_speech.npy", lin, d16)
    save("logmel_16k_speech.npy", np.log(np.maximum(lin, 1e-5)), "ln(max(" + d16 + ", 1e-5))")

    # ---- r9y9/wavenet_vocoder normalized mel ---------------------------------
    M = matmul64(mel_22k_125, mag_speech)
    S = 20 * np.log10(np.maximum(1e-5, M)) - 20
    save("r9y9_speech.npy", np.clip((S + 100) / 100, 0, 1),
         "r9y9/wavenet_vocoder: M = mel_slaney_22050_1024_80_125_7600 @ stft_mag_speech "
         "(float64); S = 20*log10(max(1e-5, M)) - 20; clip((S + 100)/100, 0, 1) "
         "(ref_level_db=20, min_level_db=-100)")

    # ---- torchaudio MelSpectrogram defaults at 16 kHz ------------------------
    P = stft_mag(speech16k, 400, 200, 400).astype(F64) ** 2
    ta_ref = matmul64(mel_htk, P)
    ta = save("torchaudio_speech16k.npy", ta_ref,
              "torchaudio.transforms.MelSpectrogram(sample_rate=16000) defaults via librosa: "
              "mel_htk_16000_400_128_0_8000_nonorm @ |librosa.stft(speech16k, n_fft=400, "
              "hop_length=200, win_length=400, hann, center=True, reflect)|**2 (float64)")
    check_torchaudio(speech16k, ta)

    # ---- power dB and MFCC (22050 Hz, 80 mels, 20 coefficients) --------------
    mel_pow = librosa.feature.melspectrogram(
        y=speech22k, sr=22050, n_fft=1024, hop_length=256, win_length=1024, window="hann",
        center=True, pad_mode="reflect", power=2.0, n_mels=80, fmin=0, fmax=8000)
    S_db = librosa.power_to_db(mel_pow, ref=1.0, amin=1e-10, top_db=80.0)
    S_db = save("power_db_speech.npy", S_db,
                "librosa.power_to_db(librosa.feature.melspectrogram(y=speech22k, sr=22050, "
                "n_fft=1024, hop_length=256, win_length=1024, window='hann', center=True, "
                "pad_mode='reflect', power=2.0, n_mels=80, fmin=0, fmax=8000), ref=1.0, "
                "amin=1e-10, top_db=80.0)")
    save("mfcc_speech.npy", scipy.fft.dct(S_db, axis=-2, type=2, norm="ortho")[:20],
         "scipy.fft.dct(power_db_speech, axis=-2, type=2, norm='ortho')[:20]")

    # ---- mu-law ----------------------------------------------------------------
    x = np.concatenate([np.linspace(-1, 1, 2001), [0.0, 1e-4, -1e-4, 0.999, -0.999]]).astype(F32)
    x = save("mulaw_input.npy", x,
             "concat(linspace(-1, 1, 2001), [0, 1e-4, -1e-4, 0.999, -0.999]).astype(float32)")
    # librosa is fed a float64 copy of the float32 input: with a float32 array it
    # computes float32 log1p(255|x|) / float64 log1p(255), which for x = +1.0 gives
    # 1.00000001 and quantizes to +128 (class 256). In float64, x = +1.0 -> +127.
    x64 = x.astype(F64)
    q = librosa.mu_compress(x64, mu=255, quantize=True)
    classes = q.astype(np.int64) + 128
    assert classes.min() >= 0 and classes.max() <= 255, (classes.min(), classes.max())
    save("mulaw_classes.npy", classes,
         "librosa.mu_compress(float64(mulaw_input), mu=255, quantize=True) + 128 "
         "(classes 0..255; digitize(sign(x)ln(1+255|x|)/ln(256), linspace(-1,1,256), "
         "right=True))")
    save("mulaw_expanded.npy", librosa.mu_expand(classes - 128, mu=255, quantize=True),
         "librosa.mu_expand(mulaw_classes - 128, mu=255, quantize=True), float64")
    save("mulaw_continuous.npy", librosa.mu_compress(x64, mu=255, quantize=False),
         "librosa.mu_compress(float64(mulaw_input), mu=255, quantize=False) "
         "= sign(x)*ln(1+255|x|)/ln(256)")

    # ---- Griffin-Lim ---------------------------------------------------------
    L = 22050
    gl_mag = save("griffinlim_input_mag.npy", stft_mag(speech22k[:L], 1024, 256, 1024),
                  stft_desc.format(y="speech22k[:22050]", n=1024, h=256, w=1024))
    for name, iters in (("griffinlim_speech.npy", 32), ("griffinlim_speech_iter1.npy", 1)):
        y = librosa.griffinlim(gl_mag, n_iter=iters, hop_length=256, win_length=1024,
                               n_fft=1024, window="hann", center=True, pad_mode="reflect",
                               momentum=0.99, init=None, length=L)
        save(name, y,
             f"librosa.griffinlim(griffinlim_input_mag, n_iter={iters}, hop_length=256, "
             "win_length=1024, n_fft=1024, window='hann', center=True, pad_mode='reflect', "
             f"momentum=0.99, init=None (phase=1), length={L})")

    # ---- mel -> linear inversion (NNLS) --------------------------------------
    mel_in = save("mel_to_stft_input.npy", linmel_speech[:, :40],
                  "linmel_tacotron2_speech[:, :40]")
    save("mel_to_stft_speech.npy",
         librosa.feature.inverse.mel_to_stft(mel_in, sr=22050, n_fft=1024, power=1.0,
                                             fmin=0, fmax=8000),
         "librosa.feature.inverse.mel_to_stft(mel_to_stft_input, sr=22050, n_fft=1024, "
         "power=1.0, fmin=0, fmax=8000) (slaney mel, NNLS via L-BFGS-B)")

    # ---- manifest + summary --------------------------------------------------
    manifest = {
        "script": SCRIPT_REL,
        "librosa": librosa.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "soundfile": sf.__version__,
        "espeak-ng": tool_version(["espeak-ng", "--version"]),
        "sox": tool_version(["sox", "--version"]),
        "files": manifest_files,
    }
    with open(os.path.join(OUT_DIR, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    print(f"\nwrote {len(manifest_files)} files to {os.path.relpath(OUT_DIR, REPO_ROOT)}/")
    total = 0
    for name in sorted(os.listdir(OUT_DIR)):
        size = os.path.getsize(os.path.join(OUT_DIR, name))
        total += size
        shape = manifest_files.get(name, {}).get("shape", "")
        extra = ""
        if name.endswith(".npy"):
            a = np.load(os.path.join(OUT_DIR, name))
            extra = f"min {a.min():+.6g} max {a.max():+.6g}"
        print(f"  {name:42s} {str(shape):14s} {size:9d} B  {extra}")
    print(f"total {total} bytes ({total / 1024 / 1024:.2f} MiB)")
    if total > SIZE_BUDGET:
        print(f"WARNING: over the {SIZE_BUDGET // (1024 * 1024)} MiB budget; largest files:")
        sizes = sorted(((os.path.getsize(os.path.join(OUT_DIR, n)), n)
                        for n in os.listdir(OUT_DIR)), reverse=True)
        for size, name in sizes[:5]:
            print(f"  {name}: {size} B")


def check_torchaudio(speech16k, ref):
    """Cross-check the stored librosa version against torchaudio, if importable."""
    try:
        import torch
        import torchaudio
    except Exception as e:  # noqa: BLE001 - any import failure just skips the check
        print(f"torchaudio check skipped ({type(e).__name__}: {e})")
        return
    with torch.no_grad():
        t = torchaudio.transforms.MelSpectrogram(sample_rate=16000)(
            torch.from_numpy(speech16k)).double().numpy()
    if t.shape != ref.shape:
        print(f"torchaudio check: SHAPE MISMATCH torchaudio {t.shape} vs librosa {ref.shape}")
        return
    diff = np.abs(t - ref.astype(F64))
    rel_to_max = diff.max() / np.abs(ref).max()
    mask = np.abs(ref) > 1e-6 * np.abs(ref).max()
    rel_elem = (diff[mask] / np.abs(ref[mask])).max()
    print(f"torchaudio {torchaudio.__version__} check: max|diff|/max|ref| = {rel_to_max:.3g}, "
          f"max elementwise rel err (ref > 1e-6*max) = {rel_elem:.3g}")


if __name__ == "__main__":
    main()
