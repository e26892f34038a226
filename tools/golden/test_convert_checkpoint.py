#!/usr/bin/env python3
"""Tests of tools/convert_checkpoint.py's checks and errors (no golden data written).

Builds small r9y9 WaveNet and NVIDIA WaveGlow checkpoints from tools/reference/ in
a temporary folder and runs the converter on them, in process (main(argv) with
stderr captured; an exception escaping main() would be a traceback for the user)
and, for a few cases, as a subprocess. Checked:
  * mel presets: a preset must fit the model (bands = conditioning channels, hop =
    upsampling factor, WaveGlow's 22050 Hz); --preset that does not fit is refused
    (exit 2), a default that does not fit is not recorded; an unconditional WaveNet
    takes no --preset;
  * every r9y9 tensor's shape is checked (name, expected and found shape);
  * bad --hparams values, folders and non-UTF-8 files, and unusable outputs (a
    folder, a missing or unwritable folder, a failed write) are one-line errors with
    exit 2 (1 for a failed write), and no DST.tmp is left behind;
  * inputs that are not checkpoints (.npy, audio, empty, truncated, JSON,
    safetensors / WaveKit checkpoints) are named, on both --from paths, and a
    state_dict of the other family is sent to the right --from;
  * the --help text and docstring say what the code does (legacy is recorded; the
    safetensors package is optional);
  * good conversions still work (float32, the same tensors).

Run (from the repo root; takes well under a minute on one core):
    .venv-tools/bin/python tools/golden/test_convert_checkpoint.py
Exits non-zero when a check fails.
"""

import contextlib
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REF_DIR = os.path.join(REPO_ROOT, "tools", "reference")
CONVERTER = os.path.join(REPO_ROOT, "tools", "convert_checkpoint.py")
sys.path.insert(0, REF_DIR)
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))
warnings.simplefilter("ignore")

import convert_checkpoint as cc  # noqa: E402
import nvidia_waveglow as wgref  # noqa: E402
import r9y9_wavenet as wnref  # noqa: E402

FAILURES = []
TMP = None


def check(name, ok, detail=""):
    print(f"  [{'ok ' if ok else 'FAIL'}] {name}" + (f"  {detail}" if detail and not ok else ""))
    if not ok:
        FAILURES.append(name)


def convert(*argv):
    """(exit status, stderr + stdout) of convert_checkpoint.main(argv), in process."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = cc.main([str(a) for a in argv])
        except SystemExit as e:        # argparse
            rc = e.code
        except BaseException as e:     # noqa: BLE001 - would be a traceback for the user
            rc = f"exception {type(e).__name__}: {e}"
    return rc, err.getvalue() + out.getvalue()


def path(name):
    return os.path.join(TMP, name)


def leftovers():
    return [os.path.join(d, f) for d, _, fs in os.walk(TMP) for f in fs if f.endswith(".tmp")]


def expect_error(name, argv, status, *needles, absent=()):
    """The converter fails with `status`, one 'error:' line containing every needle, no
    traceback, no output file and no .tmp file."""
    dst = argv[argv.index("-o") + 1] if "-o" in argv else None
    existed = dst is not None and os.path.exists(dst)
    rc, text = convert(*argv)
    errors = [ln for ln in text.splitlines() if ln.startswith("error:")]
    ok = (rc == status and len(errors) == 1 and all(n in errors[0] for n in needles)
          and not any(a in text for a in absent) and "Traceback" not in text
          and (existed or dst is None or not os.path.exists(dst)) and not leftovers())
    check(name, ok, f"rc={rc!r}\n      " + text.strip().replace("\n", "\n      "))
    return text


def expect_ok(name, argv):
    rc, text = convert(*argv)
    dst = argv[argv.index("-o") + 1]
    ok = rc == 0 and os.path.isfile(dst) and not leftovers()
    check(name, ok, f"rc={rc!r}\n      " + text.strip().replace("\n", "\n      "))
    if not ok:
        return None, None, text
    from safetensors import safe_open
    with safe_open(dst, framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return json.loads(meta["wavekit.config"]), (meta, tensors), text


# ---------------------------------------------------------------- fixtures

def wavenet(**kw):
    base = dict(out_channels=256, layers=4, stacks=2, residual_channels=16, gate_channels=32,
                skip_out_channels=16, kernel_size=3, cin_channels=80, gin_channels=-1,
                upsample_conditional_features=True,
                upsample_params={"upsample_scales": [4, 4, 4, 4], "cin_pad": 2, "cin_channels": 80},
                cin_pad=2)
    base.update(kw)
    return wnref.WaveNet(**base)


def waveglow_sd(n_mel=80, kernel=256):
    """A small WaveGlow state_dict; the upsampler's kernel is cut to `kernel` (>= the
    stride, 256) to keep the files small (the converter records upsample_kernel)."""
    cfg = {"n_mel_channels": n_mel, "n_flows": 2, "n_group": 4, "n_early_every": 4,
           "n_early_size": 2, "n_layers": 2, "n_channels": 8, "kernel_size": 3}
    sd = wgref.waveglow_from_config(cfg, end_init_std=0.01).state_dict()
    sd["upsample.weight"] = torch.randn(n_mel, n_mel, kernel) * 0.01
    return sd


def make_fixtures():
    torch.manual_seed(0)
    wn = wavenet().state_dict()
    torch.save({"state_dict": wn, "global_step": 12, "global_epoch": 1}, path("wn.pth"))
    torch.save(wavenet(cin_channels=64, upsample_params={"upsample_scales": [4, 4, 4, 4], "cin_pad": 2,
                                                         "cin_channels": 64}).state_dict(), path("wn_cin64.pth"))
    torch.save(wavenet(upsample_params={"upsample_scales": [4, 4, 4, 2], "cin_pad": 2,
                                        "cin_channels": 80}).state_dict(), path("wn_hop128.pth"))
    torch.save(wavenet(cin_channels=-1, upsample_conditional_features=False).state_dict(), path("wn_uncond.pth"))
    torch.save(wavenet(out_channels=30, scalar_input=True, upsample_layout="transposed",
                       upsample_scales=[4, 4, 4, 4], freq_axis_kernel_size=3, cin_pad=0,
                       legacy=True).state_dict(), path("wn_2018.pth"))
    # parametrizations naming, weight norm removed
    torch.save({k.replace(".weight_g", ".parametrizations.weight.original0")
                .replace(".weight_v", ".parametrizations.weight.original1"): v for k, v in wn.items()},
               path("wn_param.pth"))
    m = wavenet()
    m.load_state_dict(wn)
    wnref.remove_weight_norm(m)
    torch.save(m.state_dict(), path("wn_nown.pth"))
    # wrong shapes the name checks let through
    bad = {
        "conv_layers.1.conv1x1_out.weight_v": torch.randn(16, 8, 1),
        "conv_layers.1.conv1x1c.weight_v": torch.randn(32, 40, 1),
        "last_conv_layers.1.weight_v": torch.randn(16, 7, 1),
        "conv_layers.1.conv.bias": torch.randn(5),
        "first_conv.weight_g": torch.randn(3, 1, 1),
        "first_conv.bias": torch.randn(16, 2),
        "conv_layers.3.conv1x1_skip.weight_g": torch.randn(16, 1),
        "upsample_net.upsample.up_layers.3.weight_g": torch.randn(1, 1, 1, 9),
    }
    for i, (k, v) in enumerate(bad.items()):
        sd = dict(wn)
        sd[k] = v
        torch.save(sd, path(f"wn_bad{i}.pth"))
    torch.save(waveglow_sd(80), path("wg.pt"))
    torch.save({"state_dict": {"module." + k: v for k, v in waveglow_sd(80).items()}}, path("wg_dp.pt"))
    torch.save(waveglow_sd(64), path("wg_mel64.pt"))
    # a pickled whole WaveGlow, its classes in a module named `glow` (as NVIDIA's .pt files)
    tmp = tempfile.mkdtemp(prefix="glowmod_", dir=TMP)
    shutil.copy(os.path.join(REF_DIR, "nvidia_waveglow.py"), os.path.join(tmp, "glow.py"))
    sys.path.insert(0, tmp)
    try:
        glow = importlib.import_module("glow")
        cfg = {"n_mel_channels": 80, "n_flows": 2, "n_group": 4, "n_early_every": 4, "n_early_size": 2,
               "n_layers": 2, "n_channels": 8, "kernel_size": 3}
        torch.save({"model": glow.waveglow_from_config(cfg, end_init_std=0.01)}, path("wg_model.pt"))
    finally:
        sys.path.remove(tmp)
        sys.modules.pop("glow", None)
        shutil.rmtree(tmp)
    # not checkpoints
    np.save(path("mel.npy"), np.zeros((80, 10), np.float32))
    with open(path("speech.wav"), "wb") as f:
        f.write(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x22\x56\x00\x00"
                b"\x44\xac\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00")
    with open(path("speech.flac"), "wb") as f:
        f.write(b"fLaC\x00\x00\x00\x22" + bytes(34))
    with open(path("speech.ogg"), "wb") as f:
        f.write(b"OggS\x00\x02" + bytes(30))
    open(path("empty.pth"), "wb").close()
    with open(path("wn.pth"), "rb") as f:
        raw = f.read()
    with open(path("trunc.pth"), "wb") as f:
        f.write(raw[:len(raw) // 2])
    with open(path("hparams_as_src.json"), "w") as f:
        json.dump({"stacks": 2}, f)
    os.makedirs(path("hpdir"))
    with open(path("hp_latin1.json"), "wb") as f:
        f.write(b'{"name": "caf\xe9"}')
    from safetensors.torch import save_file
    save_file({"x": torch.zeros(2)}, path("plain.safetensors"))
    shutil.copy(path("wn.pth"), path("torch_named.safetensors"))   # a .pth misnamed


# ---------------------------------------------------------------- the tests

def test_presets():
    print("mel presets fit the model")
    cfg, st, text = expect_ok("WaveGlow 80 bands: default tacotron2", ["--from", "nvidia-waveglow", path("wg.pt"),
                                                                         "-o", path("o_wg.safetensors")])
    check("  recorded tacotron2", cfg and cfg["mel_preset"] == "tacotron2"
          and st[0].get("wavekit.mel_preset") == "tacotron2")
    cfg, st, text = expect_ok("WaveGlow 64 bands: no default preset",
                              ["--from", "nvidia-waveglow", path("wg_mel64.pt"), "-o", path("o_wg64.safetensors")])
    check("  recorded none, with a note", cfg and cfg["mel_preset"] is None
          and "wavekit.mel_preset" not in st[0] and "no mel preset recorded" in text, text)
    expect_error("WaveGlow 64 bands --preset tacotron2", ["--from", "nvidia-waveglow", path("wg_mel64.pt"),
                 "-o", path("x.safetensors"), "--preset", "tacotron2"], 2, "--preset tacotron2", "80 mel bands, the model 64")
    expect_error("WaveGlow --preset 16k (hop, rate)", ["--from", "nvidia-waveglow", path("wg.pt"),
                 "-o", path("x.safetensors"), "--preset", "16k"], 2, "hop 200, the model 256", "16000 Hz",
                 "tacotron2, r9y9")
    expect_error("WaveGlow --preset torchaudio", ["--from", "nvidia-waveglow", path("wg.pt"),
                 "-o", path("x.safetensors"), "--preset", "torchaudio"], 2, "128 mel bands, the model 80")
    cfg, _, _ = expect_ok("WaveGlow --preset r9y9", ["--from", "nvidia-waveglow", path("wg.pt"),
                                                     "-o", path("o_wg_r9y9.safetensors"), "--preset", "r9y9"])
    check("  recorded r9y9", cfg and cfg["mel_preset"] == "r9y9")

    expect_error("WaveNet cin 64 --preset tacotron2", ["--from", "r9y9-wavenet", path("wn_cin64.pth"),
                 "-o", path("x.safetensors"), "--stacks", "2", "--preset", "tacotron2"], 2,
                 "80 mel bands, the model 64")
    cfg, _, text = expect_ok("WaveNet cin 64, no --preset", ["--from", "r9y9-wavenet", path("wn_cin64.pth"),
                                                              "-o", path("o_cin64.safetensors"), "--stacks", "2"])
    check("  recorded none", cfg and cfg["mel_preset"] is None and "64 mel bands" in text, text)
    expect_error("WaveNet hop 128 --preset r9y9", ["--from", "r9y9-wavenet", path("wn_hop128.pth"),
                 "-o", path("x.safetensors"), "--stacks", "2", "--preset", "r9y9"], 2, "hop 256, the model 128")
    r9y9_audio = json.dumps(dict(cc.R9Y9_AUDIO, stacks=2))
    cfg, _, _ = expect_ok("WaveNet with r9y9 audio hparams", ["--from", "r9y9-wavenet", path("wn.pth"),
                                                              "-o", path("o_wn_r9y9.safetensors"), "--hparams", r9y9_audio])
    check("  recorded r9y9", cfg and cfg["mel_preset"] == "r9y9")
    cfg, _, text = expect_ok("WaveNet hop 128 with r9y9 audio hparams", ["--from", "r9y9-wavenet",
                             path("wn_hop128.pth"), "-o", path("o_hop128.safetensors"), "--hparams", r9y9_audio])
    check("  r9y9 not recorded (hop 128), with a note", cfg and cfg["mel_preset"] is None
          and "hop 256, the model 128" in text, text)
    cfg, _, _ = expect_ok("WaveNet --preset tacotron2", ["--from", "r9y9-wavenet", path("wn.pth"),
                          "-o", path("o_wn_t2.safetensors"), "--stacks", "2", "--preset", "tacotron2"])
    check("  recorded tacotron2", cfg and cfg["mel_preset"] == "tacotron2")
    expect_error("unconditional WaveNet --preset", ["--from", "r9y9-wavenet", path("wn_uncond.pth"),
                 "-o", path("x.safetensors"), "--stacks", "2", "--preset", "r9y9"], 2, "takes no mel")


def test_wavenet_shapes():
    print("every r9y9 tensor's shape is checked")
    cases = [("conv_layers.1.conv1x1_out.weight_v", "[16, 8, 1]", "[16, 16, 1]"),
             ("conv_layers.1.conv1x1c.weight_v", "[32, 40, 1]", "[32, 80, 1]"),
             ("last_conv_layers.1.weight_v", "[16, 7, 1]", "[16, 16, 1]"),
             ("conv_layers.1.conv.bias", "[5]", "[32]"),
             ("first_conv.weight_g", "[3, 1, 1]", "[16, 1, 1]"),
             ("first_conv.bias", "[16, 2]", "[16]"),
             ("conv_layers.3.conv1x1_skip.weight_g", "[16, 1]", "[16, 1, 1]"),
             ("upsample_net.upsample.up_layers.3.weight_g", "[1, 1, 1, 9]", "[1, 1, 1, 1]")]
    for i, (name, found, want) in enumerate(cases):
        expect_error(f"{name} {found}", ["--from", "r9y9-wavenet", path(f"wn_bad{i}.pth"), "-o",
                     path("x.safetensors"), "--stacks", "2"], 1, name, f"shape {found}", f"expected {want}")


def test_hparams():
    print("--hparams values and files")
    base = ["--from", "r9y9-wavenet", path("wn.pth"), "-o", path("x.safetensors"), "--hparams"]
    for hp, needle in [("stacks=two", "stacks must be an integer"),
                       ('{"stacks":"two"}', "stacks must be an integer"),
                       ("layers=abc", "layers must be an integer"),
                       ("log_scale_min=abc", "log_scale_min must be a number"),
                       ('{"upsample_params":[4,4]}', "upsample_params must be an object"),
                       ('{"upsample_params":{"upsample_scales":[4,"x"]}}', "upsample_scales must be an integer"),
                       ('{"upsample_scales": 4}', "upsample_scales must be a list"),
                       ('{"stacks": 2.7}', "stacks must be an integer, got 2.7"),
                       ('{"stacks": true}', "stacks must be an integer, got true"),
                       ('{"legacy": "maybe"}', "legacy must be true or false"),
                       ('{"log_scale_min": NaN}', "log_scale_min must be a number"),
                       ('{"output_distribution": ["Logistic"]}', "output_distribution must be a string"),
                       (path("hpdir"), "is a folder"),
                       (path("hp_latin1.json"), "not UTF-8"),
                       (path("nothere.json"), "no such file")]:
        expect_error(f"--hparams {os.path.basename(hp)}", base + [hp], 2, needle)
    cfg, _, _ = expect_ok('{"stacks": 2.0} is 2', base[:4] + [path("o_hp.safetensors"), "--hparams",
                                                              '{"stacks": 2.0}'])
    check("  stacks 2", cfg and cfg["stacks"] == 2)
    audio = dict(cc.R9Y9_AUDIO, fmax=None, stacks=2)
    cfg, _, _ = expect_ok('audio hparams with "fmax": null', base[:4] + [path("o_hp.safetensors"), "--hparams",
                                                                       json.dumps(audio)])
    check("  not the r9y9 preset", cfg and cfg["mel_preset"] is None)
    cfg, _, _ = expect_ok("name=value with a list", base[:4] + [path("o_hp.safetensors"), "--hparams",
                                                                "stacks=2,upsample_scales=[4,4,4,4],cin_pad=2"])
    check("  stacks 2", cfg and cfg["stacks"] == 2)
    expect_error("name=value list that disagrees", base + ["stacks=2,upsample_params={\"upsample_scales\":[4,4]}"],
                 2, "upsample_scales: hparams [4, 4]")
    for hp, want in [("legacy=False,stacks=2", False), ('{"legacy": true, "stacks": 2}', True),
                     ("stacks=2", True)]:
        cfg, _, text = expect_ok(f"2018 layout --hparams {hp}", ["--from", "r9y9-wavenet", path("wn_2018.pth"),
                                 "-o", path("o_2018.safetensors"), "--hparams", hp])
        check(f"  legacy {want} recorded", cfg and cfg.get("legacy") is want and f"legacy={want}" in text)


def test_outputs():
    print("output paths")
    src = ["--from", "r9y9-wavenet", path("wn.pth"), "--stacks", "2"]
    os.makedirs(path("folder.safetensors"))
    expect_error("output is a folder", src + ["-o", path("folder.safetensors")], 2, "is a folder")
    expect_error("output folder missing", src + ["-o", path("nofolder/x.safetensors")], 2, "does not exist")
    expect_error("output folder is a file", src + ["-o", path("wn.pth/x.safetensors")], 2, "is not a folder")
    access = os.access
    os.access = lambda p, mode, **kw: False if p == TMP else access(p, mode, **kw)
    try:
        expect_error("output folder not writable", src + ["-o", path("x.safetensors")], 2, "not writable")
    finally:
        os.access = access
    replace = os.replace

    def full(a, b):
        raise OSError(28, "No space left on device")
    os.replace = full
    try:
        expect_error("a failed write leaves no .tmp", src + ["-o", path("x.safetensors")], 1,
                     "cannot write it", "No space left")
    finally:
        os.replace = replace
    expect_error("output is the input", ["--from", "r9y9-wavenet", path("torch_named.safetensors"),
                                         "-o", path("torch_named.safetensors"), "--stacks", "2"], 2, "overwrite the input")
    # as a user who may not write the folder (only when run as root, which can switch)
    if hasattr(os, "getuid") and os.getuid() == 0 and shutil.which("setpriv"):
        ro = path("readonly")
        os.makedirs(ro)
        os.chmod(ro, 0o555)
        os.chmod(TMP, 0o755)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                            CONVERTER, "--from", "r9y9-wavenet", path("wn.pth"), "--stacks", "2", "-o",
                            os.path.join(ro, "x.safetensors")], capture_output=True, text=True)
        check("read-only folder (as nobody, subprocess)", r.returncode == 2 and "not writable" in r.stderr
              and "Traceback" not in r.stderr and not os.listdir(ro), f"rc={r.returncode} {r.stderr}")


def test_not_checkpoints():
    print("inputs that are not checkpoints")
    for source in ("r9y9-wavenet", "nvidia-waveglow"):
        for name, status, needle in [("mel.npy", 1, "NumPy array"), ("speech.wav", 1, "WAV audio file"),
                                     ("speech.flac", 1, "FLAC audio file"), ("speech.ogg", 1, "Ogg audio file"),
                                     ("empty.pth", 1, "is empty"), ("trunc.pth", 1, "truncated"),
                                     ("hparams_as_src.json", 1, "JSON text"), ("hpdir", 1, "is a folder"),
                                     ("o_wg.safetensors", 2, "already a WaveKit checkpoint"),
                                     ("plain.safetensors", 2, "is a safetensors file")]:
            expect_error(f"{source} {name}", ["--from", source, path(name), "-o", path("x.safetensors")],
                         status, needle, absent=("--trust-pickle", "IndexError", "EOFError", "SafetensorError"))
    print("the other family's checkpoints")
    expect_error("WaveGlow state_dict to --from r9y9-wavenet", ["--from", "r9y9-wavenet", path("wg.pt"), "-o",
                 path("x.safetensors"), "--stacks", "2"], 2, "--from nvidia-waveglow")
    expect_error("DataParallel WaveGlow to --from r9y9-wavenet", ["--from", "r9y9-wavenet", path("wg_dp.pt"), "-o",
                 path("x.safetensors")], 2, "--from nvidia-waveglow")
    expect_error("pickled WaveGlow to --from r9y9-wavenet", ["--from", "r9y9-wavenet", path("wg_model.pt"), "-o",
                 path("x.safetensors")], 2, "--from nvidia-waveglow")
    expect_error("r9y9 checkpoint to --from nvidia-waveglow", ["--from", "nvidia-waveglow", path("wn.pth"), "-o",
                 path("x.safetensors")], 2, "--from r9y9-wavenet")
    cfg, _, _ = expect_ok("a .pth misnamed .safetensors still converts", ["--from", "r9y9-wavenet",
                          path("torch_named.safetensors"), "-o", path("o_named.safetensors"), "--stacks", "2"])


def test_docs():
    print("help and docstring")
    rc, text = convert("--help")
    check("--help: legacy is recorded", rc == 0 and "is not recorded: the converter warns" not in text
          and "skip-connection scaling is recorded as" in text, text)
    check("docstring: no 'not representable' legacy", "Not representable in the config" not in cc.__doc__)
    saved = sys.modules.get("safetensors")
    sys.modules["safetensors"] = None          # import safetensors raises ImportError
    try:
        rc, text = convert("--from", "r9y9-wavenet", path("wn.pth"), "-o", path("o_nost.safetensors"),
                           "--stacks", "2")
    finally:
        if saved is not None:
            sys.modules["safetensors"] = saved
        else:
            del sys.modules["safetensors"]
    check("without the safetensors package: converts, says it did not read back",
          rc == 0 and "not read back" in text and "optional" not in text, f"rc={rc} {text}")
    rc, _ = convert("--from", "r9y9-wavenet", path("wn.pth"), "-o", path("o_st.safetensors"), "--stacks", "2")
    with open(path("o_nost.safetensors"), "rb") as a, open(path("o_st.safetensors"), "rb") as b:
        check("  the same bytes as with the package", rc == 0 and a.read() == b.read())


def test_good_conversions():
    print("good conversions")
    runs = [("r9y9 current", "r9y9-wavenet", "wn.pth", ["--stacks", "2"]),
            ("r9y9 2018", "r9y9-wavenet", "wn_2018.pth", ["--stacks", "2"]),
            ("r9y9 parametrizations", "r9y9-wavenet", "wn_param.pth", ["--stacks", "2"]),
            ("r9y9 weight norm removed", "r9y9-wavenet", "wn_nown.pth", ["--stacks", "2"]),
            ("r9y9 unconditional", "r9y9-wavenet", "wn_uncond.pth", ["--stacks", "2"]),
            ("WaveGlow state_dict", "nvidia-waveglow", "wg.pt", []),
            ("WaveGlow DataParallel", "nvidia-waveglow", "wg_dp.pt", []),
            ("WaveGlow pickled model", "nvidia-waveglow", "wg_model.pt", [])]
    ref = None
    for name, source, src, extra in runs:
        cfg, st, _ = expect_ok(name, ["--from", source, path(src), "-o", path("good.safetensors")] + extra)
        if st is None:
            continue
        check("  float32 tensors", all(t.dtype == torch.float32 for t in st[1].values()))
        if src == "wn.pth":
            ref = st[1]
        if src == "wn_param.pth" and ref is not None:
            check("  parametrizations == weight_g/weight_v",
                  set(ref) == set(st[1]) and all(torch.equal(ref[k], st[1][k]) for k in ref))
    # the script itself, as users run it
    r = subprocess.run([sys.executable, CONVERTER, "--from", "r9y9-wavenet", path("wn.pth"), "-o",
                        path("sub.safetensors"), "--hparams", "stacks=two"], capture_output=True, text=True)
    check("subprocess: bad --hparams is one error line, exit 2",
          r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr, r.stderr)
    r = subprocess.run([sys.executable, CONVERTER, "--from", "nvidia-waveglow", path("wg_mel64.pt"), "-o",
                        path("sub.safetensors")], capture_output=True, text=True)
    check("subprocess: WaveGlow 64 bands converts", r.returncode == 0 and '"mel_preset": null' in r.stdout,
          r.stdout + r.stderr)


def test_2018_biases_and_no_upsampler():
    print("r9y9 2018 conditioning biases; a conditioned model without an upsampler")
    torch.manual_seed(3)
    sd = wavenet(gin_channels=4, n_speakers=2, use_speaker_embedding=True).state_dict()
    sd["conv_layers.0.conv1x1c.bias"] = torch.randn(32)
    sd["conv_layers.0.conv1x1g.bias"] = torch.randn(32)
    torch.save(sd, path("wn_cbias.pth"))
    cfg, st, text = expect_ok("conv1x1c/conv1x1g biases folded",
                              ["--from", "r9y9-wavenet", path("wn_cbias.pth"), "-o", path("cbias.safetensors"), "--stacks", "2"])
    if st is not None:
        want = sd["conv_layers.0.conv.bias"] + sd["conv_layers.0.conv1x1c.bias"] + sd["conv_layers.0.conv1x1g.bias"]
        check("  conv.bias = conv + 1x1c + 1x1g biases", torch.allclose(st[1]["conv_layers.0.conv.bias"], want)
              and "conv_layers.0.conv1x1c.bias" not in st[1], text)
        check("  a note says so", "folded into conv.bias" in text, text)
        mode = os.stat(path("cbias.safetensors")).st_mode & 0o777
        umask = os.umask(0)
        os.umask(umask)
        check("  the output has the umask's mode, not mkstemp's 0600", mode == 0o666 & ~umask, oct(mode))
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    torch.save(half, path("wn_cbias16.pth"))
    cfg, st, text = expect_ok("fp16 biases folded exactly",
                              ["--from", "r9y9-wavenet", path("wn_cbias16.pth"), "-o", path("cbias16.safetensors"), "--stacks", "2"])
    if st is not None:
        exact = (half["conv_layers.0.conv.bias"].double() + half["conv_layers.0.conv1x1c.bias"].double()
                 + half["conv_layers.0.conv1x1g.bias"].double()).float()
        check("  sum in float64", torch.equal(st[1]["conv_layers.0.conv.bias"], exact), text)
    torch.save(wavenet(upsample_conditional_features=False).state_dict(), path("wn_noup.pth"))
    expect_error("no upsampler: --preset tacotron2 refused", ["--from", "r9y9-wavenet", path("wn_noup.pth"), "-o",
                 path("noup.safetensors"), "--stacks", "2", "--preset", "tacotron2"], 2, "hop")
    cfg, _, text = expect_ok("no upsampler: converts with no preset",
                             ["--from", "r9y9-wavenet", path("wn_noup.pth"), "-o", path("noup.safetensors"), "--stacks", "2"])
    check("  recorded none", cfg is not None and cfg["mel_preset"] is None, text)


def test_presets_match_wavekit():
    """The converter's PRESETS (bands, hop, rate) must be WaveKit's MelPreset values."""
    print("presets match Sources/DSP/MelPreset.swift")
    import re
    swift = open(os.path.join(os.path.dirname(CONVERTER), "..", "Sources", "DSP", "MelPreset.swift")).read()
    found = {}
    for m in re.finditer(r'MelPreset\(name: "([^"]+)", sampleRate: (\d+), nFFT: \d+, hopLength: (\d+),[^)]*?nMels: (\d+)', swift, re.S):
        found[m.group(1)] = (int(m.group(4)), int(m.group(3)), int(m.group(2)))
    check("every WaveKit preset parsed", set(found) == set(cc.PRESETS), f"{sorted(found)} vs {sorted(cc.PRESETS)}")
    for name, values in found.items():
        check(f"  {name}: {values}", cc.PRESETS.get(name) == values, f"converter has {cc.PRESETS.get(name)}")


def main():
    global TMP
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="convert_test_") as TMP:
        make_fixtures()
        test_presets()
        test_wavenet_shapes()
        test_hparams()
        test_outputs()
        test_not_checkpoints()
        test_docs()
        test_good_conversions()
        test_2018_biases_and_no_upsampler()
        test_presets_match_wavekit()
        check("no .tmp files left", not leftovers(), str(leftovers()))
    print(f"{len(FAILURES)} failures" + (": " + ", ".join(FAILURES) if FAILURES else ""))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
