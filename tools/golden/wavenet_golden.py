#!/usr/bin/env python3
"""Golden data for WaveKit's WaveNet: three tiny r9y9-layout models, converted with
tools/convert_checkpoint.py, plus reference inputs and outputs.

Writes (relative to the repo root):
    Tests/ModelsTests/Golden/wavenet_tiny_mol.safetensors
    Tests/ModelsTests/Golden/wavenet_tiny_mulaw.safetensors
    Tests/ModelsTests/Golden/wavenet_tiny_mol2018.safetensors
    Tests/ModelsTests/Golden/wavenet_golden.json

How the data is made
--------------------
* The models are tools/reference/r9y9_wavenet.py's WaveNet (r9y9's state_dict
  names), built under torch.manual_seed(0) with r9y9's initialisation and then
  perturbed so that every code path is exercised: every weight_g is multiplied
  by U(0.5, 1.5) (so g != ||v||, as in a trained model, and weight norm must be
  applied), every bias is N(0, 0.1^2) (r9y9 initialises them to zero), and the
  upsampler's box kernels 1/(2s+1) get N(0, 0.05^2) noise (so tap order matters).
  (The 2018 layout's transposed-convolution kernels are random already: the
  reference draws each tap from N(1/k, (0.5/k)^2) instead of r9y9's constant 1/k.)
  The mol model's log-scale output biases are then set to -5 + N(0, 0.3^2)
  (small scales, as in a trained model) and the last component's to -9, so
  log_scale_min = -7 clamps that component at every step.
* MoL conditioning: the loss switches branch where cdf_delta = 1e-5, and
  cdf_delta is a difference of two sigmoids (float32 cancellation). The audio is
  redrawn (seeds 101, 102, ...; recorded as audio_seed) until no interior
  (sample, component) term has cdf_delta within a factor 2 of 1e-5, so a float32
  implementation takes the same branch everywhere. "branches" counts the terms
  per branch.
* Each model's state_dict (float32) is saved as a torch checkpoint in a temp
  dir and converted with `tools/convert_checkpoint.py --from r9y9-wavenet`:
    mol:   r9y9 train.py layout {"state_dict", "optimizer", "global_step",
           "global_epoch"}, weight_g / weight_v names, --hparams (r9y9 JSON).
    mulaw: a bare state_dict with DataParallel's "module." prefix and
           torch.nn.utils.parametrizations names
           (parametrizations.weight.original0/1), --stacks 1.
    mol2018: r9y9 train.py layout as for mol, --hparams (2018-style r9y9 JSON:
           top-level upsample_scales and freq_axis_kernel_size, no upsample_net).
           A copy with every weight norm removed (plain "weight"s) is also
           converted, to a temp file, and must reproduce the outputs.
  The script checks that the converted tensors equal the originals bit for bit
  and that a reference rebuilt from the file's own "wavekit.config" metadata
  reproduces the outputs.
* Inputs are float32 values stored exactly. The reference forward and losses
  run in float64 on the float32 weights cast up; outputs are float(v) of the
  float64 results. meta.float32_max_abs_diff says how far a float32 run of the
  same model lands from them (a guide for test tolerances).
* Tensors are {"shape": [...], "data": [flat row-major floats]}; integer data
  (classes, speaker ids) is stored as floats.

The three cases
---------------
"mol"   layers 4, stacks 2 (dilations 1 2 1 2), residual 8, gate 16, skip 8,
        kernel 3, out 30 (10 logistics), scalar input, cin 5, upsample_scales
        [2, 2], cin_pad 1, no speakers, log_scale_min -7.0.
        inputs.mel [1, 5, 6] is the UNPADDED mel; the reference edge-pads it by
        cin_pad = 1 frame on both sides (r9y9's data pipeline) before the
        upsampler, giving outputs.c_upsampled [1, 5, 24].
        inputs.audio [1, 1, 24] in [-1, 1] on the 65536-level grid, includes
        exactly -1 and +1 (the edge branches of the loss). It is the network's
        input as is (no shift).
        outputs.y_hat [1, 30, 24] = model(audio, c=pad(mel)).
        outputs.mol_loss [1, 24] = discretized_mix_logistic_loss(y_hat,
        audio as [1, 24, 1], num_classes=65536, log_scale_min=-7.0,
        reduce=False), squeezed: y_hat[:, :, t] scored against audio[0, 0, t]
        (the SAME step, not the next one).
"mulaw" layers 3, stacks 1 (dilations 1 2 4), residual 8, gate 8, skip 8,
        kernel 2, out 256, one-hot input of 256 classes, no local conditioning,
        gin 4 with an embedding of 3 speakers.
        inputs.classes [1, 10] (ints 0..255); inputs.speaker [1] = 2.
        outputs.logits [1, 256, 10] = model(one_hot(classes) as [1, 256, 10],
        g=speaker).
        outputs.nll_next_class [1, 9] = cross_entropy(logits[:, :, :-1],
        classes[:, 1:], reduction="none"): logits at step t scored against the
        class at t + 1 (the training objective). There are T - 1 = 9 of them.
"mol2018" the 2018 layout (config upsample_layout "transposed"): layers 4,
        stacks 2 (dilations 1 2 1 2), residual 8, gate 8, skip 8, kernel 3, out 30
        (10 logistics), scalar input, cin 5, upsample_scales [2, 3],
        freq_axis_kernel_size 3, cin_pad 0, no speakers, log_scale_min -7.0.
        Tensors upsample_conv.{0,2}.{weight_g [1,1,1,1], weight_v [1,1,3,s],
        bias [1]}: weight-normed ConvTranspose2d(1, 1, (3, s), stride (1, s),
        padding (1, 0)) over the mel as a [B, 1, 5, F] image, each followed by a
        ReLU (upsample_conv.1 / .3, no tensors).
        inputs.mel [1, 5, 4] goes into the upsampler as is (no padding), giving
        outputs.c_upsampled [1, 5, 24] (4 frames * 6). upsample_conv.2.bias is
        set to -0.1 so that the second ReLU clips part of c_upsampled (its input
        is >= 0 and its taps positive); "c_upsampled_zero_fraction" records how
        much.
        inputs.audio [1, 1, 24] as for mol (65536-level grid, includes -1 and +1).
        outputs.y_hat [1, 30, 24] = model(audio, c=mel). No loss.
        The skip connections are summed and scaled by sqrt(1/layers) as in the
        mol case (r9y9's current code): r9y9's 2018 code itself scaled them by
        sqrt(0.5) at every layer (hparams legacy=True) or not at all
        (legacy=False), which this case does not model.

Regenerate (from the repo root):
    tools/venv.sh
    .venv-tools/bin/python tools/golden/wavenet_golden.py
Exits non-zero when a self-check fails.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy
import numpy as np
import torch
import torch.nn.functional as F

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "Tests", "ModelsTests", "Golden")
CONVERTER = os.path.join(REPO_ROOT, "tools", "convert_checkpoint.py")
sys.path.insert(0, os.path.join(REPO_ROOT, "tools", "reference"))

import r9y9_wavenet as ref  # noqa: E402

F64 = torch.float64
FAILURES = []


def check(name, ok, detail=""):
    print(f"  [{'ok ' if ok else 'FAIL'}] {name} {detail}")
    if not ok:
        FAILURES.append(name)


def T(t):
    t = torch.as_tensor(t).detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


MOL_CONFIG = {
    "out_channels": 30, "layers": 4, "stacks": 2, "residual_channels": 8,
    "gate_channels": 16, "skip_out_channels": 8, "kernel_size": 3,
    "cin_channels": 5, "gin_channels": None, "n_speakers": None,
    "upsample_scales": [2, 2], "cin_pad": 1, "scalar_input": True,
    "output_distribution": "mol", "log_scale_min": -7.0, "mel_preset": None,
    "upsample_layout": "conv_in", "freq_axis_kernel_size": 1,
}

MULAW_CONFIG = {
    "out_channels": 256, "layers": 3, "stacks": 1, "residual_channels": 8,
    "gate_channels": 8, "skip_out_channels": 8, "kernel_size": 2,
    "cin_channels": None, "gin_channels": 4, "n_speakers": 3,
    "upsample_scales": None, "cin_pad": 0, "scalar_input": False,
    "output_distribution": "mulaw", "log_scale_min": -16.11809565095832, "mel_preset": None,
    "upsample_layout": "conv_in", "freq_axis_kernel_size": 1,
}

MOL2018_CONFIG = {
    "out_channels": 30, "layers": 4, "stacks": 2, "residual_channels": 8,
    "gate_channels": 8, "skip_out_channels": 8, "kernel_size": 3,
    "cin_channels": 5, "gin_channels": None, "n_speakers": None,
    "upsample_scales": [2, 3], "cin_pad": 0, "scalar_input": True,
    "output_distribution": "mol", "log_scale_min": -7.0, "mel_preset": None,
    "upsample_layout": "transposed", "freq_axis_kernel_size": 3, "legacy": True,
}

# What r9y9's hparams JSON holds for the mol model (only the keys the converter reads,
# plus a few it ignores).
MOL_HPARAMS = {
    "name": "wavenet_vocoder", "input_type": "raw", "quantize_channels": 65536,
    "out_channels": 30, "layers": 4, "stacks": 2, "residual_channels": 8,
    "gate_channels": 16, "skip_out_channels": 8, "kernel_size": 3, "dropout": 0.0,
    "cin_channels": 5, "cin_pad": 1, "upsample_conditional_features": True,
    "upsample_net": "ConvInUpsampleNetwork",
    "upsample_params": {"upsample_scales": [2, 2]},
    "gin_channels": -1, "n_speakers": None, "output_distribution": "Logistic",
    "log_scale_min": -7.0, "batch_size": 8,
}

# r9y9's 2018 hparams for the mol2018 model: upsampling settings at the top level, no
# upsample_net / upsample_params / cin_pad / output_distribution; "legacy" absent, so the
# converter records r9y9's 2018 default, legacy=True, which the reference builds too.
MOL2018_HPARAMS = {
    "name": "wavenet_vocoder", "builder": "wavenet", "input_type": "raw",
    "quantize_channels": 65536, "out_channels": 30, "layers": 4, "stacks": 2,
    "residual_channels": 8, "gate_channels": 8, "skip_out_channels": 8,
    "kernel_size": 3, "dropout": 0.05, "weight_normalization": True,
    "cin_channels": 5, "upsample_conditional_features": True,
    "upsample_scales": [2, 3], "freq_axis_kernel_size": 3,
    "gin_channels": -1, "n_speakers": 7, "log_scale_min": -7.0, "batch_size": 2,
}


def perturb(model, gen):
    """Makes every parameter matter (see the module docstring)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight_g"):
                p.mul_(0.5 + torch.rand(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            elif name.startswith("upsample_net.upsample.") and name.endswith("weight_v"):
                p.add_(torch.randn(p.shape, generator=gen) * 0.05)


def build(cfg, seed):
    torch.manual_seed(seed)
    model = ref.wavenet_from_config(cfg)
    perturb(model, torch.Generator().manual_seed(seed + 1))
    model.eval()
    return model


def run_converter(src, dst, *extra):
    cmd = [sys.executable, CONVERTER, "--from", "r9y9-wavenet", src, "-o", dst, *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write("".join("    | " + line + "\n" for line in (r.stdout + r.stderr).splitlines()))
    if r.returncode != 0:
        raise SystemExit(f"convert_checkpoint.py failed with status {r.returncode}")


def read_converted(path):
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return meta, tensors


def verify_conversion(name, path, sd, cfg):
    meta, tensors = read_converted(path)
    check(f"{name}: metadata family/format/source",
          meta.get("wavekit.family") == "wavenet" and meta.get("format") == "pt"
          and meta.get("wavekit.converted_from") == "r9y9-wavenet")
    got_cfg = json.loads(meta["wavekit.config"])
    check(f"{name}: converted config == intended config", got_cfg == cfg,
          "" if got_cfg == cfg else f"\n      got  {got_cfg}\n      want {cfg}")
    check(f"{name}: same tensor names", set(tensors) == set(sd),
          f"({len(tensors)} tensors)")
    same = all(tensors[k].dtype == torch.float32 and torch.equal(tensors[k], sd[k]) for k in sd)
    check(f"{name}: tensors bit-identical float32", same)
    return got_cfg, tensors


def rebuild(cfg, tensors):
    """A fresh reference built from a converted file's config, in float64."""
    torch.manual_seed(999)
    m = ref.wavenet_from_config(cfg)
    m.load_state_dict(tensors, strict=True)
    return m.double().eval()


def quantise(x, levels=65536):
    k = torch.round((x.double() + 1.0) / 2.0 * (levels - 1))
    return (k / (levels - 1) * 2.0 - 1.0).to(torch.float32)


def sharpen_mol_scales(model, K=10):
    """Log-scale biases around -5 (scales ~ 0.007, as a trained model's are small),
    and the last component's at -9 so that log_scale_min = -7 always clamps it."""
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        b = model.last_conv_layers[3].bias
        b[2 * K:3 * K] = -5.0 + 0.3 * torch.randn(K, generator=gen)
        b[3 * K - 1] = -9.0


MIN_BRANCH_FACTOR = 2.0


def branch_stats(y_hat, x, log_scale_min, K=10, num_classes=65536):
    """Which branch of the MoL loss each (sample, component) term takes."""
    with torch.no_grad():
        yh = y_hat.double().transpose(1, 2)[0]
        means = yh[:, K:2 * K]
        ls = torch.clamp(yh[:, 2 * K:], min=log_scale_min)
        xv = x.double()[0, 0][:, None]
        inv = torch.exp(-ls)
        half = 1.0 / (num_classes - 1)
        delta = torch.sigmoid(inv * (xv - means + half)) - torch.sigmoid(inv * (xv - means - half))
        interior = (xv.abs() <= 0.999).expand_as(delta)
        closest = float(torch.exp((delta[interior] / 1e-5).log().abs().min()))
    return {"left_edge_samples": int((x < -0.999).sum()), "right_edge_samples": int((x > 0.999).sum()),
            "interior_cdf_delta_terms": int(((delta > 1e-5) & interior).sum()),
            "interior_pdf_mid_terms": int(((delta <= 1e-5) & interior).sum()),
            "closest_cdf_delta_to_1e-5_factor": closest,
            "log_scales_clamped": int((yh[:, 2 * K:] < log_scale_min).sum())}


# ------------------------------------------------------------------------ mol

def mol_case(tmp):
    print("mol")
    cfg = dict(MOL_CONFIG)
    model = build(cfg, seed=0)
    sharpen_mol_scales(model)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}

    # r9y9 train.py layout
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    src = os.path.join(tmp, "checkpoint_step000001000.pth")
    torch.save({"state_dict": model.state_dict(), "optimizer": opt.state_dict(),
                "global_step": 1000, "global_epoch": 3}, src)
    hp_path = os.path.join(tmp, "hparams.json")
    with open(hp_path, "w") as f:
        json.dump(MOL_HPARAMS, f)
    dst = os.path.join(OUT_DIR, "wavenet_tiny_mol.safetensors")
    run_converter(src, dst, "--hparams", hp_path)
    got_cfg, tensors = verify_conversion("mol", dst, sd, cfg)

    gen = torch.Generator().manual_seed(100)
    mel = torch.randn(1, 5, 6, generator=gen, dtype=torch.float32)
    m64 = model.double()

    # Conditioning: the loss switches branch at cdf_delta = 1e-5 and cdf_delta is a
    # difference of two sigmoids near 1/2 (float32 cancellation ~1e-7 absolute), so
    # draw the audio again (seeds 101, 102, ...) until no interior (sample,
    # component) term lies within a factor MIN_BRANCH_FACTOR of the threshold.
    for audio_seed in range(101, 201):
        g2 = torch.Generator().manual_seed(audio_seed)
        x = torch.rand(1, 1, 24, generator=g2, dtype=torch.float32) * 1.8 - 0.9
        x[0, 0, 5] = -1.0
        x[0, 0, 17] = 1.0
        x = quantise(x)
        with torch.no_grad():
            factor = branch_stats(m64(x.double(), c=ref.pad_mel(mel.double(), cfg["cin_pad"])),
                                  x, cfg["log_scale_min"])["closest_cdf_delta_to_1e-5_factor"]
        if factor >= MIN_BRANCH_FACTOR:
            break
    else:
        raise SystemExit("no audio seed keeps the MoL loss away from its branch threshold")
    print(f"  audio seed {audio_seed}: nearest cdf_delta is {factor:.2f}x from 1e-5")
    Tn = x.shape[-1]

    with torch.no_grad():
        c_pad = ref.pad_mel(mel.double(), cfg["cin_pad"])
        c_up = m64.upsample_net(c_pad)
        y_hat = m64(x.double(), c=c_pad)
        loss = ref.mol_loss(y_hat, x.double().transpose(1, 2), num_classes=65536,
                            log_scale_min=cfg["log_scale_min"])     # [1, T, 1]
    check("mol: shapes", tuple(c_up.shape) == (1, 5, Tn) and tuple(y_hat.shape) == (1, 30, Tn)
          and tuple(loss.shape) == (1, Tn, 1))
    check("mol: pad_mel is edge padding",
          torch.equal(c_pad[..., 0], c_pad[..., 1]) and torch.equal(c_pad[..., -1], c_pad[..., -2]))

    # causality: changing the last input sample changes only the last output step
    with torch.no_grad():
        x2 = x.double().clone()
        x2[..., -1] += 0.5
        d = (m64(x2, c=c_pad) - y_hat).abs().amax(dim=1)[0]
    check("mol: causal", bool((d[:-1] == 0).all()) and bool(d[-1] > 0))

    # the converted file, rebuilt from its own metadata, gives the same outputs
    with torch.no_grad():
        y_re = rebuild(got_cfg, tensors)(x.double(), c=c_pad)
    check("mol: rebuilt from file reproduces y_hat", torch.equal(y_re, y_hat))

    # float32 run for tolerance guidance
    m32 = build(cfg, seed=0)
    sharpen_mol_scales(m32)
    with torch.no_grad():
        y32 = m32(x, c=ref.pad_mel(mel, cfg["cin_pad"]))
        l32 = ref.mol_loss(y32, x.transpose(1, 2), 65536, cfg["log_scale_min"])
    dy = float((y32.double() - y_hat).abs().max())
    dl = float((l32.double() - loss).abs().max())
    check("mol: float32 close to float64", dy < 1e-4 and dl < 1e-2, f"(y {dy:.2e}, loss {dl:.2e})")

    branches = branch_stats(y_hat, x, cfg["log_scale_min"])
    print(f"  branches: {branches}")

    case = {
        "checkpoint": "wavenet_tiny_mol.safetensors",
        "config": cfg,
        "inputs": {"mel": T(mel), "audio": T(x)},
        "outputs": {"c_upsampled": T(c_up), "y_hat": T(y_hat), "mol_loss": T(loss[..., 0])},
        "loss": {"kind": "discretized_mix_logistic", "num_classes": 65536,
                 "log_scale_min": cfg["log_scale_min"], "reduce": False,
                 "target": "audio[0, 0, t] scored by y_hat[:, :, t] (no shift)",
                 "mean": float(loss.mean())},
        "branches": branches,
        "audio_seed": audio_seed,
    }
    return case, {"y_hat": dy, "mol_loss": dl}


# ---------------------------------------------------------------------- mulaw

def mulaw_case(tmp):
    print("mulaw")
    cfg = dict(MULAW_CONFIG)
    model = build(cfg, seed=10)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}

    # bare state_dict, DataParallel prefix, parametrization-style weight-norm names
    renamed = {}
    for k, v in model.state_dict().items():
        if k.endswith(".weight_g"):
            k = k[:-len("weight_g")] + "parametrizations.weight.original0"
        elif k.endswith(".weight_v"):
            k = k[:-len("weight_v")] + "parametrizations.weight.original1"
        renamed["module." + k] = v
    src = os.path.join(tmp, "mulaw.pth")
    torch.save(renamed, src)
    dst = os.path.join(OUT_DIR, "wavenet_tiny_mulaw.safetensors")
    run_converter(src, dst, "--stacks", "1")
    got_cfg, tensors = verify_conversion("mulaw", dst, sd, cfg)

    gen = torch.Generator().manual_seed(200)
    classes = torch.randint(0, 256, (1, 10), generator=gen)
    speaker = torch.tensor([2])
    x = F.one_hot(classes, 256).transpose(1, 2).to(F64)       # [1, 256, 10]

    m64 = model.double()
    with torch.no_grad():
        logits = m64(x, g=speaker)
        nll = ref.mulaw_nll(logits[:, :, :-1], classes[:, 1:])  # [1, 9]
    check("mulaw: shapes", tuple(logits.shape) == (1, 256, 10) and tuple(nll.shape) == (1, 9))
    with torch.no_grad():
        lsm = F.log_softmax(logits[0], dim=0)
        manual = torch.stack([-lsm[classes[0, t + 1], t] for t in range(9)])
    check("mulaw: nll == -log_softmax at the next class", torch.allclose(manual, nll[0], rtol=1e-12, atol=0))
    with torch.no_grad():
        other = m64(x, g=torch.tensor([0]))
    check("mulaw: speaker changes the output", bool((other - logits).abs().max() > 1e-3))
    with torch.no_grad():
        y_re = rebuild(got_cfg, tensors)(x, g=speaker)
    check("mulaw: rebuilt from file reproduces logits", torch.equal(y_re, logits))

    m32 = build(cfg, seed=10)
    with torch.no_grad():
        l32 = m32(x.float(), g=speaker)
        n32 = ref.mulaw_nll(l32[:, :, :-1], classes[:, 1:])
    dy = float((l32.double() - logits).abs().max())
    dn = float((n32.double() - nll).abs().max())
    check("mulaw: float32 close to float64", dy < 1e-4 and dn < 1e-4, f"(logits {dy:.2e}, nll {dn:.2e})")

    case = {
        "checkpoint": "wavenet_tiny_mulaw.safetensors",
        "config": cfg,
        "inputs": {"classes": T(classes.to(F64)), "speaker": T(speaker.to(F64))},
        "outputs": {"logits": T(logits), "nll_next_class": T(nll)},
        "loss": {"kind": "cross_entropy",
                 "target": "nll_next_class[0, t] = -log_softmax(logits[0, :, t])[classes[0, t + 1]], t = 0..8",
                 "mean": float(nll.mean())},
    }
    return case, {"logits": dy, "nll_next_class": dn}


# -------------------------------------------------------------------- mol2018

def transposed_upsample_by_hand(model, c):
    """The 2018 upsampler from the raw weight_g / weight_v / bias, without torch's
    weight-norm hook: w = g * v / ||v|| (one norm over all of v), then
    conv_transpose2d and ReLU per scale."""
    c = c.unsqueeze(1)
    for j in range(0, len(model.upsample_conv), 2):
        m = model.upsample_conv[j]
        v, g = m.weight_v, m.weight_g
        w = g * v / v.norm()
        k, s = v.shape[2], v.shape[3]
        c = F.relu(F.conv_transpose2d(c, w, m.bias, stride=(1, s), padding=((k - 1) // 2, 0)))
    return c.squeeze(1)


def tilt_upsampler(model):
    """The second stage's input is a ReLU output (>= 0) and its taps are positive, so
    with the drawn bias its ReLU would never clip; a bias of -0.1 makes it clip part of
    c_upsampled (a missing or misplaced ReLU then shows)."""
    with torch.no_grad():
        model.upsample_conv[2].bias.fill_(-0.1)


def relu_zero_fractions(model, c):
    """Fraction of exact zeros after each of the 2018 upsampler's ReLUs."""
    out, c = [], c.unsqueeze(1)
    with torch.no_grad():
        for f in model.upsample_conv:
            c = f(c)
            if isinstance(f, torch.nn.ReLU):
                out.append(float((c == 0).double().mean()))
    return out


def mol2018_case(tmp):
    print("mol2018")
    cfg = dict(MOL2018_CONFIG)
    model = build(cfg, seed=20)
    tilt_upsampler(model)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ups = {k: tuple(v.shape) for k, v in sd.items() if k.startswith("upsample_conv.")}
    print(f"  upsample_conv tensors: {ups}")
    check("mol2018: upsample_conv tensor shapes",
          ups == {"upsample_conv.0.weight_g": (1, 1, 1, 1), "upsample_conv.0.weight_v": (1, 1, 3, 2),
                  "upsample_conv.0.bias": (1,), "upsample_conv.2.weight_g": (1, 1, 1, 1),
                  "upsample_conv.2.weight_v": (1, 1, 3, 3), "upsample_conv.2.bias": (1,)})
    check("mol2018: no upsample_net / conv_in tensors", not any(k.startswith("upsample_net.") for k in sd))

    # r9y9 train.py layout, 2018-style hparams
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    src = os.path.join(tmp, "checkpoint_step000002000.pth")
    torch.save({"state_dict": model.state_dict(), "optimizer": opt.state_dict(),
                "global_step": 2000, "global_epoch": 5}, src)
    hp_path = os.path.join(tmp, "hparams2018.json")
    with open(hp_path, "w") as f:
        json.dump(MOL2018_HPARAMS, f)
    dst = os.path.join(OUT_DIR, "wavenet_tiny_mol2018.safetensors")
    run_converter(src, dst, "--hparams", hp_path)
    got_cfg, tensors = verify_conversion("mol2018", dst, sd, cfg)

    gen = torch.Generator().manual_seed(300)
    mel = torch.randn(1, 5, 4, generator=gen, dtype=torch.float32)
    g2 = torch.Generator().manual_seed(301)
    x = torch.rand(1, 1, 24, generator=g2, dtype=torch.float32) * 1.8 - 0.9
    x[0, 0, 5] = -1.0
    x[0, 0, 17] = 1.0
    x = quantise(x)
    Tn = x.shape[-1]

    m64 = model.double()
    with torch.no_grad():
        c_up = m64.upsample(mel.double())
        y_hat = m64(x.double(), c=mel.double())
        by_hand = transposed_upsample_by_hand(m64, mel.double())
    check("mol2018: shapes", tuple(c_up.shape) == (1, 5, Tn) and tuple(y_hat.shape) == (1, 30, Tn))
    d_hand = float((by_hand - c_up).abs().max())
    check("mol2018: upsampler == g * v/||v|| conv_transpose2d + ReLU by hand", d_hand < 1e-12,
          f"({d_hand:.1e})")
    fracs = relu_zero_fractions(m64, mel.double())
    check("mol2018: each ReLU clips some but not most of its input",
          len(fracs) == 2 and all(0.1 <= z <= 0.7 for z in fracs),
          f"(zeros after ReLU 1: {fracs[0]:.0%}, ReLU 2 = c_upsampled: {fracs[1]:.0%})")
    zeros = fracs[-1]
    with torch.no_grad():
        # the frequency axis matters: flipping the mel bands does not just flip the output
        flipped = m64.upsample(mel.double().flip(1)).flip(1)
        # each stage's output at step t*s + i depends only on input frame t (stride = width)
        mel2 = mel.double().clone()
        mel2[..., 2] += 1.0
        dc = (m64.upsample(mel2) - c_up).abs().amax(dim=1)[0]
    check("mol2018: frequency kernel is not symmetric", float((flipped - c_up).abs().max()) > 1e-3)
    check("mol2018: frame 2 only reaches samples 12..17", bool((dc[:12] == 0).all())
          and bool((dc[18:] == 0).all()) and bool(dc[12:18].max() > 0))

    with torch.no_grad():
        x2 = x.double().clone()
        x2[..., -1] += 0.5
        d = (m64(x2, c=mel.double()) - y_hat).abs().amax(dim=1)[0]
    check("mol2018: causal", bool((d[:-1] == 0).all()) and bool(d[-1] > 0))

    with torch.no_grad():
        y_re = rebuild(got_cfg, tensors)(x.double(), c=mel.double())
    check("mol2018: rebuilt from file reproduces y_hat", torch.equal(y_re, y_hat))

    # weight norm removed everywhere (plain "weight"s, ConvTranspose2d included): the
    # converter splits them back into g = ||w||, v = w, which must compute the same network
    plain = build(cfg, seed=20)
    tilt_upsampler(plain)
    ref.remove_weight_norm(plain)
    src_plain = os.path.join(tmp, "mol2018_plain.pth")
    torch.save({"state_dict": plain.state_dict(), "global_step": 2000}, src_plain)
    dst_plain = os.path.join(tmp, "mol2018_plain.safetensors")
    run_converter(src_plain, dst_plain, "--hparams", hp_path)
    meta_p, tensors_p = read_converted(dst_plain)
    check("mol2018 (weight norm removed): same config", json.loads(meta_p["wavekit.config"]) == cfg)
    check("mol2018 (weight norm removed): upsample_conv.0.weight_g is [1, 1, 1, 1]",
          tuple(tensors_p["upsample_conv.0.weight_g"].shape) == (1, 1, 1, 1))
    with torch.no_grad():
        y_p = rebuild(cfg, tensors_p)(x.double(), c=mel.double())
    dp = float((y_p - y_hat).abs().max())
    check("mol2018 (weight norm removed): reproduces y_hat", dp < 1e-5, f"({dp:.1e})")

    m32 = build(cfg, seed=20)
    tilt_upsampler(m32)
    with torch.no_grad():
        c32 = m32.upsample(mel)
        y32 = m32(x, c=mel)
    dcu = float((c32.double() - c_up).abs().max())
    dy = float((y32.double() - y_hat).abs().max())
    check("mol2018: float32 close to float64", dy < 1e-4 and dcu < 1e-5,
          f"(c_upsampled {dcu:.2e}, y {dy:.2e})")

    case = {
        "checkpoint": "wavenet_tiny_mol2018.safetensors",
        "config": cfg,
        "inputs": {"mel": T(mel), "audio": T(x)},
        "outputs": {"c_upsampled": T(c_up), "y_hat": T(y_hat)},
        "c_upsampled_zero_fraction": zeros,
    }
    return case, {"c_upsampled": dcu, "y_hat": dy}


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        mol, mol_d = mol_case(tmp)
        mulaw, mulaw_d = mulaw_case(tmp)
        mol2018, mol2018_d = mol2018_case(tmp)
    import safetensors
    doc = {
        "meta": {
            "script": "tools/golden/wavenet_golden.py",
            "reference": "tools/reference/r9y9_wavenet.py (r9y9/wavenet_vocoder layout)",
            "converter": "tools/convert_checkpoint.py --from r9y9-wavenet",
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "safetensors": safetensors.__version__,
            "dtype_of_reference": "float64",
            "float32_max_abs_diff": {"mol": mol_d, "mulaw": mulaw_d, "mol2018": mol2018_d},
        },
        "mol": mol,
        "mulaw": mulaw,
        "mol2018": mol2018,
    }
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed: {FAILURES}; nothing written to the JSON")
        return 1
    path = os.path.join(OUT_DIR, "wavenet_golden.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    for name in ("wavenet_golden.json", "wavenet_tiny_mol.safetensors", "wavenet_tiny_mulaw.safetensors",
                 "wavenet_tiny_mol2018.safetensors"):
        p = os.path.join(OUT_DIR, name)
        print(f"wrote {os.path.relpath(p, REPO_ROOT)} ({os.path.getsize(p)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
