#!/usr/bin/env python3
"""Golden data for WaveKit's WaveGlow: a tiny NVIDIA-layout WaveGlow, converted
with tools/convert_checkpoint.py --from nvidia-waveglow, plus reference inputs
and outputs.

Writes (relative to the repo root):
    Tests/ModelsTests/Golden/waveglow_tiny.safetensors          (from a pickled-whole-model .pt)
    Tests/ModelsTests/Golden/waveglow_tiny_legacy.safetensors   (from a per-layer cond_layers state_dict)
    Tests/ModelsTests/Golden/waveglow_golden.json

The model
---------
tools/reference/nvidia_waveglow.py's WaveGlow (NVIDIA/waveglow glow.py names):
n_mel_channels 5, n_flows 4, n_group 4, n_early_every 2, n_early_size 2, WN
n_layers 2 (dilations 1, 2), n_channels 8, kernel_size 3. Flows 0-1 work on 4
channels (WN n_half 2), flows 2-3 on 2 (n_half 1). The upsampler is NVIDIA's
ConvTranspose1d(5, 5, 1024, stride=256).
Built under torch.manual_seed(0); then perturbed so that every path matters:
every weight_g *= U(0.5, 1.5) (g != ||v||), every WN bias ~ N(0, 0.1^2),
WN.k.end ~ N(0, 0.05^2) (NVIDIA zero-initialises it, which would make the
untrained flow the identity), every convinv W <- W (I + 0.3 N(0, 1)) redrawn
until det > 0.05 (NVIDIA's initial W is orthogonal: logdet 0 and inverse =
transpose, which would hide mistakes), upsample.weight ~ N(0, 0.05^2) and its bias
~ N(0, 0.1^2).

How the files are made
----------------------
* waveglow_tiny: the model is pickled as a whole object, {"model": WaveGlow},
  like NVIDIA's published waveglow_256channels*.pt, with its classes living in
  a module named `glow` (a copy of the reference saved as glow.py in a temp
  dir, on sys.path only while saving). The converter runs as a subprocess
  without that module, so it must use its stand-in unpickler.
* waveglow_tiny_legacy: the same weights in the older per-layer conditioning
  layout (WN.k.cond_layers.i, NVIDIA's glow_old.py / DeepLearningExamples),
  saved as a plain state_dict under {"state_dict": ...}. The converter fuses
  them back into WN.k.cond_layer; the result must equal waveglow_tiny's
  tensors bit for bit. The per-layer reference (legacy_cond=True) must give the
  same outputs as the fused one.
* Also checked (temp files only): a DeepLearningExamples-style checkpoint
  ("module." prefix, cond_layers, weight norm removed) converts to a model
  with the same outputs up to float32 rounding (the plain float32 weight is
  split again into g and v); so does a weight-norm-removed whole-model pickle.

Inputs / outputs (float64 reference on the float32 weights cast up)
------------------------------------------------------------------
inputs.mel [1, 5, 3]          3 frames, N(0, 1) (float32 values)
inputs.audio [1, 512]         U(-0.5, 0.5) (float32 values), T = 512 = 2 * 256
outputs.spect_upsampled [1, 5, 1536]  upsample(mel): (3 - 1) * 256 + 1024 = 1536
outputs.z [1, 4, 128]         forward((mel, audio))[0]: the upsampled mel is cropped to
                              512 samples and grouped with unfold into [1, 20, 128]
outputs.log_s_sum             sum over flows of sum(log_s)
outputs.log_det_W_sum         sum over flows of log_det_W (= batch * groups * logdet W)
outputs.loss_sigma1           WaveGlowLoss(sigma=1.0): (sum(z^2)/2 - log_s_sum
                              - log_det_W_sum) / z.numel()
outputs.infer_sigma0 [1, 768] infer(mel, sigma=0): NVIDIA crops the upsampled mel by
                              kernel - stride = 1024 - 256 = 768 samples (1536 -> 768
                              = frames * 256), groups it into 192 groups of 4, and
                              runs the flows backwards from z = 0 (the early-output
                              channels are also 0). infer_length = 768.
Tensors are {"shape": [...], "data": [flat row-major floats]}.
meta.float32_max_abs_diff says how far a float32 run lands from the float64
outputs (a guide for test tolerances).

Regenerate (from the repo root):
    .venv-tools/bin/python tools/golden/waveglow_golden.py
Exits non-zero when a self-check fails.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy
import torch

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "Tests", "ModelsTests", "Golden")
CONVERTER = os.path.join(REPO_ROOT, "tools", "convert_checkpoint.py")
REF_DIR = os.path.join(REPO_ROOT, "tools", "reference")
sys.path.insert(0, REF_DIR)

import nvidia_waveglow as ref  # noqa: E402

F64 = torch.float64
FAILURES = []

CONFIG = {
    "n_mel_channels": 5, "n_flows": 4, "n_group": 4, "n_early_every": 2, "n_early_size": 2,
    "n_layers": 2, "n_channels": 8, "kernel_size": 3,
    "mel_preset": None, "sample_rate": 22050,   # 5 bands: no preset fits, none is recorded
}
FRAMES = 3
T_AUDIO = 512


def check(name, ok, detail=""):
    print(f"  [{'ok ' if ok else 'FAIL'}] {name} {detail}")
    if not ok:
        FAILURES.append(name)


def T(t):
    t = torch.as_tensor(t).detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def build_model(module=ref, seed=0):
    torch.manual_seed(seed)
    model = module.waveglow_from_config(CONFIG, end_init_std=0.05)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight_g"):
                p.mul_(torch.rand(p.shape, generator=g) + 0.5)
            elif name.startswith("WN.") and name.endswith("bias") and ".end." not in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        # NVIDIA's W starts orthogonal (logdet 0, inverse = transpose); a trained W is
        # neither, so W <- W (I + 0.3 N) with det > 0
        for inv in model.convinv:
            W = inv.conv.weight[:, :, 0]
            c = W.shape[0]
            while True:
                M = W @ (torch.eye(c) + 0.3 * torch.randn(c, c, generator=g))
                if torch.det(M) > 0.05:
                    break
            inv.conv.weight.copy_(M[:, :, None])
        model.upsample.weight.copy_(torch.randn(model.upsample.weight.shape, generator=g) * 0.05)
        model.upsample.bias.copy_(torch.randn(model.upsample.bias.shape, generator=g) * 0.1)
    return model.eval()


def run_reference(model, mel, audio):
    with torch.no_grad():
        up = model.upsample(mel)
        z, log_s_list, log_det_W_list = model((mel, audio))
        loss = ref.WaveGlowLoss(sigma=1.0)((z, log_s_list, log_det_W_list))
        log_s_sum = sum(torch.sum(x) for x in log_s_list)
        log_det_sum = sum(log_det_W_list)
        y = model.infer(mel, sigma=0.0)
    return {"spect_upsampled": up, "z": z, "log_s_sum": log_s_sum, "log_det_W_sum": log_det_sum,
            "loss_sigma1": loss, "infer_sigma0": y}


def max_diff(a, b):
    return max(float((torch.as_tensor(a[k]).double() - torch.as_tensor(b[k]).double()).abs().max())
               for k in a)


def convert(src, dst):
    r = subprocess.run([sys.executable, CONVERTER, "--from", "nvidia-waveglow", src, "-o", dst],
                       capture_output=True, text=True, cwd=tempfile.gettempdir())
    sys.stdout.write("".join("    | " + ln + "\n" for ln in (r.stdout + r.stderr).splitlines()))
    check(f"convert {os.path.basename(src)}", r.returncode == 0, f"(exit {r.returncode})")
    if r.returncode != 0:
        raise SystemExit(1)
    return r.stdout + r.stderr


def read_converted(path):
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return meta, tensors


def model_from_file(path, dtype=F64):
    meta, tensors = read_converted(path)
    cfg = json.loads(meta["wavekit.config"])
    model = ref.waveglow_from_config(cfg)
    model.load_state_dict(tensors, strict=True)
    return model.to(dtype).eval(), cfg, meta, tensors


def save_pickled_whole_model(model, path):
    """torch.save({"model": model}) with the classes in a module named `glow`."""
    tmp = tempfile.mkdtemp(prefix="waveglow_glowmod_")
    try:
        shutil.copy(os.path.join(REF_DIR, "nvidia_waveglow.py"), os.path.join(tmp, "glow.py"))
        sys.path.insert(0, tmp)
        try:
            glow = importlib.import_module("glow")
            torch.manual_seed(123)
            gmodel = glow.waveglow_from_config(CONFIG, end_init_std=0.05)
            gmodel.load_state_dict(model.state_dict(), strict=True)
            assert type(gmodel).__module__ == "glow" and type(gmodel.WN[0]).__module__ == "glow"
            torch.save({"model": gmodel}, path)
        finally:
            sys.path.remove(tmp)
            sys.modules.pop("glow", None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(path, "rb") as f:
        raw = f.read()
    check("pickle names glow.WaveGlow / glow.WN / glow.Invertible1x1Conv",
          all(s in raw for s in (b"WaveGlow", b"Invertible1x1Conv")) and b"glow" in raw)


def main():
    print("waveglow golden data")
    model32 = build_model()
    sd32 = {k: v.detach().clone() for k, v in model32.state_dict().items()}

    g = torch.Generator().manual_seed(7)
    mel = torch.randn(1, CONFIG["n_mel_channels"], FRAMES, generator=g)
    audio = (torch.rand(1, T_AUDIO, generator=g) - 0.5)

    tiny_dst = os.path.join(OUT_DIR, "waveglow_tiny.safetensors")
    legacy_dst = os.path.join(OUT_DIR, "waveglow_tiny_legacy.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        # (i) pickled whole model under "model", classes in module `glow`
        pt = os.path.join(tmp, "waveglow_tiny.pt")
        save_pickled_whole_model(model32, pt)
        out = convert(pt, tiny_dst)
        check("converter used the stand-in unpickler", "stand-in unpickler" in out
              and "glow.WaveGlow" in out)
        # (ii) legacy per-layer cond_layers, plain state_dict
        legacy_sd = ref.split_cond_layer(sd32, CONFIG["n_layers"])
        check("legacy state_dict loads into the per-layer reference",
              set(legacy_sd) == set(ref.waveglow_from_config(CONFIG, legacy_cond=True).state_dict()))
        lpt = os.path.join(tmp, "waveglow_tiny_legacy.pt")
        torch.save({"state_dict": legacy_sd, "iteration": 1000}, lpt)
        out = convert(lpt, legacy_dst)
        check("converter fused cond_layers", "fused into cond_layer" in out)
        # (iii) DeepLearningExamples style: "module." prefix, cond_layers, weight norm removed
        dle = ref.waveglow_from_config(CONFIG, legacy_cond=True)
        dle.load_state_dict(legacy_sd)
        ref.WaveGlow.remove_weightnorm(dle)
        dle_sd = {"module." + k: v for k, v in dle.state_dict().items()}
        dpt = os.path.join(tmp, "dle.pt")
        torch.save({"state_dict": dle_sd, "epoch": 3, "config": {"n_flows": 4}}, dpt)
        ddst = os.path.join(tmp, "dle.safetensors")
        out = convert(dpt, ddst)
        check("converter restored weight norm", "weight norm removed" in out)
        dle_model, _, _, _ = model_from_file(ddst)

        # (iv) a weight-norm-removed whole-model pickle (NVIDIA's inference-time object)
        rm = ref.waveglow_from_config(CONFIG, end_init_std=0.05)
        rm.load_state_dict(sd32)
        # pickled with the reference module's classes (nvidia_waveglow.*): tools/reference
        # is not on the converter's path, so these become stand-ins as well
        ref.WaveGlow.remove_weightnorm(rm)
        rpt = os.path.join(tmp, "removed.pt")
        torch.save({"model": rm, "iteration": 5}, rpt)
        rdst = os.path.join(tmp, "removed.safetensors")
        out = convert(rpt, rdst)
        check("whole-model pickle without weight norm converts", "stand-in unpickler" in out)
        rm_model, _, _, _ = model_from_file(rdst)

    # converted files
    tiny64, cfg, meta, tensors = model_from_file(tiny_dst)
    check("config", cfg == CONFIG, json.dumps(cfg, sort_keys=True))
    check("metadata", meta.get("wavekit.family") == "waveglow" and meta.get("format") == "pt"
          and meta.get("wavekit.converted_from") == "nvidia-waveglow")
    check("tensors equal the model's (bit for bit)",
          set(tensors) == set(sd32) and all(torch.equal(tensors[k], sd32[k]) for k in sd32))
    legacy64, lcfg, lmeta, ltensors = model_from_file(legacy_dst)
    check("legacy: config", lcfg == CONFIG)
    check("legacy: fused tensors equal waveglow_tiny's (bit for bit)",
          set(ltensors) == set(tensors) and all(torch.equal(ltensors[k], tensors[k]) for k in tensors))
    print("  WN.0 tensors:", ", ".join(k for k in sorted(tensors) if k.startswith("WN.0.")))
    print("  convinv.0 tensors:", ", ".join(k for k in sorted(tensors) if k.startswith("convinv.0.")))

    # reference outputs
    mel64, audio64 = mel.double(), audio.double()
    want = run_reference(tiny64, mel64, audio64)
    check("shapes", list(want["z"].shape) == [1, 4, 128]
          and list(want["spect_upsampled"].shape) == [1, 5, 1536]
          and list(want["infer_sigma0"].shape) == [1, FRAMES * 256],
          f"z {list(want['z'].shape)} infer {list(want['infer_sigma0'].shape)}")
    d = max_diff(want, run_reference(legacy64, mel64, audio64))
    check("legacy file gives identical outputs", d == 0.0, f"(max diff {d:.1e})")
    leg_ref = ref.waveglow_from_config(CONFIG, legacy_cond=True)
    leg_ref.load_state_dict(legacy_sd)
    d = max_diff(want, run_reference(leg_ref.double().eval(), mel64, audio64))
    check("per-layer cond_layers reference == fused reference", d < 1e-12, f"(max diff {d:.1e})")
    d = max_diff(want, run_reference(dle_model, mel64, audio64))
    check("DLE-style (module., cond_layers, no weight norm) converts to the same model",
          d < 1e-6, f"(max diff {d:.1e}; float32 weights re-split into g, v)")
    d = max_diff(want, run_reference(rm_model, mel64, audio64))
    check("whole-model pickle without weight norm converts to the same model",
          d < 1e-6, f"(max diff {d:.1e}; float32 weights re-split into g, v)")

    # invertibility: infer from forward's z reproduces the audio (noise = z)
    with torch.no_grad():
        z = want["z"]
        # infer with explicit z: run the reverse flows by hand via the generator-free path
        rec = reverse_from_z(tiny64, mel64, z, T_AUDIO)
    d = float((rec - audio64).abs().max())
    check("reverse(forward(audio)) == audio", d < 1e-10, f"(max diff {d:.1e})")
    check("infer output is non-trivial", float(want["infer_sigma0"].abs().max()) > 1e-3,
          f"(max |y| {float(want['infer_sigma0'].abs().max()):.3f})")
    check("log_det_W non-trivial", abs(float(want["log_det_W_sum"])) > 1.0,
          f"({float(want['log_det_W_sum']):.4f})")
    check("log_s non-trivial", abs(float(want["log_s_sum"])) > 1e-3, f"({float(want['log_s_sum']):.4f})")

    # NVIDIA's denoiser (tools/reference/nvidia_denoiser.py) on the σ = 0 output plus a tone,
    # strength 0.1 (its default); the bias comes from the same tiny model.
    import nvidia_denoiser
    with torch.no_grad():
        den = nvidia_denoiser.Denoiser(tiny64, n_mel=CONFIG["n_mel_channels"])
        t = torch.arange(FRAMES * 256, dtype=F64)
        noisy = want["infer_sigma0"] + 0.3 * torch.sin(2 * numpy.pi * 440 * t / 22050)[None]
        denoised = den(noisy, strength=0.1)
    check("denoiser keeps the length", list(denoised.shape) == list(noisy.shape), f"{list(denoised.shape)}")
    plain = nvidia_denoiser.STFT()
    m, ph = plain.transform(noisy)
    d = float((plain.inverse(m, ph)[:, 0] - noisy).abs().max())
    check("reference STFT inverse(transform(x)) == x", d < 1e-9, f"(max diff {d:.1e})")
    check("denoiser changes the audio", float((denoised - noisy).abs().max()) > 1e-4,
          f"(max change {float((denoised - noisy).abs().max()):.2e})")

    # float32 distance
    tiny32, _, _, _ = model_from_file(tiny_dst, torch.float32)
    got32 = run_reference(tiny32, mel, audio)
    f32 = {k: float((torch.as_tensor(got32[k]).double() - torch.as_tensor(want[k])).abs().max())
           for k in want}
    print("  float32 max abs diff:", json.dumps(f32))

    import safetensors
    doc = {
        "meta": {
            "script": "tools/golden/waveglow_golden.py",
            "reference": "tools/reference/nvidia_waveglow.py (NVIDIA/waveglow glow.py layout)",
            "converter": "tools/convert_checkpoint.py --from nvidia-waveglow",
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "safetensors": safetensors.__version__,
            "dtype_of_reference": "float64",
            "float32_max_abs_diff": f32,
        },
        "config": CONFIG,
        "files": {"fused": "waveglow_tiny.safetensors", "legacy": "waveglow_tiny_legacy.safetensors"},
        "upsample": {"kernel_size": 1024, "stride": 256},
        "inputs": {"mel": T(mel), "audio": T(audio)},
        "outputs": {
            "spect_upsampled": T(want["spect_upsampled"]),
            "z": T(want["z"]),
            "log_s_sum": float(want["log_s_sum"]),
            "log_det_W_sum": float(want["log_det_W_sum"]),
            "loss_sigma1": float(want["loss_sigma1"]),
            "infer_sigma0": T(want["infer_sigma0"]),
            "infer_length": int(want["infer_sigma0"].shape[1]),
        },
        "denoiser": {
            "reference": "tools/reference/nvidia_denoiser.py (NVIDIA/waveglow denoiser.py with tacotron2 stft.py)",
            "bias_frames": 88, "strength": 0.1,
            "bias_audio": T(den.bias_audio),
            "input": T(noisy),
            "output": T(denoised),
        },
    }
    path = os.path.join(OUT_DIR, "waveglow_golden.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {path}")
    if FAILURES:
        print(f"FAILED: {', '.join(FAILURES)}")
        return 1
    return 0


def reverse_from_z(model, mel, z, T):
    """The reverse flows (NVIDIA's infer) started from a given z instead of
    noise, with the early outputs taken from z as well."""
    spect = model.upsample(mel)[:, :, :T]
    spect = model.group_spect(spect)
    n_early = model.n_early_size
    # forward concatenated [early_1, early_2, ..., final]; peel from the end
    audio = z[:, z.size(1) - model.n_remaining_channels:, :]
    pos = z.size(1) - model.n_remaining_channels
    for k in reversed(range(model.n_flows)):
        n_half = int(audio.size(1) / 2)
        a0, a1 = audio[:, :n_half, :], audio[:, n_half:, :]
        out = model.WN[k]((a0, spect))
        s, b = out[:, n_half:, :], out[:, :n_half, :]
        audio = torch.cat([a0, (a1 - b) / torch.exp(s)], 1)
        audio = model.convinv[k](audio, reverse=True)
        if k % model.n_early_every == 0 and k > 0:
            audio = torch.cat((z[:, pos - n_early:pos, :], audio), 1)
            pos -= n_early
    return audio.permute(0, 2, 1).reshape(audio.size(0), -1)


if __name__ == "__main__":
    sys.exit(main())
