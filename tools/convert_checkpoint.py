#!/usr/bin/env python3
"""Convert a PyTorch checkpoint into a WaveKit safetensors checkpoint.

Usage:
    .venv-tools/bin/python tools/convert_checkpoint.py --from r9y9-wavenet SRC.pth -o DST.safetensors
        [--hparams HPARAMS] [--stacks N] [--preset NAME] [--trust-pickle]
    .venv-tools/bin/python tools/convert_checkpoint.py --from nvidia-waveglow SRC.pt -o DST.safetensors
        [--preset NAME]

--from r9y9-wavenet
    A checkpoint written by r9y9/wavenet_vocoder's train.py (a dict with a
    "state_dict" entry, plus optimizer state and step counters) or a bare
    state_dict, with or without DataParallel's "module." prefix. Weight norm may
    be stored as weight_g / weight_v (nn.utils.weight_norm) or as
    parametrizations.weight.original0 / original1 (nn.utils.parametrizations);
    the latter are renamed to weight_g / weight_v. Convolutions whose weight norm
    was removed (a plain "weight") are split back into weight_g = ||weight|| and
    weight_v = weight, which computes the same weight.

    Every tensor is written as float32 under r9y9's own names (they are WaveKit's
    names too) with metadata
        format                  "pt"
        wavekit.family          "wavenet"
        wavekit.config          the WaveKit WaveNet config as JSON
        wavekit.converted_from  "r9y9-wavenet"
    Optimizer state and step counters are not converted.

What comes from where
    From the tensor shapes: out_channels, layers, residual/gate/skip channels,
    kernel_size, scalar_input, cin_channels, gin_channels, n_speakers,
    upsample_scales, cin_pad, upsample_layout, freq_axis_kernel_size and the
    output distribution (256-way one-hot in and out: mulaw; scalar input with 3K
    outputs: mol; scalar input with 2 outputs: gaussian).
    Not stored anywhere in the weights: the number of dilation cycles (stacks).
    Give it with --stacks N, or with --hparams (r9y9 hparams: a JSON file, an
    inline JSON object, or "name=value,name=value"). When hparams are given they
    are checked against the shapes, and log_scale_min, input_type and
    output_distribution are taken from them. Integer settings (layers, stacks,
    ..., upsample_scales) must be integers (2.7, true or "two" are refused),
    log_scale_min a number, legacy true or false, upsample_params an object.
    log_scale_min defaults to r9y9's np.log(1e-14) = -32.236 for mol and
    np.log(1e-7) = -16.118 for gaussian (and mulaw, where it is unused).
    mel_preset is --preset, else "r9y9" when the hparams' audio settings are
    r9y9's LJSpeech ones, else null. A preset must fit the model: its number of
    mel bands is cin_channels and its hop the product of upsample_scales (any
    hop without an upsampler). A --preset that does not fit is refused; an
    r9y9 preset inferred from hparams that does not fit is not recorded (null,
    with a note). A model without local conditioning takes no --preset.

Upsampler layouts (config key "upsample_layout")
    "conv_in"     r9y9's current code (since its 2019 refactor):
                  upsample_net.conv_in.weight, a (2*cin_pad+1)-wide Conv1d over
                  the edge-padded mel, then upsample_net.upsample.up_layers.{1,3,..}
                  (nearest-neighbour stretch by s, then a weight-normed
                  Conv2d(1, 1, (1, 2s+1)) without bias). freq_axis_kernel_size is 1.
                  Also written for models without an upsampler.
    "transposed"  the 2018 layout (r9y9 0.1.x before the refactor, e.g. the
                  2018 LJSpeech MoL checkpoints): upsample_conv.{0,2,4,..}.
                  {weight_g,weight_v,bias}, each a weight-normed
                  ConvTranspose2d(1, 1, kernel (freq_axis_kernel_size, s),
                  stride (1, s), padding ((freq_axis_kernel_size-1)/2, 0)) over
                  the mel seen as a [B, 1, cin, F] image, each followed by a ReLU
                  (the odd indices, which hold no tensors). No cin_pad (0). The
                  scales are the kernel widths and freq_axis_kernel_size the
                  kernel height (odd). Tensor names are kept as they are.
                  The 2018 code summed the skip connections as
                  skips = (skips + h) * sqrt(0.5) per layer (hparams
                  legacy=True, its default) or unscaled (legacy=False), where
                  the current code uses sum * sqrt(1/layers). Recorded in the
                  config as "legacy" (from --hparams, else true, r9y9's 2018
                  default; absent for the conv_in layout); the converter
                  prints a note saying which.

--from nvidia-waveglow
    NVIDIA/waveglow's WaveGlow (glow.py), as
      * NVIDIA's published .pt files, which pickle the whole model object under
        "model" ({"model": glow.WaveGlow}). They are read WITHOUT NVIDIA's glow
        module and without running code from the pickle: a restricted
        unpickler (torch.load(pickle_module=...)) resolves only torch's tensor /
        parameter / storage rebuilders, dtypes and a few containers to the real
        objects, and every other class the pickle names (glow.WaveGlow,
        glow.WN, glow.Invertible1x1Conv, glow_old.*, torch's Conv1d and
        weight-norm hooks, ...) to an inert stand-in nn.Module subclass that
        keeps _parameters / _buffers / _modules; the tensors then come from the
        stand-in's state_dict(). --trust-pickle is not needed.
      * a plain state_dict, or {"state_dict": ...} / {"model": state_dict},
        with or without DataParallel's "module." prefix (NVIDIA's
        DeepLearningExamples checkpoints, e.g. 512 channels);
      * the older per-layer conditioning layout WN.k.cond_layers.i (NVIDIA's
        glow_old.py, DeepLearningExamples): fused into WN.k.cond_layer by
        concatenating weight_g / weight_v / bias along the output channels in
        layer order (weight norm is per output channel, so this computes the
        same thing);
      * weight norm kept (weight_g / weight_v, or parametrizations.*) or
        removed (NVIDIA's remove_weightnorm: a plain weight, split back into
        weight_g = ||weight|| per output channel and weight_v = weight).
    Tensors keep NVIDIA's names (WaveKit's names too): upsample.{weight,bias},
    WN.k.{start,cond_layer,in_layers.i,res_skip_layers.i}.{weight_g,weight_v,bias},
    WN.k.end.{weight,bias}, convinv.k.conv.weight; float32; metadata
        format "pt", wavekit.family "waveglow", wavekit.config (JSON),
        wavekit.converted_from "nvidia-waveglow".
    The config comes from the shapes: n_mel_channels (upsample.weight
    [n_mel, n_mel, K] (NVIDIA's K is 1024; another K is recorded as upsample_kernel; the
    stride 256 is NVIDIA's constant, not stored),
    n_flows (convinv.k count), n_group (convinv.0 size), n_early_every /
    n_early_size (the first flow whose convinv is smaller, and by how much; a
    model that never shrinks gets n_early_every = n_flows, n_early_size = 0),
    n_layers (WN.0.in_layers.i count), n_channels (WN.0.start), kernel_size
    (WN.0.in_layers.0). sample_rate 22050. mel_preset is --preset, else
    "tacotron2" when it fits, else null (with a note): a preset must have
    n_mel_channels bands, hop 256 (the upsampler's stride) and 22050 Hz, which
    of WaveKit's presets only tacotron2 and r9y9 do (with 80 channels); a
    --preset that does not fit is refused.

Inputs that are not PyTorch checkpoints are named from their first bytes (an
empty file, a NumPy array, WAV / FLAC / Ogg / AIFF audio, a safetensors or
WaveKit checkpoint, JSON text), and a state_dict of the other family is sent
to the right --from. The output is checked before converting (its folder
exists and is writable, it is not a folder) and written through a fresh
temporary file beside it, which is removed when anything fails.

Exit status: 0 on success, 1 for an unreadable or unrecognised input or a
failure writing the output, 2 for usage errors: a recognised checkpoint that
WaveKit cannot represent, missing, invalid or contradictory settings
(--hparams, --stacks, --preset), the wrong --from, or an unusable output path.

Needs torch and numpy; the safetensors package, when installed, reads the
written file back as a check (tools/venv.sh installs all three).
"""

import argparse
import json
import math
import os
import re
import sys
import tempfile

R9Y9_LOG_SCALE_MIN_MOL = -32.23619130191664        # float(np.log(1e-14))
R9Y9_LOG_SCALE_MIN_GAUSSIAN = -16.11809565095832   # float(np.log(1e-7))

# WaveKit's mel presets (Sources/DSP/MelPreset.swift): name -> (n_mels, hop, sample rate).
PRESETS = {"tacotron2": (80, 256, 22050), "16k": (80, 200, 16000),
           "r9y9": (80, 256, 22050), "torchaudio": (128, 200, 16000)}
KNOWN_PRESETS = list(PRESETS)

# WaveGlow's mel upsampler: NVIDIA's ConvTranspose1d stride (not stored in the weights).
WAVEGLOW_HOP = 256
WAVEGLOW_SAMPLE_RATE = 22050

# r9y9's LJSpeech audio hparams, which is what WaveKit's "r9y9" mel preset is.
R9Y9_AUDIO = {"sample_rate": 22050, "fft_size": 1024, "hop_size": 256,
              "num_mels": 80, "fmin": 125, "fmax": 7600}


ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


class ConvertError(Exception):
    """A failure with a message for the user and an exit status."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


def log(msg):
    print(msg, file=sys.stderr)


# ---------------------------------------------------------------------- loading

def file_kind(head):
    """What the first bytes of a file say it is (as Sources/TensorCore/FileSignature.swift):
    "WAV" / "FLAC" / "Ogg" / "AIFF" audio, "numpy", "safetensors", "pytorch", or None."""
    if head[:4] in (b"RIFF", b"RF64") and (len(head) < 12 or head[8:12] == b"WAVE"):
        return "WAV"
    if head.startswith(b"fLaC"):
        return "FLAC"
    if head.startswith(b"OggS"):
        return "Ogg"
    if head.startswith(b"FORM") and (len(head) < 12 or head[8:12] in (b"AIFF", b"AIFC")):
        return "AIFF"
    if head.startswith(b"\x93NUMPY"):
        return "numpy"
    if head.startswith(b"PK\x03\x04") or (len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5):
        return "pytorch"    # torch.save's zip archive, or its older plain pickle
    if len(head) >= 9 and head[8:9] == b"{" and head[4:8] == b"\0\0\0\0":
        return "safetensors"
    return None


def safetensors_family(path):
    """wavekit.family from a safetensors file's metadata, or None."""
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if n > 100_000_000:
                return None
            meta = json.loads(f.read(n).decode("utf-8")).get("__metadata__") or {}
        return meta.get("wavekit.family") if isinstance(meta, dict) else None
    except (OSError, ValueError, AttributeError):
        return None


def check_input_file(path, what):
    """Refuses, from its first bytes, a SRC that is no PyTorch checkpoint: a folder, an
    empty file, audio, a NumPy array, a safetensors file, JSON text. `what` is
    ".pth" or ".pt" (the file the source repository writes)."""
    if not os.path.exists(path):
        raise ConvertError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ConvertError(f"{path}: is a folder, expected a {what} checkpoint file")
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise ConvertError(f"{path}: cannot read it ({e.strerror})")
    if not head:
        raise ConvertError(f"{path}: is empty (0 bytes), not a PyTorch checkpoint (an interrupted "
                           f"download or save?); give the {what} file the model was saved to")
    kind = file_kind(head)
    if kind in ("WAV", "FLAC", "Ogg", "AIFF"):
        raise ConvertError(f"{path}: is {'an' if kind in ('Ogg', 'AIFF') else 'a'} {kind} audio file, "
                           f"not a PyTorch checkpoint; give the model's {what} checkpoint (audio is "
                           "vocoded with `wavekit vocode AUDIO --checkpoint DST.safetensors`)")
    if kind == "numpy":
        raise ConvertError(f"{path}: is a NumPy array (.npy), not a PyTorch checkpoint; give the "
                           f"model's {what} checkpoint (a mel .npy is vocoded with "
                           "`wavekit vocode MEL.npy --checkpoint DST.safetensors`)")
    if kind == "safetensors":
        family = safetensors_family(path)
        if family:
            raise ConvertError(f"{path}: is already a WaveKit checkpoint ({family}, safetensors); it "
                               "needs no conversion: give it to wavekit as it is", 2)
        raise ConvertError(f"{path}: is a safetensors file, not a PyTorch checkpoint; this converter "
                           f"reads the {what} files that r9y9/wavenet_vocoder and NVIDIA/waveglow save "
                           "(WaveKit reads its own safetensors checkpoints directly)", 2)
    if kind is None and head.lstrip()[:1] in (b"{", b"["):
        raise ConvertError(f"{path}: is JSON text, not a PyTorch checkpoint (r9y9 hparams go to "
                           f"--hparams); give the model's {what} checkpoint")


def torch_load_failure(path, e):
    """The message for a torch.load failure that is not about pickled objects."""
    text = ANSI_RE.sub("", str(e)).strip()
    if isinstance(e, EOFError) or "failed finding central directory" in text:
        return ConvertError(f"{path}: the file ends before the checkpoint does (truncated? an "
                            "interrupted download or save)")
    return ConvertError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}"
                        + (f": {text.splitlines()[0]})" if text else ")"))


def torch_load(path, **kwargs):
    """torch.load from an open file: given a path ending in .safetensors, torch reads it as
    safetensors whatever it holds; the file's bytes were checked by check_input_file."""
    import torch
    with open(path, "rb") as f:
        return torch.load(f, map_location="cpu", **kwargs)


def looks_like_waveglow(tensors):
    return "upsample.weight" in tensors and any(k.startswith(("convinv.", "WN.")) for k in tensors)


def looks_like_wavenet(tensors):
    return (any(k.startswith("first_conv.") for k in tensors)
            and any(k.startswith("conv_layers.") for k in tensors))


def load_checkpoint(path, trust_pickle, source=None):
    check_input_file(path, ".pth")
    try:
        obj = torch_load(path, weights_only=not trust_pickle)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds
        text = str(e)
        if source == "r9y9-wavenet" and re.search(r"\bglow\b|waveglow", text, re.IGNORECASE):
            raise ConvertError(f"{path}: this looks like an NVIDIA WaveGlow checkpoint (it pickles "
                               "glow.WaveGlow); convert it with --from nvidia-waveglow", 2)
        if not trust_pickle and ("weights_only" in text or "Unsupported global" in text
                                 or "WeightsUnpickler" in text):
            why = next((ln.strip() for ln in text.splitlines() if "Unsupported global" in ln
                        or "WeightsUnpickler error" in ln), "")
            why = ANSI_RE.sub("", why)
            raise ConvertError(
                f"{path}: the checkpoint holds Python objects that torch.load only reads with "
                f"weights_only=False. If you trust the file, rerun with --trust-pickle."
                + (f"\n(torch: {why})" if why else ""))
        raise torch_load_failure(path, e)
    return obj


def extract_state_dict(obj, path):
    import torch
    sd = obj
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                sd = obj[key]
                break
    if not isinstance(sd, dict) or not sd:
        raise ConvertError(f"{path}: holds no state_dict (found {type(obj).__name__})")
    return state_dict_tensors(sd, path)[0]


def state_dict_tensors(sd, path):
    """The tensors of a state_dict, without the "module." prefix that DataParallel and
    DistributedDataParallel add; returns (tensors, whether the prefix was removed)."""
    import torch
    tensors = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ConvertError(f"{path}: the state_dict holds no tensors")
    prefixed = all(k.startswith("module.") for k in tensors)
    if prefixed:
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors, prefixed


PARAM_RE = re.compile(r"^(.*)\.parametrizations\.weight\.original([01])$")


def normalise_names(tensors):
    """parametrizations.weight.original0/1 -> weight_g / weight_v."""
    out = {}
    for k, v in tensors.items():
        m = PARAM_RE.match(k)
        if m:
            k = f"{m.group(1)}.weight_{'g' if m.group(2) == '0' else 'v'}"
        if k in out:
            raise ConvertError(f"tensor {k} appears twice (both weight-norm spellings?)")
        out[k] = v
    return out


def fold_conditioning_biases(tensors):
    """r9y9's 2018 ResidualConv1dGLU gave its 1x1 conditioning convolutions biases
    (conv1x1c.bias, conv1x1g.bias); the current code and WaveKit have none. Each layer's
    gate input is conv(x) + conv1x1c(c) + conv1x1g(g), so a conditioning bias adds to
    conv.bias exactly. Folds them in place; returns how many were folded."""
    folded = 0
    for key in sorted(k for k in list(tensors) if re.fullmatch(r"conv_layers\.\d+\.conv1x1[cg]\.bias", k)):
        target = key.rsplit(".", 2)[0] + ".conv.bias"
        if target not in tensors:
            raise ConvertError(f"{key} has no {target} to fold into", 2)
        if tuple(tensors[key].shape) != tuple(tensors[target].shape):
            raise ConvertError(f"{key} has shape {list(tensors[key].shape)} but {target} has "
                               f"{list(tensors[target].shape)}", 2)
        # summed in float64 (WaveKit stores float32): exact for any source precision
        tensors[target] = (tensors[target].double() + tensors.pop(key).double()).float()
        folded += 1
    return folded


def is_weight_normed_module(prefix):
    """Whether r9y9 weight-normalises the module at `prefix`."""
    return (prefix == "first_conv"
            or re.fullmatch(r"conv_layers\.\d+\.(conv|conv1x1c|conv1x1g|conv1x1_out|conv1x1_skip)", prefix)
            or re.fullmatch(r"last_conv_layers\.\d+", prefix)
            or re.fullmatch(r"upsample_net\.upsample\.up_layers\.\d+", prefix)
            or re.fullmatch(r"upsample_net\.up_layers\.\d+", prefix)
            or re.fullmatch(r"upsample_conv\.\d+", prefix))


def restore_weight_norm(tensors):
    """A plain `weight` of a weight-normed module -> weight_g (norm over all but
    dim 0, as weight_norm's default dim=0; for the 2018 ConvTranspose2d weight
    [1, 1, k, s] that is one norm over all taps, g [1, 1, 1, 1]) and weight_v
    (= weight). Returns the names it changed."""
    import torch
    changed = []
    for k in list(tensors):
        if not k.endswith(".weight"):
            continue
        prefix = k[:-len(".weight")]
        if not is_weight_normed_module(prefix):
            continue
        if f"{prefix}.weight_g" in tensors or f"{prefix}.weight_v" in tensors:
            raise ConvertError(f"{prefix} has both a plain weight and weight_g/weight_v")
        w = tensors.pop(k)
        dims = tuple(range(1, w.dim()))
        g = torch.linalg.vector_norm(w.double(), dim=dims, keepdim=True).to(w.dtype)
        tensors[f"{prefix}.weight_g"] = g
        tensors[f"{prefix}.weight_v"] = w
        changed.append(prefix)
    return changed


# ---------------------------------------------------------------------- hparams

def split_pairs(text):
    """"a=1,b=[2,3]" -> ["a=1", "b=[2,3]"]: commas inside brackets or quotes do not split."""
    items, depth, quote, cur = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth <= 0:
            items.append(cur)
            cur = ""
            continue
        cur += ch
    return [s.strip() for s in items + [cur] if s.strip()]


def parse_hparams(text):
    if text is None:
        return None
    if os.path.isdir(text):
        raise ConvertError(f"--hparams {text}: is a folder, expected r9y9's hparams as a JSON file, "
                           "an inline JSON object or name=value,name=value", 2)
    if os.path.exists(text):
        try:
            with open(text, encoding="utf-8") as f:
                raw = f.read()
        except UnicodeDecodeError:
            raise ConvertError(f"--hparams {text}: not a text file (not UTF-8); expected r9y9's "
                               "hparams as JSON", 2) from None
        except OSError as e:
            raise ConvertError(f"--hparams {text}: cannot read it ({e.strerror})", 2) from None
        try:
            hp = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ConvertError(f"--hparams {text}: not valid JSON ({e})", 2) from None
    elif text.lstrip().startswith("{"):
        try:
            hp = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConvertError(f"--hparams: not valid JSON ({e})", 2) from None
    else:
        hp = {}
        for item in split_pairs(text):
            if "=" not in item:
                if "=" not in text and re.search(r"\.(json|py|ya?ml|txt)$|/", text):
                    raise ConvertError(f"--hparams {text}: no such file", 2)
                raise ConvertError(f"--hparams: '{text}' is neither a file, a JSON object nor "
                                   f"name=value pairs", 2)
            name, value = item.split("=", 1)
            try:
                hp[name.strip()] = json.loads(value)
            except json.JSONDecodeError:
                hp[name.strip()] = value.strip().strip("'\"")
    if not isinstance(hp, dict):
        raise ConvertError("--hparams: expected a JSON object of r9y9 hparams", 2)
    return typed_hparams(hp)


# The hparams the converter reads, by type (r9y9's names; -1 means "none" for cin/gin_channels).
HP_INTEGERS = ("layers", "stacks", "residual_channels", "gate_channels", "skip_out_channels",
               "kernel_size", "out_channels", "cin_channels", "gin_channels", "cin_pad",
               "n_speakers", "freq_axis_kernel_size")


def hp_integer(value, name):
    """An integer hparam: an int, an integral float (2.0) or a string of digits; not a
    boolean, 2.7 or "two"."""
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return value
    elif isinstance(value, float) and value.is_integer():
        return int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise ConvertError(f"--hparams: {name} must be an integer, got {json.dumps(value)}", 2)


def hp_integers(value, name):
    if not isinstance(value, (list, tuple)):
        raise ConvertError(f"--hparams: {name} must be a list of integers, got {json.dumps(value)}", 2)
    return [hp_integer(v, name) for v in value]


def typed_hparams(hp):
    """Checks and normalises the types of the hparams the converter reads (the rest is
    passed through): integers, upsample_scales as integers, upsample_params an object,
    input_type / output_distribution / upsample_net strings, log_scale_min a finite
    number, legacy a boolean."""
    hp = dict(hp)
    for k in HP_INTEGERS:
        if hp.get(k) is not None:
            hp[k] = hp_integer(hp[k], k)
    if hp.get("upsample_scales") is not None:
        hp["upsample_scales"] = hp_integers(hp["upsample_scales"], "upsample_scales")
    up = hp.get("upsample_params")
    if up is not None:
        if not isinstance(up, dict):
            raise ConvertError("--hparams: upsample_params must be an object (r9y9's "
                               f'{{"upsample_scales": [...], "cin_pad": ...}}), got {json.dumps(up)}', 2)
        up = dict(up)
        if up.get("upsample_scales") is not None:
            up["upsample_scales"] = hp_integers(up["upsample_scales"], "upsample_params.upsample_scales")
        for k in ("freq_axis_kernel_size", "cin_pad", "cin_channels"):
            if up.get(k) is not None:
                up[k] = hp_integer(up[k], f"upsample_params.{k}")
        hp["upsample_params"] = up
    for k in ("input_type", "output_distribution", "upsample_net"):
        if hp.get(k) is not None and not isinstance(hp[k], str):
            raise ConvertError(f"--hparams: {k} must be a string, got {json.dumps(hp[k])}", 2)
    v = hp.get("log_scale_min")
    if v is not None:
        try:
            if isinstance(v, bool):
                raise ValueError
            f = float(v)
            if not math.isfinite(f):
                raise ValueError
        except (TypeError, ValueError):
            raise ConvertError(f"--hparams: log_scale_min must be a number (r9y9's default for mol is "
                               f"{R9Y9_LOG_SCALE_MIN_MOL}), got {json.dumps(v)}", 2) from None
        hp["log_scale_min"] = f
    v = hp.get("legacy")
    if v is not None:
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            v = v.strip().lower() == "true"
        elif isinstance(v, int) and not isinstance(v, bool) and v in (0, 1):
            v = bool(v)
        if not isinstance(v, bool):
            raise ConvertError(f"--hparams: legacy must be true or false, got {json.dumps(hp['legacy'])}", 2)
        hp["legacy"] = v
    return hp


def same_number(value, want):
    """Whether an hparams value is the number `want` (null, text and booleans are not)."""
    if isinstance(value, bool):
        return False
    try:
        return float(value) == float(want)
    except (TypeError, ValueError):
        return False


def infer_mel_preset(hp):
    if hp is None:
        return None
    if all(k in hp and same_number(hp[k], v) for k, v in R9Y9_AUDIO.items()):
        return "r9y9"
    return None


def preset_misfit(name, n_mels, hop, sample_rate=None):
    """Why the preset does not fit a model of n_mels bands, `hop` samples per frame (None:
    no upsampler, any hop) and sample_rate (None: any); None when it fits."""
    p_mels, p_hop, p_rate = PRESETS[name]
    why = []
    if p_mels != n_mels:
        why.append(f"{p_mels} mel bands, the model {n_mels}")
    if hop is not None and p_hop != hop:
        why.append(f"hop {p_hop}, the model {hop}")
    if sample_rate is not None and p_rate != sample_rate:
        why.append(f"{p_rate} Hz, the model {sample_rate} Hz")
    return ", ".join(why) or None


def choose_mel_preset(preset, default, n_mels, hop, sample_rate, what, default_from):
    """The preset to record: --preset (refused when it does not fit the model), else the
    default when there is one and it fits, else None with a note. `hop` None: no
    upsampler (any hop fits); `sample_rate` None: any rate fits."""
    fits = [n for n in PRESETS if preset_misfit(n, n_mels, hop, sample_rate) is None]
    parts = ([f"{n_mels} mel bands"] + ([f"hop {hop}"] if hop is not None else [])
             + ([f"{sample_rate} Hz"] if sample_rate is not None else []))
    model = " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else parts[0]
    no_preset = ("; WaveKit will need one to compute conditioning from audio" if fits
                 else "; without an upsampler it takes conditioning at the sample rate, which `wavekit "
                 "vocode` does not make: use it from Swift with conditioning of your own" if hop == 1
                 else "; vocode it from mel-spectrograms (.npy) computed as in training, not from audio")
    if preset is not None:
        why = preset_misfit(preset, n_mels, hop, sample_rate)
        if why:
            raise ConvertError(f"--preset {preset} does not fit this {what} ({why}); "
                               + (f"pass one that fits ({', '.join(fits)}) or leave --preset out to "
                                  "record none" if fits else
                                  f"none of WaveKit's presets has {model}: leave --preset out to "
                                  "record none"), 2)
        return preset
    if default is not None:
        why = preset_misfit(default, n_mels, hop, sample_rate)
        if why is None:
            return default
        log(f"note: no mel preset recorded: {default_from} {default} does not fit the model ({why}); "
            + (f"pass --preset NAME if it was trained on one that fits ({', '.join(fits)})" if fits
               else f"none of WaveKit's presets has {model}") + no_preset)
    else:
        log("note: no mel preset recorded ("
            + (f"pass --preset NAME; presets that fit: {', '.join(fits)}" if fits
               else f"none of WaveKit's presets has {model}") + ")" + no_preset)
    return None


# ------------------------------------------------------------------ the network

def shape(t):
    return tuple(int(s) for s in t.shape)


def infer_wavenet_config(tensors, hp, stacks_opt, preset):
    def need(name):
        if name not in tensors:
            raise ConvertError(f"not an r9y9 WaveNet checkpoint: missing tensor {name}")
        return tensors[name]

    has_first = "first_conv.weight_v" in tensors
    has_layers = any(k.startswith("conv_layers.") for k in tensors)
    if not (has_first and has_layers):
        sample = ", ".join(sorted(tensors)[:6])
        raise ConvertError("not an r9y9 WaveNet checkpoint: expected first_conv.weight_v and "
                           f"conv_layers.N.* tensors, found {len(tensors)} tensors ({sample}, ...)")

    fv = need("first_conv.weight_v")
    residual, in_channels = shape(fv)[0], shape(fv)[1]
    scalar_input = in_channels == 1

    idx = sorted({int(m.group(1)) for k in tensors if (m := re.match(r"conv_layers\.(\d+)\.", k))})
    layers = len(idx)
    if idx != list(range(layers)):
        raise ConvertError(f"conv_layers indices are not 0..{layers - 1}: {idx}")

    cw = need("conv_layers.0.conv.weight_v")
    gate, r_in, kernel = shape(cw)
    if r_in != residual:
        raise ConvertError(f"conv_layers.0.conv takes {r_in} channels, first_conv gives {residual}")
    skip = shape(need("conv_layers.0.conv1x1_skip.weight_v"))[0]
    out_w = need("last_conv_layers.3.weight_v")
    out_channels = shape(out_w)[0]
    if gate % 2:
        raise ConvertError(f"gate channels {gate} are odd")

    cin = shape(tensors["conv_layers.0.conv1x1c.weight_v"])[1] if "conv_layers.0.conv1x1c.weight_v" in tensors else None
    gin = shape(tensors["conv_layers.0.conv1x1g.weight_v"])[1] if "conv_layers.0.conv1x1g.weight_v" in tensors else None
    n_speakers = None
    if "embed_speakers.weight" in tensors:
        n_speakers, emb_dim = shape(tensors["embed_speakers.weight"])
        if gin is None or emb_dim != gin:
            raise ConvertError(f"embed_speakers is {n_speakers}x{emb_dim} but the layers take "
                               f"gin_channels={gin}")
    elif gin is not None:
        raise ConvertError(f"the layers take global conditioning (gin_channels={gin}) but there is "
                           "no embed_speakers table; WaveKit needs speaker ids and an embedding", 2)

    # every layer must have the same shapes (dilations aside)
    for i in idx:
        for name, ref in (("conv", cw), ("conv1x1_skip", tensors["conv_layers.0.conv1x1_skip.weight_v"])):
            t = need(f"conv_layers.{i}.{name}.weight_v")
            if shape(t) != shape(ref):
                raise ConvertError(f"conv_layers.{i}.{name} has shape {shape(t)}, layer 0 {shape(ref)}")
        need(f"conv_layers.{i}.conv1x1_out.weight_v")

    # upsampling network: r9y9's current upsample_net (conv_in) or the 2018 upsample_conv list
    upsample_scales, cin_pad = None, 0
    upsample_layout, freq_axis_kernel_size = "conv_in", 1
    ups_keys = [k for k in tensors if k.startswith("upsample_net.")]
    convt_keys = [k for k in tensors if k.startswith("upsample_conv.")]
    if ups_keys and convt_keys:
        raise ConvertError("the checkpoint has both an upsample_net (current layout) and "
                           "upsample_conv (2018 layout) tensors")
    if convt_keys:
        upsample_layout = "transposed"
        if cin is None:
            raise ConvertError("upsample_conv layers without local conditioning (conv1x1c) layers")
        convs = sorted({int(m.group(1)) for k in convt_keys
                        if (m := re.match(r"upsample_conv\.(\d+)\.weight_v$", k))})
        if not convs:
            raise ConvertError("upsample_conv has no ConvTranspose2d weights (upsample_conv.N.weight_v)")
        expected = [2 * j for j in range(len(convs))]
        if convs != expected:
            raise ConvertError(f"upsample_conv transposed convolutions sit at {convs}, not {expected} "
                               "(each should be followed by one ReLU)", 2)
        upsample_scales = []
        for j in convs:
            w = shape(tensors[f"upsample_conv.{j}.weight_v"])
            if len(w) != 4 or w[0] != 1 or w[1] != 1:
                raise ConvertError(f"upsample_conv.{j} weight has shape {w}, expected [1, 1, k, s] "
                                   "(ConvTranspose2d(1, 1, (k, s)))")
            if j == 0:
                freq_axis_kernel_size = w[2]
            elif w[2] != freq_axis_kernel_size:
                raise ConvertError(f"upsample_conv.{j} has freq-axis kernel {w[2]}, upsample_conv.0 "
                                   f"{freq_axis_kernel_size}", 2)
            if w[2] % 2 != 1:
                raise ConvertError(f"upsample_conv.{j} has an even freq-axis kernel ({w[2]}): the "
                                   "output would have a different number of mel bands")
            if w[3] < 1:
                raise ConvertError(f"upsample_conv.{j} has kernel width {w[3]}")
            g = f"upsample_conv.{j}.weight_g"
            if g in tensors and shape(tensors[g]) != (1, 1, 1, 1):
                raise ConvertError(f"{g} has shape {shape(tensors[g])}, expected [1, 1, 1, 1] "
                                   "(weight norm over dim 0 of a ConvTranspose2d(1, 1, ...) weight)")
            b = f"upsample_conv.{j}.bias"
            if b in tensors and shape(tensors[b]) != (1,):
                raise ConvertError(f"{b} has shape {shape(tensors[b])}, expected [1]")
            upsample_scales.append(w[3])
        log("note: r9y9's 2018 layout (upsample_conv ConvTranspose2d upsampling, "
            f"scales {upsample_scales}, freq_axis_kernel_size {freq_axis_kernel_size})")
    if ups_keys:
        if cin is None:
            raise ConvertError("an upsample_net without local conditioning (conv1x1c) layers")
        if "upsample_net.conv_in.weight" not in tensors:
            raise ConvertError("upsample_net without conv_in: r9y9's plain UpsampleNetwork is not "
                               "supported, only ConvInUpsampleNetwork", 2)
        ci = shape(tensors["upsample_net.conv_in.weight"])
        if ci[0] != cin or ci[1] != cin or ci[2] % 2 != 1:
            raise ConvertError(f"upsample_net.conv_in.weight has shape {ci}, expected [{cin}, {cin}, odd]")
        cin_pad = (ci[2] - 1) // 2
        ups = sorted({int(m.group(1)) for k in ups_keys
                      if (m := re.match(r"upsample_net\.upsample\.up_layers\.(\d+)\.weight_v$", k))})
        if not ups:
            raise ConvertError("upsample_net has no up_layers convolutions")
        expected = [2 * j + 1 for j in range(len(ups))]
        if ups != expected:
            raise ConvertError(f"upsample up_layers convolutions sit at {ups}, not {expected}: "
                               "an upsample_activation between the stages is not supported", 2)
        upsample_scales = []
        for j in ups:
            w = shape(tensors[f"upsample_net.upsample.up_layers.{j}.weight_v"])
            if len(w) != 4 or w[0] != 1 or w[1] != 1:
                raise ConvertError(f"up_layers.{j} weight has shape {w}, expected [1, 1, 1, 2s+1]")
            if w[2] != 1:
                raise ConvertError(f"up_layers.{j} has freq_axis_kernel_size {w[2]}; WaveKit supports 1", 2)
            if w[3] % 2 != 1 or w[3] < 3:
                raise ConvertError(f"up_layers.{j} kernel width {w[3]} is not 2s+1")
            upsample_scales.append((w[3] - 1) // 2)

    # output distribution
    if not scalar_input:
        if in_channels != out_channels:
            raise ConvertError(f"one-hot input of {in_channels} classes but {out_channels} outputs")
        dist = "mulaw"
        if out_channels != 256:
            log(f"note: {out_channels}-class mu-law quantisation (r9y9 quantize_channels={out_channels})")
    elif out_channels == 2:
        dist = "gaussian"
    elif out_channels % 3 == 0:
        dist = "mol"
    else:
        raise ConvertError(f"scalar input with {out_channels} outputs is neither a mixture of "
                           "logistics (3K) nor a Gaussian (2)", 2)

    # settings the shapes cannot tell: hparams / options
    hp = hp or {}
    log_scale_min = None
    if hp:
        checks = {"layers": layers, "residual_channels": residual, "gate_channels": gate,
                  "skip_out_channels": skip, "kernel_size": kernel, "out_channels": out_channels}
        if cin is not None:
            checks["cin_channels"] = cin
        if gin is not None:
            checks["gin_channels"] = gin
        if cin is not None and "cin_pad" in hp:
            checks["cin_pad"] = cin_pad
        if n_speakers is not None and hp.get("n_speakers") is not None:
            checks["n_speakers"] = n_speakers
        bad = []
        for k, v in checks.items():
            if k in hp and hp[k] is not None and int(hp[k]) != v:
                bad.append(f"{k}: hparams {hp[k]}, checkpoint {v}")
        ups_hp = (hp.get("upsample_params") or {}).get("upsample_scales", hp.get("upsample_scales"))
        if upsample_scales is not None and ups_hp is not None and list(map(int, ups_hp)) != upsample_scales:
            bad.append(f"upsample_scales: hparams {ups_hp}, checkpoint {upsample_scales}")
        # r9y9's 2018 code read a top-level freq_axis_kernel_size; the current code only
        # upsample_params' (a stale top-level value is ignored there)
        fak_hp = (hp.get("freq_axis_kernel_size") if upsample_layout == "transposed"
                  else (hp.get("upsample_params") or {}).get("freq_axis_kernel_size"))
        if upsample_scales is not None and fak_hp is not None and int(fak_hp) != freq_axis_kernel_size:
            bad.append(f"freq_axis_kernel_size: hparams {fak_hp}, checkpoint {freq_axis_kernel_size}")
        un_hp = hp.get("upsample_net")
        if upsample_layout == "transposed" and un_hp is not None:
            bad.append(f"upsample_net: hparams {un_hp}, checkpoint has the 2018 upsample_conv layout")
        itype = hp.get("input_type")
        if itype is not None:
            if itype == "mulaw-quantize" and dist != "mulaw":
                bad.append(f"input_type: hparams mulaw-quantize, checkpoint has scalar input")
            if itype in ("raw", "mulaw") and dist == "mulaw":
                bad.append(f"input_type: hparams {itype}, checkpoint has one-hot input")
            if itype == "mulaw" and dist != "mulaw":
                raise ConvertError("input_type 'mulaw' (mu-law companded scalar samples) is not "
                                   "supported: WaveKit's mol / gaussian WaveNets read and write raw "
                                   "samples", 2)
        od = hp.get("output_distribution")
        if od is not None and dist != "mulaw":
            want = {"Logistic": "mol", "Normal": "gaussian"}.get(od)
            if want is None:
                bad.append(f"output_distribution: unknown value {od!r}")
            elif want != dist:
                bad.append(f"output_distribution: hparams {od}, checkpoint shapes say {dist}")
        if bad:
            raise ConvertError("the hparams disagree with the checkpoint:" + ("\n  " if len(bad) > 1 else " ")
                               + "\n  ".join(bad), 2)
        if hp.get("log_scale_min") is not None:
            log_scale_min = float(hp["log_scale_min"])

    stacks = stacks_opt
    if hp.get("stacks") is not None:
        if stacks is not None and int(hp["stacks"]) != stacks:
            raise ConvertError(f"--stacks {stacks} contradicts hparams stacks={hp['stacks']}", 2)
        stacks = int(hp["stacks"])
    if stacks is None:
        raise ConvertError(
            f"the checkpoint has {layers} layers but the number of dilation cycles (stacks) is not "
            "stored in the weights. Pass --stacks N or --hparams with the model's r9y9 hparams "
            f"(r9y9's default hparams have 24 layers in 4 stacks; possible here: "
            f"{[s for s in range(1, layers + 1) if layers % s == 0]}).", 2)
    if stacks < 1:
        raise ConvertError(f"stacks must be at least 1, got {stacks}", 2)
    if layers % stacks:
        raise ConvertError(f"layers ({layers}) must be a multiple of stacks ({stacks})", 2)

    # r9y9's 2018 code combined skips as (skips + h) * sqrt(0.5) per layer (hparams legacy=True,
    # its default and the only behaviour before June 2018) or as a plain sum (legacy=False);
    # the current code multiplies the sum by sqrt(1/layers). Recorded as "legacy" (absent: current).
    legacy = None
    if upsample_layout == "transposed":
        legacy = hp["legacy"] if hp.get("legacy") is not None else True
        log(f"note: 2018 layout: skip connections combined with legacy={legacy}, recorded in the config"
            + ("" if hp.get("legacy") is not None
               else " (r9y9's 2018 default; pass --hparams with legacy to override)"))

    if log_scale_min is None:
        log_scale_min = R9Y9_LOG_SCALE_MIN_MOL if dist == "mol" else R9Y9_LOG_SCALE_MIN_GAUSSIAN

    if cin is None:
        if preset is not None:
            raise ConvertError(f"--preset {preset}: this WaveNet takes no mel (it has no conv1x1c "
                               "layers), so it has no mel preset; leave --preset out", 2)
        mel_preset = None
    else:
        # Without an upsampler the model takes conditioning at the sample rate (hop 1), which
        # no mel preset gives.
        hop = math.prod(upsample_scales) if upsample_scales is not None else 1
        mel_preset = choose_mel_preset(preset, infer_mel_preset(hp), cin, hop, None, "WaveNet",
                                       "the hparams' audio settings are r9y9's preset, but")

    return {
        "out_channels": out_channels,
        "layers": layers,
        "stacks": stacks,
        "residual_channels": residual,
        "gate_channels": gate,
        "skip_out_channels": skip,
        "kernel_size": kernel,
        "cin_channels": cin,
        "gin_channels": gin,
        "n_speakers": n_speakers,
        "upsample_scales": upsample_scales,
        "cin_pad": int(cin_pad),
        "upsample_layout": upsample_layout,
        "freq_axis_kernel_size": int(freq_axis_kernel_size),
        "scalar_input": bool(scalar_input),
        "output_distribution": dist,
        "log_scale_min": float(log_scale_min),
        "mel_preset": mel_preset,
        **({"legacy": legacy} if legacy is not None else {}),
    }


def wavenet_expected_shapes(cfg):
    """Every tensor of r9y9's WaveNet for `cfg` and its shape (weight-normed convolutions
    as weight_g [out, 1, ...] / weight_v, as nn.utils.weight_norm's dim=0 stores them)."""
    R, G, S, K = (cfg["residual_channels"], cfg["gate_channels"], cfg["skip_out_channels"],
                  cfg["kernel_size"])
    out, cin, gin = cfg["out_channels"], cfg["cin_channels"], cfg["gin_channels"]
    want = {}

    def conv(prefix, n_out, n_in, k, bias=True):
        want[prefix + ".weight_g"] = (n_out, 1, 1)
        want[prefix + ".weight_v"] = (n_out, n_in, k)
        if bias:
            want[prefix + ".bias"] = (n_out,)

    conv("first_conv", R, 1 if cfg["scalar_input"] else out, 1)
    for i in range(cfg["layers"]):
        p = f"conv_layers.{i}."
        conv(p + "conv", G, R, K)
        if cin is not None:
            conv(p + "conv1x1c", G, cin, 1, bias=False)
        if gin is not None:
            conv(p + "conv1x1g", G, gin, 1, bias=False)
        conv(p + "conv1x1_out", R, G // 2, 1)
        conv(p + "conv1x1_skip", S, G // 2, 1)
    conv("last_conv_layers.1", S, S, 1)
    conv("last_conv_layers.3", out, S, 1)
    if cfg["n_speakers"] is not None:
        want["embed_speakers.weight"] = (cfg["n_speakers"], gin)
    scales = cfg["upsample_scales"] or []
    if cfg["upsample_scales"] is not None and cfg["upsample_layout"] == "transposed":
        for j, sc in enumerate(scales):
            want[f"upsample_conv.{2 * j}.weight_g"] = (1, 1, 1, 1)
            want[f"upsample_conv.{2 * j}.weight_v"] = (1, 1, cfg["freq_axis_kernel_size"], sc)
            want[f"upsample_conv.{2 * j}.bias"] = (1,)
    elif cfg["upsample_scales"] is not None:
        want["upsample_net.conv_in.weight"] = (cin, cin, 2 * cfg["cin_pad"] + 1)
        for j, sc in enumerate(scales):
            want[f"upsample_net.upsample.up_layers.{2 * j + 1}.weight_g"] = (1, 1, 1, 1)
            want[f"upsample_net.upsample.up_layers.{2 * j + 1}.weight_v"] = (1, 1, 1, 2 * sc + 1)
    return want


def expected_keys(cfg):
    return set(wavenet_expected_shapes(cfg))


def shape_problems(tensors, want):
    """'NAME has shape [..], expected [..]' (or 'missing NAME') for every tensor of `want`
    (name -> shape) that `tensors` lacks or holds in another shape."""
    bad = []
    for name, shp in want.items():
        t = tensors.get(name)
        if t is None:
            bad.append(f"missing {name}")
        elif shape(t) != tuple(shp):
            bad.append(f"{name} has shape {list(shape(t))}, expected {list(shp)}")
    return bad


def refuse_shape_problems(bad, what):
    if len(bad) == 1:
        raise ConvertError(f"{what}: {bad[0]}")
    if bad:
        raise ConvertError(f"{what}:\n  " + "\n  ".join(bad[:10]) + ("\n  ..." if len(bad) > 10 else ""))


def convert_r9y9_wavenet(src, dst, hparams=None, stacks=None, preset=None, trust_pickle=False):
    import numpy as np

    hp = parse_hparams(hparams)
    obj = load_checkpoint(src, trust_pickle, "r9y9-wavenet")
    tensors = extract_state_dict(obj, src)
    if looks_like_waveglow(tensors) and not looks_like_wavenet(tensors):
        raise ConvertError(f"{src}: this is an NVIDIA WaveGlow checkpoint (upsample.weight, WN.N.*, "
                           "convinv.N.* tensors); convert it with --from nvidia-waveglow", 2)
    tensors = normalise_names(tensors)
    folded = fold_conditioning_biases(tensors)
    if folded:
        log(f"note: {folded} conditioning biases (conv1x1c.bias / conv1x1g.bias, as r9y9's 2018 "
            "code had) folded into conv.bias: the three outputs are summed before the gate, so "
            "this is exact")
    restored = restore_weight_norm(tensors)
    if restored:
        log(f"note: {len(restored)} convolutions had weight norm removed; stored as "
            "weight_g = ||weight||, weight_v = weight")
    cfg = infer_wavenet_config(tensors, hp, stacks, preset)

    want = wavenet_expected_shapes(cfg)
    check_keys(src, tensors, set(want), "WaveNet")
    refuse_shape_problems(shape_problems(tensors, want), "the tensors do not fit one r9y9 WaveNet")

    out = float32_tensors(tensors)

    metadata = {
        "format": "pt",
        "wavekit.family": "wavenet",
        "wavekit.config": json.dumps(cfg, sort_keys=True),
        "wavekit.converted_from": "r9y9-wavenet",
    }
    if isinstance(obj, dict):
        for key in ("global_step", "global_epoch"):
            if isinstance(obj.get(key), (int, np.integer)):
                metadata[f"wavekit.source_{key}"] = str(int(obj[key]))
    return write_converted(out, dst, metadata, cfg)


def write_safetensors(tensors, path, metadata):
    """Writes float32 tensors as safetensors, byte-for-byte reproducibly (the
    safetensors package orders the metadata by a hash map, so its files differ
    from run to run). Names are sorted; the header is padded to 8 bytes."""
    header = {"__metadata__": dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for name in sorted(tensors):
        data = tensors[name].numpy().astype("<f4", copy=False).tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    # written to a fresh temporary file beside PATH (mkstemp: never a file of the user's, nor
    # a link, nor another run's), read back, then renamed: a failure leaves neither the
    # temporary file nor a partial PATH
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                   prefix="." + os.path.basename(path) + ".", suffix=".tmp")
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)          # mkstemp's 0600 would stay on the output
        with os.fdopen(fd, "wb") as f:
            f.write(len(head).to_bytes(8, "little"))
            f.write(head)
            for b in blobs:
                f.write(b)
        # read it back with the reference implementation when it is installed
        try:
            from safetensors import safe_open
        except ImportError:
            log("note: the safetensors package is not installed; the written file was not read back")
        else:
            with safe_open(tmp, framework="np") as f:
                if f.metadata() != metadata or sorted(f.keys()) != sorted(tensors):
                    raise ConvertError(f"{path}: the written file does not read back correctly")
        os.replace(tmp, path)
    except OSError as e:
        raise ConvertError(f"{path}: cannot write it ({e.strerror or e})") from None
    finally:
        if tmp is not None and os.path.lexists(tmp) and not os.path.isdir(tmp):
            try:
                os.remove(tmp)
            except OSError:
                pass


# ------------------------------------------------------------ NVIDIA WaveGlow

# Globals the stand-in unpickler resolves to the real objects: what torch needs
# to rebuild tensors, parameters and containers. Everything else a pickle names
# (NVIDIA's glow.WaveGlow / glow.WN / glow.Invertible1x1Conv, glow_old.*, torch's
# own module classes, weight-norm hooks, and anything unknown) becomes an inert
# stand-in class, so no code from the pickle runs and NVIDIA's glow module is
# not needed.
_REAL_GLOBALS = {
    ("collections", "OrderedDict"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "object"),
    ("builtins", "slice"), ("builtins", "complex"),
    ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "object"),
    ("torch", "Size"), ("torch", "device"),
    ("torch.nn.parameter", "Parameter"),
    ("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"),
}


class _StandIn:
    """Mixin for stand-ins: accepts any constructor arguments and any state."""


def _make_stand_in(module, name):
    import torch

    class StandIn(torch.nn.Module, _StandIn):
        def __init__(self, *args, **kwargs):
            super().__init__()
            self.__dict__["_standin_args"] = args

        def __setstate__(self, state):
            slots = None
            if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)):
                state, slots = state
            if isinstance(state, dict) and "_parameters" in state:
                torch.nn.Module.__setstate__(self, state)
            else:
                torch.nn.Module.__init__(self)
                self.__dict__["_standin_state"] = state
            if slots:
                self.__dict__["_standin_slots"] = slots

        # list / dict protocol for APPENDS / SETITEMS on stand-ins of containers
        def append(self, item):
            self.__dict__.setdefault("_standin_items", []).append(item)

        def extend(self, items):
            self.__dict__.setdefault("_standin_items", []).extend(items)

        def __setitem__(self, key, value):
            self.__dict__.setdefault("_standin_dict", {})[key] = value

    StandIn.__name__ = StandIn.__qualname__ = name
    StandIn.__module__ = "wavekit_standin." + module
    StandIn._standin_for = f"{module}.{name}"
    return StandIn


def _stand_in_pickle_module():
    """A pickle module for torch.load(pickle_module=...) whose Unpickler maps
    every global outside _REAL_GLOBALS (and torch's tensor-rebuild functions,
    storages and dtypes) to a stand-in nn.Module subclass."""
    import pickle
    import types
    import torch

    cache = {}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in _REAL_GLOBALS:
                return super().find_class(module, name)
            if module == "torch._utils" and name.startswith("_rebuild_"):
                return getattr(torch._utils, name)
            if module == "torch" and (name.endswith("Storage")
                                      or isinstance(getattr(torch, name, None), torch.dtype)):
                return getattr(torch, name)
            key = (module, name)
            if key not in cache:
                cache[key] = _make_stand_in(module, name)
            return cache[key]

    mod = types.ModuleType("wavekit_standin_pickle")
    mod.Unpickler = Unpickler
    mod.load = lambda f, **kw: Unpickler(f, **kw).load()
    mod.loads = lambda b, **kw: Unpickler(__import__("io").BytesIO(b), **kw).load()
    mod.UnpicklingError = pickle.UnpicklingError
    mod.__dict__["_standin_classes"] = cache
    return mod


def load_waveglow_checkpoint(path):
    """Returns (state_dict of tensors, description). Reads a plain state_dict
    with torch.load(weights_only=True); a pickled model object (NVIDIA's
    published {"model": WaveGlow}) with the stand-in unpickler."""
    import torch
    import warnings
    check_input_file(path, ".pt")
    try:
        obj = torch_load(path, weights_only=True)
        how = "torch.load(weights_only=True)"
    except Exception as e:  # noqa: BLE001
        text = str(e)
        if not ("weights_only" in text or "Unsupported global" in text or "WeightsUnpickler" in text):
            raise torch_load_failure(path, e)
        pm = _stand_in_pickle_module()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # SourceChangeWarning etc. for stand-in classes
                obj = torch_load(path, weights_only=False, pickle_module=pm)
        except Exception as e2:  # noqa: BLE001
            raise ConvertError(f"{path}: could not read the pickled objects even with stand-in "
                               f"classes ({type(e2).__name__}: {e2})")
        names = sorted(c._standin_for for c in pm._standin_classes.values())
        how = "stand-in unpickler" + (f" (stand-ins for {', '.join(names)})" if names else "")

    model = obj
    if isinstance(obj, dict):
        for key in ("model", "state_dict", "model_state_dict"):
            if key in obj and isinstance(obj[key], (dict, torch.nn.Module)):
                model = obj[key]
                break
    if isinstance(model, torch.nn.Module):
        kind = getattr(type(model), "_standin_for", type(model).__qualname__)
        try:
            sd = model.state_dict()
        except Exception as e:  # noqa: BLE001
            raise ConvertError(f"{path}: the pickled {kind} has no usable state_dict ({e})")
        how += f", model object {kind}"
    elif isinstance(model, dict):
        sd = model
    else:
        raise ConvertError(f"{path}: holds no model or state_dict (found {type(obj).__name__})")
    tensors, prefixed = state_dict_tensors(sd, path)
    if prefixed:
        how += ', "module." prefix removed'
    return tensors, how


WG_WN_RE = re.compile(r"^WN\.\d+\.(start|cond_layer|cond_layers\.\d+|in_layers\.\d+|res_skip_layers\.\d+)$")


def restore_waveglow_weight_norm(tensors):
    """NVIDIA's remove_weightnorm leaves a plain weight on WN.k.start /
    cond_layer(s) / in_layers / res_skip_layers; split it into weight_g =
    ||weight|| per output channel and weight_v = weight."""
    import torch
    changed = []
    for k in list(tensors):
        if not k.endswith(".weight"):
            continue
        prefix = k[:-len(".weight")]
        if not WG_WN_RE.match(prefix):
            continue
        if f"{prefix}.weight_g" in tensors or f"{prefix}.weight_v" in tensors:
            raise ConvertError(f"{prefix} has both a plain weight and weight_g/weight_v")
        w = tensors.pop(k)
        g = torch.linalg.vector_norm(w.double(), dim=tuple(range(1, w.dim())), keepdim=True).to(w.dtype)
        tensors[f"{prefix}.weight_g"] = g
        tensors[f"{prefix}.weight_v"] = w
        changed.append(prefix)
    return changed


def fuse_waveglow_cond_layers(tensors):
    """WN.k.cond_layers.i.{weight_g,weight_v,bias} -> WN.k.cond_layer.* by
    concatenation along the output channels in layer order (weight norm is per
    output channel, so g and v concatenate too). Returns the flows fused."""
    import torch
    groups = {}
    for k in list(tensors):
        m = re.match(r"^(WN\.\d+)\.cond_layers\.(\d+)\.(weight_g|weight_v|bias)$", k)
        if m:
            groups.setdefault(m.group(1), {}).setdefault(m.group(3), {})[int(m.group(2))] = tensors.pop(k)
    stray = [k for k in tensors if ".cond_layers." in k]
    if stray:
        raise ConvertError(f"unexpected per-layer conditioning tensors: {', '.join(stray[:4])}")
    for prefix, leaves in groups.items():
        if f"{prefix}.cond_layer.weight_v" in tensors:
            raise ConvertError(f"{prefix} has both cond_layer and cond_layers.N tensors")
        idx = sorted(leaves.get("weight_v", {}))
        if idx != list(range(len(idx))) or not idx:
            raise ConvertError(f"{prefix}.cond_layers indices are not 0..{len(idx) - 1}: {idx}")
        for leaf in ("weight_g", "weight_v", "bias"):
            part = leaves.get(leaf, {})
            if sorted(part) != idx:
                raise ConvertError(f"{prefix}.cond_layers: {leaf} present for layers {sorted(part)}, "
                                   f"weight_v for {idx}")
            tensors[f"{prefix}.cond_layer.{leaf}"] = torch.cat([part[i] for i in idx], 0)
    return sorted(groups, key=lambda p: int(p.split(".")[1]))


def infer_waveglow_config(tensors, preset):
    def need(name):
        if name not in tensors:
            raise ConvertError(f"not an NVIDIA WaveGlow checkpoint: missing tensor {name}")
        return tensors[name]

    if "upsample.weight" not in tensors or not any(k.startswith("convinv.") for k in tensors):
        sample = ", ".join(sorted(tensors)[:6])
        raise ConvertError("not an NVIDIA WaveGlow checkpoint: expected upsample.weight, WN.N.* and "
                           f"convinv.N.conv.weight tensors, found {len(tensors)} tensors ({sample}, ...)")
    up = shape(need("upsample.weight"))
    if len(up) != 3 or up[0] != up[1]:
        raise ConvertError(f"upsample.weight has shape {up}, expected [n_mel, n_mel, 1024]")
    n_mel = up[0]
    if up[2] < 256:
        raise ConvertError(f"upsample kernel is {up[2]} wide; WaveGlow's mel upsampler is "
                           "ConvTranspose1d(n_mel, n_mel, K >= 256, stride=256)", 2)

    flows = sorted({int(m.group(1)) for k in tensors if (m := re.match(r"convinv\.(\d+)\.", k))})
    n_flows = len(flows)
    if flows != list(range(n_flows)):
        raise ConvertError(f"convinv indices are not 0..{n_flows - 1}: {flows}")
    wn = sorted({int(m.group(1)) for k in tensors if (m := re.match(r"WN\.(\d+)\.", k))})
    if wn != flows:
        raise ConvertError(f"WN indices {wn} do not match convinv indices {flows}")

    sizes = []
    for k in flows:
        w = shape(need(f"convinv.{k}.conv.weight"))
        if len(w) != 3 or w[0] != w[1] or w[2] != 1:
            raise ConvertError(f"convinv.{k}.conv.weight has shape {w}, expected [c, c, 1]")
        sizes.append(w[0])
    n_group = sizes[0]
    if n_group % 2:
        raise ConvertError(f"n_group {n_group} is odd")
    shrink = [k for k in range(1, n_flows) if sizes[k] != sizes[k - 1]]
    if shrink:
        n_early_every = shrink[0]
        n_early_size = sizes[shrink[0] - 1] - sizes[shrink[0]]
    else:
        n_early_every, n_early_size = n_flows, 0     # never triggers (k < n_flows)
    want = []
    rem = n_group
    for k in range(n_flows):
        if k % n_early_every == 0 and k > 0:
            rem -= n_early_size
        want.append(rem)
    if want != sizes or n_early_size < 0 or n_early_size % 2 or rem <= 0:
        raise ConvertError(f"the invertible 1x1 convolutions have sizes {sizes}, which is not "
                           "NVIDIA's schedule (n_early_size channels out every n_early_every "
                           "flows, an even number)", 2)

    layers = sorted({int(m.group(1)) for k in tensors if (m := re.match(r"WN\.0\.in_layers\.(\d+)\.", k))})
    n_layers = len(layers)
    if layers != list(range(n_layers)) or n_layers == 0:
        raise ConvertError(f"WN.0.in_layers indices are not 0..{n_layers - 1}: {layers}")
    n_channels = shape(need("WN.0.start.weight_v"))[0]
    kernel_size = shape(need("WN.0.in_layers.0.weight_v"))[2]
    if kernel_size % 2 != 1:
        raise ConvertError(f"WN kernel_size {kernel_size} is even; NVIDIA's WN needs it odd")

    cfg = {
        "n_mel_channels": n_mel, "n_flows": n_flows, "n_group": n_group,
        "n_early_every": n_early_every, "n_early_size": n_early_size,
        "n_layers": n_layers, "n_channels": n_channels, "kernel_size": kernel_size,
        "mel_preset": choose_mel_preset(preset, "tacotron2", n_mel, WAVEGLOW_HOP, WAVEGLOW_SAMPLE_RATE,
                                        "WaveGlow", "the default"),
        "sample_rate": WAVEGLOW_SAMPLE_RATE,
        **({} if up[2] == 1024 else {"upsample_kernel": up[2]}),
    }

    # every flow's shapes
    C, L, K = n_channels, n_layers, kernel_size
    bad = []
    for k in flows:
        n_half = sizes[k] // 2
        p = f"WN.{k}."
        expect = {
            "start.weight_g": (C, 1, 1), "start.weight_v": (C, n_half, 1), "start.bias": (C,),
            "cond_layer.weight_g": (2 * C * L, 1, 1), "cond_layer.weight_v": (2 * C * L, n_mel * n_group, 1),
            "cond_layer.bias": (2 * C * L,),
            "end.weight": (2 * n_half, C, 1), "end.bias": (2 * n_half,),
        }
        for i in range(L):
            rs = 2 * C if i < L - 1 else C
            expect.update({
                f"in_layers.{i}.weight_g": (2 * C, 1, 1), f"in_layers.{i}.weight_v": (2 * C, C, K),
                f"in_layers.{i}.bias": (2 * C,),
                f"res_skip_layers.{i}.weight_g": (rs, 1, 1), f"res_skip_layers.{i}.weight_v": (rs, C, 1),
                f"res_skip_layers.{i}.bias": (rs,),
            })
        bad += shape_problems(tensors, {p + name: shp for name, shp in expect.items()})
    bad += shape_problems(tensors, {"upsample.bias": (n_mel,)})
    refuse_shape_problems(bad, "the WaveGlow tensors do not fit one NVIDIA WaveGlow")
    return cfg


def waveglow_expected_keys(cfg):
    keys = {"upsample.weight", "upsample.bias"}
    rem = cfg["n_group"]
    for k in range(cfg["n_flows"]):
        keys.add(f"convinv.{k}.conv.weight")
        p = f"WN.{k}."
        for m in ["start", "cond_layer"] + [f"in_layers.{i}" for i in range(cfg["n_layers"])] \
                + [f"res_skip_layers.{i}" for i in range(cfg["n_layers"])]:
            keys |= {p + m + ".weight_g", p + m + ".weight_v", p + m + ".bias"}
        keys |= {p + "end.weight", p + "end.bias"}
    return keys


def convert_nvidia_waveglow(src, dst, preset=None, **_ignored):
    import torch

    tensors, how = load_waveglow_checkpoint(src)
    if looks_like_wavenet(tensors) and not looks_like_waveglow(tensors):
        raise ConvertError(f"{src}: this is an r9y9 WaveNet checkpoint (first_conv.*, conv_layers.N.* "
                           "tensors); convert it with --from r9y9-wavenet", 2)
    log(f"note: read {src} with {how}")
    tensors = normalise_names(tensors)
    restored = restore_waveglow_weight_norm(tensors)
    if restored:
        log(f"note: {len(restored)} convolutions had weight norm removed; stored as "
            "weight_g = ||weight||, weight_v = weight")
    fused = fuse_waveglow_cond_layers(tensors)
    if fused:
        log(f"note: per-layer cond_layers.N (older layout) of {len(fused)} flows fused into "
            "cond_layer (concatenated along the output channels)")
    cfg = infer_waveglow_config(tensors, preset)

    check_keys(src, tensors, waveglow_expected_keys(cfg), "WaveGlow")

    out = float32_tensors(tensors)
    for k in range(cfg["n_flows"]):
        W = out[f"convinv.{k}.conv.weight"][:, :, 0].double()
        if abs(float(torch.linalg.det(W))) < 1e-12:
            raise ConvertError(f"convinv.{k}.conv.weight is singular: the flow cannot be inverted")

    metadata = {
        "format": "pt",
        "wavekit.family": "waveglow",
        "wavekit.config": json.dumps(cfg, sort_keys=True),
        "wavekit.converted_from": "nvidia-waveglow",
    }
    return write_converted(out, dst, metadata, cfg)


def check_keys(src, tensors, want, family):
    """The converted names must be exactly the model's: missing and extra tensors are named."""
    missing = sorted(want - set(tensors))
    extra = sorted(set(tensors) - want)
    if missing:
        raise ConvertError(f"{src}: incomplete {family} checkpoint, missing {len(missing)} tensors: "
                           + ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else ""))
    if extra:
        raise ConvertError(f"{src}: tensors WaveKit's {family} does not have: "
                           + ", ".join(extra[:8]) + (" ..." if len(extra) > 8 else ""), 2)


def float32_tensors(tensors):
    """Contiguous float32 CPU copies, in name order; integer dtypes and NaN/inf are refused."""
    import torch

    out = {}
    for k in sorted(tensors):
        t = tensors[k].detach().to("cpu")
        if not t.is_floating_point():
            raise ConvertError(f"tensor {k} has dtype {t.dtype}, expected floating point")
        t = t.to(torch.float32).contiguous()
        if not torch.isfinite(t).all():
            raise ConvertError(f"tensor {k} holds NaN or infinite values")
        out[k] = t
    return out


def write_converted(out, dst, metadata, cfg):
    """Writes the checkpoint; returns (config, parameter count, tensor count)."""
    if cfg.get("mel_preset") is not None:
        metadata = dict(metadata, **{"wavekit.mel_preset": cfg["mel_preset"]})
    check_output_path(dst)
    write_safetensors(out, dst, metadata)
    return cfg, sum(t.numel() for t in out.values()), len(out)


def check_output_path(dst):
    """The output must be a file name (not a folder) in an existing folder this user may write."""
    if os.path.isdir(dst):
        raise ConvertError(f"the output {dst} is a folder; give a file name, e.g. "
                           f"{os.path.join(dst, 'model.safetensors')}", 2)
    d = os.path.dirname(os.path.abspath(dst))
    if not os.path.isdir(d):
        raise ConvertError(f"the output folder {d} "
                           + ("is not a folder" if os.path.exists(d) else "does not exist")
                           + "; create it or give another -o", 2)
    if not os.access(d, os.W_OK | os.X_OK):
        raise ConvertError(f"the output folder {d} is not writable (permission denied); give "
                           "another -o", 2)


CONVERTERS = {"r9y9-wavenet": convert_r9y9_wavenet, "nvidia-waveglow": convert_nvidia_waveglow}

HELP_EPILOG = """\
r9y9-wavenet upsampler layouts (recorded as "upsample_layout" in the config):
  conv_in     r9y9's current code (2019 refactor on): upsample_net.conv_in.weight
              plus upsample_net.upsample.up_layers.{1,3,..} (stretch + Conv2d).
              Also written for models without an upsampler.
  transposed  the older 2018 layout: upsample_conv.{0,2,..}.{weight_g,weight_v,bias},
              weight-normed ConvTranspose2d(1, 1, (freq_axis_kernel_size, s),
              stride (1, s)), each followed by a ReLU; no cin_pad. upsample_scales
              come from the kernel widths, "freq_axis_kernel_size" from the kernel
              height. The 2018 code's skip-connection scaling is recorded as
              "legacy" in the config: hparams "legacy" from --hparams, else true
              (r9y9's 2018 default); the converter notes which.

mel_preset: --preset, else r9y9 (hparams with r9y9's LJSpeech audio settings)
or tacotron2 (WaveGlow). A preset must fit the model (n_mels = the conditioning
channels, hop = the upsampling factor, WaveGlow's 256 at 22050 Hz); a --preset
that does not is refused; a default that does not gives none (null).

See the module docstring for details."""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=HELP_EPILOG)
    p.add_argument("--from", dest="source", required=True, choices=sorted(CONVERTERS),
                   help="what kind of checkpoint SRC is")
    p.add_argument("src", metavar="SRC.pth")
    p.add_argument("-o", "--output", required=True, metavar="DST.safetensors")
    p.add_argument("--hparams", help="r9y9 hparams: JSON file, inline JSON or name=value,...")
    p.add_argument("--stacks", type=int, help="dilation cycles (not stored in the weights)")
    p.add_argument("--preset", help=f"mel preset the model was trained on ({', '.join(KNOWN_PRESETS)})")
    p.add_argument("--trust-pickle", action="store_true",
                   help="let torch.load unpickle arbitrary objects (only for files you trust)")
    args = p.parse_args(argv)

    if args.preset is not None and args.preset not in KNOWN_PRESETS:
        log(f"error: unknown mel preset '{args.preset}'; use one of: {', '.join(KNOWN_PRESETS)}")
        return 2
    if not args.output.lower().endswith(".safetensors"):
        log(f"error: the output '{args.output}' must end in .safetensors (WaveKit checkpoints are safetensors files)")
        return 2
    if os.path.abspath(args.src) == os.path.abspath(args.output) or (
            os.path.exists(args.src) and os.path.exists(args.output)
            and os.path.samefile(args.src, args.output)):
        log("error: the output would overwrite the input")
        return 2
    try:
        import torch  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        log(f"error: {e.name} is not installed (run tools/venv.sh and use .venv-tools/bin/python)")
        return 1
    if args.source == "nvidia-waveglow" and (args.hparams is not None or args.stacks is not None):
        log("error: --hparams and --stacks are r9y9-wavenet options; a WaveGlow's settings all "
            "come from its tensor shapes")
        return 2
    try:
        check_output_path(args.output)
        cfg, n_params, n_tensors = CONVERTERS[args.source](
            args.src, args.output, hparams=args.hparams, stacks=args.stacks,
            preset=args.preset, trust_pickle=args.trust_pickle)
    except ConvertError as e:
        log(f"error: {e}")
        return e.status
    except KeyboardInterrupt:
        log("error: interrupted (no partial output is left)")
        return 130
    print(f"wrote {args.output}: {n_tensors} tensors, {n_params} parameters")
    family = "waveglow" if args.source == "nvidia-waveglow" else "wavenet"
    print(f"{family} config: {json.dumps(cfg, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
