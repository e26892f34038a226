"""Generate golden reference data for WaveKit's convolution kernels.

Writes Tests/TensorCoreTests/Golden/conv_golden.json (relative to the repo root)
with forward outputs and gradients for conv1d / conv2d / conv_transpose1d /
conv_transpose2d, covering stride, dilation, groups, asymmetric (causal) padding
and output_padding.

For every case, inputs x, weight w, bias b and upstream gradient grad_y are
drawn from a standard normal in float32 (torch.manual_seed(0), cases in the
order listed below). They are then cast up to float64, where
y = op(x, w, b, ...) is computed and y.backward(grad_y) gives grad_x, grad_w,
grad_b. Stored values are float64 results rounded to float32 precision.

Layouts follow PyTorch: x [B, C, *spatial], conv weight [Cout, Cin/groups, *k],
conv-transpose weight [Cin, Cout/groups, *k], bias [Cout].
Conv ops: "pad" is explicit per-side zero padding, [left, right] (1-D) or
[top, bottom, left, right] (2-D), applied with F.pad before a padding=0 conv.
Transposed ops: "padding" / "output_padding" are PyTorch's own (symmetric) args.

Regenerate (from the repo root):
    tools/venv.sh
    .venv-tools/bin/python tools/golden/conv_golden.py
"""

import json
import os
import sys

import numpy
import torch
import torch.nn.functional as F

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_PATH = os.path.join(REPO_ROOT, "Tests", "TensorCoreTests", "Golden", "conv_golden.json")

CASES = [
    dict(name="conv1d_dilated_groups", op="conv1d", B=2, Cin=4, Cout=6, K=[3], S=[11],
         stride=[1], pad=[2, 2], dilation=[2], groups=2),
    dict(name="conv1d_stride", op="conv1d", B=2, Cin=3, Cout=5, K=[4], S=[13],
         stride=[3], pad=[1, 1], dilation=[1], groups=1),
    dict(name="conv1d_causal", op="conv1d", B=1, Cin=3, Cout=4, K=[3], S=[10],
         stride=[1], pad=[4, 0], dilation=[2], groups=1),
    dict(name="conv1d_depthwise_stride_dilation", op="conv1d", B=2, Cin=4, Cout=8, K=[3], S=[17],
         stride=[2], pad=[3, 3], dilation=[3], groups=4),
    dict(name="conv2d_groups_stride_dilation", op="conv2d", B=2, Cin=4, Cout=6, K=[3, 2], S=[7, 6],
         stride=[2, 1], pad=[1, 1, 2, 2], dilation=[1, 2], groups=2),
    dict(name="conv2d_same", op="conv2d", B=1, Cin=3, Cout=4, K=[3, 3], S=[5, 6],
         stride=[1, 1], pad=[1, 1, 1, 1], dilation=[1, 1], groups=1),
    dict(name="conv_transpose1d_stride_outpad_groups", op="conv_transpose1d", B=2, Cin=4, Cout=6, K=[4], S=[5],
         stride=[3], padding=[1], output_padding=[2], dilation=[1], groups=2),
    dict(name="conv_transpose1d_dilation", op="conv_transpose1d", B=1, Cin=3, Cout=2, K=[3], S=[6],
         stride=[2], padding=[2], output_padding=[1], dilation=[2], groups=1),
    dict(name="conv_transpose2d_stride_outpad_groups", op="conv_transpose2d", B=2, Cin=4, Cout=2, K=[3, 4], S=[4, 3],
         stride=[2, 3], padding=[1, 0], output_padding=[1, 2], dilation=[1, 1], groups=2),
    dict(name="conv_transpose2d_dilation", op="conv_transpose2d", B=1, Cin=2, Cout=3, K=[2, 3], S=[3, 4],
         stride=[2, 2], padding=[1, 1], output_padding=[1, 1], dilation=[2, 2], groups=1),
    dict(name="conv1d_upsample_waveglow_like", op="conv_transpose1d", B=1, Cin=3, Cout=3, K=[8], S=[4],
         stride=[4], padding=[0], output_padding=[0], dilation=[1], groups=1),
]

CONV_FNS = {"conv1d": F.conv1d, "conv2d": F.conv2d}
CONVT_FNS = {"conv_transpose1d": F.conv_transpose1d, "conv_transpose2d": F.conv_transpose2d}


def f32_list(t):
    """Flat row-major list of Python floats, rounded to float32 precision."""
    return [float(v) for v in t.detach().to(torch.float32).contiguous().view(-1).tolist()]


def tensor_json(t):
    return {"shape": list(t.shape), "data": f32_list(t)}


def torch_pads(op, pad):
    """Convert stored pad order to F.pad order (last dim first)."""
    if op == "conv1d":
        return tuple(pad)                        # (left, right)
    top, bottom, left, right = pad
    return (left, right, top, bottom)            # F.pad: last dim (W) first, then H


def symmetric_padding(op, pad):
    """Per-dim symmetric padding if every dim is symmetric, else None."""
    pairs = [(pad[0], pad[1])] if op == "conv1d" else [(pad[0], pad[1]), (pad[2], pad[3])]
    if all(a == b for a, b in pairs):
        return [a for a, _ in pairs]
    return None


def forward(c, x, w, b):
    op = c["op"]
    if op in CONV_FNS:
        xp = F.pad(x, torch_pads(op, c["pad"]), mode="constant", value=0.0)
        return CONV_FNS[op](xp, w, b, stride=c["stride"], padding=0,
                            dilation=c["dilation"], groups=c["groups"])
    return CONVT_FNS[op](x, w, b, stride=c["stride"], padding=c["padding"],
                         output_padding=c["output_padding"], groups=c["groups"],
                         dilation=c["dilation"])


def sanity_check(c, x, w, b, y):
    """Cross-check y against torch's native conv (symmetric padding arg or a
    manually left/right-sliced native conv for asymmetric pads)."""
    op = c["op"]
    with torch.no_grad():
        if op in CONV_FNS:
            sym = symmetric_padding(op, c["pad"])
            if sym is not None:
                ref = CONV_FNS[op](x, w, b, stride=c["stride"], padding=sym,
                                   dilation=c["dilation"], groups=c["groups"])
                how = "native padding=%s" % sym
            else:
                # Asymmetric (1-D causal): pad both sides by max, native conv, then
                # drop outputs that only exist because of the extra padding.
                assert op == "conv1d"
                left, right = c["pad"]
                p = max(left, right)
                full = CONV_FNS[op](x, w, b, stride=c["stride"], padding=p,
                                    dilation=c["dilation"], groups=c["groups"])
                s = c["stride"][0]
                assert (p - left) % s == 0, "slice check needs shift divisible by stride"
                start = (p - left) // s
                ref = full[..., start:start + y.shape[-1]]
                how = "native padding=%d sliced [%d:%d]" % (p, start, start + y.shape[-1])
        else:
            # Transposed conv: check against the adjoint relation
            # <convT(x), g> == <x, conv(g)> using torch's native conv (no bias).
            g = torch.randn(y.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
            fwd = CONV_FNS[op.replace("_transpose", "")]
            yt = y - b.view(1, -1, *([1] * (y.dim() - 2)))
            lhs = (yt * g).sum()
            # conv(g) with conv weight layout [Cout_conv=Cin_T, Cin_T... ] == w as-is.
            cg = fwd(g, w, None, stride=c["stride"], padding=c["padding"],
                     dilation=c["dilation"], groups=c["groups"])
            rhs = (x * cg).sum()
            err = abs(float(lhs - rhs)) / max(1.0, abs(float(lhs)))
            if err > 1e-10:
                raise SystemExit("%s: adjoint check failed (rel err %g)" % (c["name"], err))
            return "adjoint check rel err %.1e" % err
        if ref.shape != y.shape:
            raise SystemExit("%s: shape mismatch %s vs native %s" % (c["name"], tuple(y.shape), tuple(ref.shape)))
        err = float((ref - y).abs().max())
        if err > 1e-10:
            raise SystemExit("%s: native-conv check failed (max abs err %g)" % (c["name"], err))
        return "%s max abs err %.1e" % (how, err)


def run_case(c):
    nd = len(c["K"])
    assert len(c["S"]) == nd
    g = c["groups"]
    if c["op"] in CONV_FNS:
        w_shape = [c["Cout"], c["Cin"] // g, *c["K"]]
    else:
        w_shape = [c["Cin"], c["Cout"] // g, *c["K"]]
    x32 = torch.randn(c["B"], c["Cin"], *c["S"], dtype=torch.float32)
    w32 = torch.randn(*w_shape, dtype=torch.float32)
    b32 = torch.randn(c["Cout"], dtype=torch.float32)

    # Output shape first (grad_y is drawn after x, w, b with the same generator).
    with torch.no_grad():
        y_shape = forward(c, x32.double(), w32.double(), b32.double()).shape
    gy32 = torch.randn(*y_shape, dtype=torch.float32)

    x = x32.double().requires_grad_(True)
    w = w32.double().requires_grad_(True)
    b = b32.double().requires_grad_(True)
    gy = gy32.double()
    y = forward(c, x, w, b)
    y.backward(gy)

    check = sanity_check(c, x.detach(), w.detach(), b.detach(), y.detach())

    out = {"name": c["name"], "op": c["op"], "stride": c["stride"], "dilation": c["dilation"],
           "groups": g}
    if c["op"] in CONV_FNS:
        out["pad"] = c["pad"]
    else:
        out["padding"] = c["padding"]
        out["output_padding"] = c["output_padding"]
    out["x"] = tensor_json(x32)
    out["w"] = tensor_json(w32)
    out["b"] = tensor_json(b32)
    out["grad_y"] = tensor_json(gy32)
    out["y"] = tensor_json(y)
    out["grad_x"] = tensor_json(x.grad)
    out["grad_w"] = tensor_json(w.grad)
    out["grad_b"] = tensor_json(b.grad)
    print("%-40s %-17s x%s w%s -> y%s  %s" % (c["name"], c["op"], list(x.shape), list(w.shape),
                                               list(y.shape), check))
    return out


def main():
    torch.manual_seed(0)
    cases = [run_case(c) for c in CASES]
    doc = {
        "meta": {
            "script": "tools/golden/conv_golden.py",
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "dtype_of_reference": "float64",
        },
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    with open(OUT_PATH, "w") as f:
        f.write('{"meta": %s, "cases": [\n' % json.dumps(doc["meta"]))
        f.write(",\n".join(json.dumps(cs, separators=(",", ":")) for cs in cases))
        f.write("\n]}\n")
    print("wrote %s (%d bytes)" % (os.path.relpath(OUT_PATH, REPO_ROOT), os.path.getsize(OUT_PATH)))


if __name__ == "__main__":
    sys.exit(main())
