"""Teacher-forced diagnostics of Gaussian-output WaveNet checkpoints on clips.

Free-running generation mixes two things: what the model predicts and the noise it samples.
This script feeds each clip's true past samples (teacher forcing, as in training and as
`wavekit score` does) and reports, per checkpoint, over all clips:
  - nll: nats per sample (the same figure as `wavekit score`, as a check);
  - mean energy: the energy of the predicted means over the clip's, E[mu^2] / E[x^2], and the
    residual E[(x - mu)^2] / E[x^2] (what the sampled noise has to supply);
  - sigma in loud frames (within 10 dB of the clip's loudest 256-sample frame) against the
    clip's RMS there, and in digitally silent frames (every |x| < 1e-3) against the clip's RMS
    there: a model that has learnt silence predicts a sigma near the clip's level there.
The model is tools/reference/r9y9_wavenet.py (r9y9's code, which WaveKit's golden tests check
against) loaded with the checkpoint's weights (the averaged EMA weights of a training
checkpoint), the mel is `wavekit mel` with the checkpoint's preset, and the audio is cropped
as `wavekit score` crops it (whole frames, the last frame dropped).

Usage:
  tools/venv.sh
  .venv-tools/bin/python tools/eval/teacher_forced.py --checkpoint A.safetensors [--checkpoint B ...] \
      CLIP.wav ... [--wavekit .build/release/wavekit]
"""
import argparse, json, os, sys, tempfile
import numpy as np
import soundfile as sf
import torch
from safetensors import safe_open

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))
sys.path.insert(0, HERE)
import r9y9_wavenet as ref  # noqa: E402
from compare_vocoders import fail, find_wavekit, wavekit_run  # noqa: E402  (the same wavekit lookup and errors)


def load(path):
    """The reference model with the checkpoint's (EMA) weights, its config and mel preset."""
    if not os.path.isfile(path):
        fail(f"'{path}' does not exist")
    try:
        with safe_open(path, framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # not a safetensors file
        fail(f"'{path}' is not a safetensors checkpoint ({e})")
    if meta.get("wavekit.family") != "wavenet":
        fail(f"'{path}' is not a WaveNet checkpoint (family {meta.get('wavekit.family')!r})")
    cfg = json.loads(meta["wavekit.config"])
    if cfg.get("output_distribution") != "gaussian":
        fail(f"'{path}' has a {cfg.get('output_distribution')} output; this script reads Gaussian ones")
    if cfg.get("cin_channels") is None or not meta.get("wavekit.mel_preset"):
        fail(f"'{path}' is not mel-conditioned (or records no mel preset)")
    ema = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
    weights = ema or {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    model = ref.wavenet_from_config(cfg)
    model.load_state_dict(weights, strict=True)
    return model.eval(), cfg, meta["wavekit.mel_preset"], int(meta.get("wavekit.sample_rate") or 22050)


def mel_of(wavekit, clip, preset):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "mel.npy")
        wavekit_run([wavekit, "mel", clip, "-o", out, "--preset", preset, "--quiet"])
        return np.load(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", action="append", required=True, help="a Gaussian WaveNet checkpoint (repeatable)")
    p.add_argument("--wavekit", help="the wavekit binary (default: this repository's release build)")
    p.add_argument("clips", nargs="+")
    a = p.parse_args()
    a.wavekit = find_wavekit(a.wavekit)
    torch.set_num_threads(1)
    models = [(path,) + load(path) for path in a.checkpoint]      # every checkpoint checked before any work
    rates = {}
    for clip in a.clips:
        try:
            rates[clip] = sf.info(clip).samplerate
        except Exception as e:
            fail(f"cannot read '{clip}' as audio ({e})")
    for path, _, _, _, rate in models:
        wrong = [c for c in a.clips if rates[c] != rate]
        if wrong:
            fail(f"'{wrong[0]}' is at {rates[wrong[0]]} Hz but '{path}' was trained at {rate} Hz; resample the clips first "
                 f"(for example: sox IN.wav -r {rate} OUT.wav)")
    print("| checkpoint | nll (nats) | mean energy | residual | sigma / RMS, loud frames | sigma / RMS, silent frames | silent RMS, sigma |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for path, model, cfg, preset, _ in models:
        hop = int(np.prod(cfg["upsample_scales"]))
        sums = dict(n=0, nll=0.0, x2=0.0, mu2=0.0, r2=0.0, loud_n=0, loud_x2=0.0, loud_s2=0.0,
                    sil_n=0, sil_x2=0.0, sil_s2=0.0)
        for clip in a.clips:
            x, sr = sf.read(clip, dtype="float32", always_2d=True)
            x = x.mean(axis=1)
            mel = mel_of(a.wavekit, clip, preset)
            frames = min(len(x) // hop, mel.shape[1] - 1)
            if frames < 1:
                fail(f"'{clip}' is shorter than one mel frame")
            x, mel = x[:frames * hop], mel[:, :frames]
            inp = torch.from_numpy(np.concatenate([[0.0], x[:-1]]).astype(np.float32)).view(1, 1, -1)
            c = ref.pad_mel(torch.from_numpy(mel).unsqueeze(0), int(cfg.get("cin_pad") or 0))
            with torch.no_grad():
                y = model(inp, c=c)[0].numpy()
            mu, log_s = y[0], np.maximum(y[1], cfg["log_scale_min"])
            s = np.exp(log_s)
            nll = 0.5 * ((x - mu) / s) ** 2 + log_s + 0.5 * np.log(2 * np.pi)
            fx = x.reshape(-1, hop)
            energy = (fx ** 2).mean(axis=1)
            loud = np.repeat(energy > 0.1 * energy.max(), hop)
            silent = np.repeat(np.abs(fx).max(axis=1) < 1e-3, hop)
            sums["n"] += len(x); sums["nll"] += float(nll.sum())
            sums["x2"] += float((x ** 2).sum()); sums["mu2"] += float((mu ** 2).sum()); sums["r2"] += float(((x - mu) ** 2).sum())
            sums["loud_n"] += int(loud.sum()); sums["loud_x2"] += float((x[loud] ** 2).sum()); sums["loud_s2"] += float((s[loud] ** 2).sum())
            sums["sil_n"] += int(silent.sum()); sums["sil_x2"] += float((x[silent] ** 2).sum()); sums["sil_s2"] += float((s[silent] ** 2).sum())
        t = sums
        loud = np.sqrt(t["loud_s2"] / max(t["loud_x2"], 1e-30)) if t["loud_n"] else float("nan")
        sil_rms = np.sqrt(t["sil_x2"] / t["sil_n"]) if t["sil_n"] else float("nan")
        sil_s = np.sqrt(t["sil_s2"] / t["sil_n"]) if t["sil_n"] else float("nan")
        print(f"| {os.path.basename(path)} | {t['nll'] / t['n']:.3f} | {t['mu2'] / t['x2']:.3f} | {t['r2'] / t['x2']:.4f} "
              f"| {loud:.3f} | {sil_s / max(sil_rms, 1e-12):.0f} | {sil_rms:.5f}, {sil_s:.5f} |")
    print(f"\n{len(a.clips)} clip(s), {t['n']} samples; silent frames: {t['sil_n'] // hop}, loud frames: {t['loud_n'] // hop}")


if __name__ == "__main__":
    main()
