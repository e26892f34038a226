"""Generate golden reference data for WaveKit's NN layers, losses, optimizers
and learning-rate schedules.

Writes Tests/NNTests/Golden/nn_golden.json (relative to the repo root).

How the data is made
--------------------
* torch.manual_seed(0) once; every random value (parameters, buffers, inputs,
  upstream gradients, targets) is then drawn from the global generator in the
  order the cases appear in this file. Modules are constructed inside
  torch.random.fork_rng() so their own default initialisation does not consume
  the data stream; their state_dict entries are then overwritten with our draws.
* Parameters: torch.randn(...) * 0.5 in float32. Inputs and grad_y:
  torch.randn(...) in float32 (unscaled). Exceptions are noted per case
  (BatchNorm running_var = 0.5 + rand, spectral-norm u / v are normalised
  float32 normal draws, Gaussian-NLL var = 0.5 + rand, integer targets).
* All float32 draws are stored exactly (float(v) of the float32 value, which a
  Swift Float reads back bit-exactly); the module / loss / optimizer is then
  run in float64 on those values cast up, and every output is stored as
  float(v) of the float64 result (JSON repr round-trips doubles exactly).
* Tensors are {"shape": [...], "data": [flat row-major floats]}; scalars have
  shape []. Integer-valued data (indices, class targets, num_batches_tracked)
  are stored as floats too.

JSON layout
-----------
{"meta": {"script", "torch", "numpy", "dtype_of_reference": "float64", ...},
 "layers": [{"name", "type", "config", "params" (ALL state_dict entries,
             buffers included), "inputs": {"x"} or {"indices"}, "mode",
             "grad_y", "y", "grads": {"x"?, <parameter name>...},
             "state_after"? (buffers after the forward, train-mode
             BatchNorm and spectral norm)}],
 "losses": [{"name", "config", "inputs", "value", "grads", ...}],
 "optimizers": [{"name", "type", <hyper-parameters, defaults filled in>,
                 "p0", "p1", "x", "t", "losses": [10 floats],
                 "params_after": [10 x {"p0", "p1"}]}],
 "schedules": [{"name", "config", "base_lr", "lrs": [20 floats]}]}

The backward pass of a layer uses loss = (y * grad_y).sum(), i.e. grad_y is
the upstream gradient dL/dy.

Regenerate (from the repo root):
    tools/venv.sh
    .venv-tools/bin/python tools/golden/nn_golden.py
The script validates its references (manual re-computations, a scalar
brute-force MoL evaluation, finite differences) and exits non-zero on a
mismatch.
"""

import json
import math
import os
import sys
import warnings

import numpy
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_PATH = os.path.join(REPO_ROOT, "Tests", "NNTests", "Golden", "nn_golden.json")

F64 = torch.float64
FAILURES = []


def check(name, ok, detail=""):
    status = "ok " if ok else "FAIL"
    print(f"  [{status}] {name} {detail}")
    if not ok:
        FAILURES.append(name)


def close(a, b, rtol=1e-10, atol=1e-12):
    a = torch.as_tensor(a, dtype=F64)
    b = torch.as_tensor(b, dtype=F64)
    return bool(torch.allclose(a, b, rtol=rtol, atol=atol))


# ---------------------------------------------------------------- helpers

def randn(*shape, scale=1.0):
    """float32 standard-normal draw (times scale, exact in float32 for 0.5)."""
    t = torch.randn(*shape, dtype=torch.float32)
    return t * scale if scale != 1.0 else t


def param(*shape):
    return randn(*shape, scale=0.5)


def T(t):
    """Tensor -> {"shape", "data"} with float(v) of every element."""
    t = torch.as_tensor(t).detach()
    data = [float(v) for v in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


def scalar(v):
    return {"shape": [], "data": [float(v)]}


def new_module(fn):
    """Construct a module without consuming the data RNG stream."""
    with torch.random.fork_rng():
        torch.manual_seed(12345)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = fn()
    return m


def fill_state(module, draws):
    """Overwrite every state_dict entry (float32 draws) and cast to float64.

    draws: {state_dict name: float32 tensor}. Returns the stored params dict.
    """
    sd = module.state_dict()
    assert set(draws) == set(sd), (sorted(draws), sorted(sd))
    module.double()
    with torch.no_grad():
        for name, value in draws.items():
            target = _resolve(module, name)
            assert tuple(target.shape) == tuple(value.shape), name
            if target.dtype in (torch.int64, torch.int32):
                target.fill_(int(value.item()))
            else:
                target.copy_(value.to(F64))
    return {name: T(draws[name]) for name in sd}  # state_dict order


def _resolve(module, dotted):
    obj = module
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def run_layer(case_name, type_name, config, module, draws, x, mode,
              input_key="x", x_is_index=False, buffers_after=()):
    params = fill_state(module, draws)
    module.train(mode == "train")
    if x_is_index:
        x64 = x.to(torch.int64)
    else:
        x64 = x.to(F64).clone().requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = module(x64)
    grad_y = randn(*y.shape)
    (y * grad_y.to(F64)).sum().backward()
    grads = {}
    if not x_is_index:
        grads["x"] = T(x64.grad)
    for pname, p in module.named_parameters():
        grads[pname] = T(p.grad)
    entry = {
        "name": case_name,
        "type": type_name,
        "config": config,
        "params": params,
        "inputs": {input_key: T(x)},
        "mode": mode,
        "grad_y": T(grad_y),
        "y": T(y),
        "grads": grads,
    }
    if buffers_after:
        entry["state_after"] = {b: T(_resolve(module, b).to(F64)) for b in buffers_after}
    return entry, module, x64, y, grad_y


# ---------------------------------------------------------------- layers

def conv_cfg(cin, cout, k, stride=1, padding=0, dilation=1, groups=1, bias=True,
             output_padding=None):
    c = {"in_channels": cin, "out_channels": cout, "kernel_size": k, "stride": stride,
         "padding": padding}
    if output_padding is not None:
        c["output_padding"] = output_padding
    c.update({"dilation": dilation, "groups": groups, "bias": bias, "padding_mode": "zeros"})
    return c


def make_layers():
    print("layers")
    layers = []

    # linear
    m = new_module(lambda: nn.Linear(5, 3))
    draws = {"weight": param(3, 5), "bias": param(3)}
    x = randn(2, 4, 5)
    e, *_ = run_layer("linear", "Linear", {"in_features": 5, "out_features": 3, "bias": True},
                      m, draws, x, "train")
    layers.append(e)

    # linear_no_bias
    m = new_module(lambda: nn.Linear(4, 2, bias=False))
    draws = {"weight": param(2, 4)}
    x = randn(3, 4)
    e, *_ = run_layer("linear_no_bias", "Linear",
                      {"in_features": 4, "out_features": 2, "bias": False}, m, draws, x, "train")
    layers.append(e)

    # conv1d with (old-API) weight norm, dim=0
    m = new_module(lambda: torch.nn.utils.weight_norm(
        nn.Conv1d(4, 6, 3, dilation=2, padding=2)))
    assert list(m.state_dict().keys()) == ["bias", "weight_g", "weight_v"], list(m.state_dict())
    draws = {"bias": param(6), "weight_g": param(6, 1, 1), "weight_v": param(6, 4, 3)}
    x = randn(2, 4, 9)
    cfg = conv_cfg(4, 6, 3, padding=2, dilation=2)
    cfg.update({"weight_norm": True, "weight_norm_dim": 0, "weight_norm_name": "weight"})
    e, mod, x64, y, _ = run_layer("conv1d_weight_norm", "Conv1d", cfg, m, draws, x, "train")
    g = draws["weight_g"].to(F64)
    v = draws["weight_v"].to(F64)
    w = g * v / v.pow(2).sum(dim=(1, 2), keepdim=True).sqrt()
    y_ref = F.conv1d(x.to(F64), w, draws["bias"].to(F64), padding=2, dilation=2)
    check("weight_norm: w = g * v / ||v|| over dims (1,2), no eps", close(y, y_ref))
    layers.append(e)

    # conv1d groups
    m = new_module(lambda: nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2))
    draws = {"weight": param(6, 2, 3), "bias": param(6)}
    x = randn(2, 4, 10)
    e, *_ = run_layer("conv1d_groups", "Conv1d", conv_cfg(4, 6, 3, 2, 1, 1, 2), m, draws, x,
                      "train")
    layers.append(e)

    # conv transpose 1d
    m = new_module(lambda: nn.ConvTranspose1d(4, 3, 8, stride=4, padding=2))
    draws = {"weight": param(4, 3, 8), "bias": param(3)}
    x = randn(1, 4, 5)
    e, *_ = run_layer("conv_transpose1d", "ConvTranspose1d",
                      conv_cfg(4, 3, 8, 4, 2, output_padding=0), m, draws, x, "train")
    layers.append(e)

    # conv2d
    m = new_module(lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1))
    draws = {"weight": param(4, 3, 3, 3), "bias": param(4)}
    x = randn(2, 3, 6, 5)
    e, *_ = run_layer("conv2d", "Conv2d", conv_cfg(3, 4, 3, 2, 1), m, draws, x, "train")
    layers.append(e)

    # conv transpose 2d
    m = new_module(lambda: nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1))
    draws = {"weight": param(4, 2, 4, 4), "bias": param(2)}
    x = randn(1, 4, 3, 3)
    e, *_ = run_layer("conv_transpose2d", "ConvTranspose2d",
                      conv_cfg(4, 2, 4, 2, 1, output_padding=0), m, draws, x, "train")
    layers.append(e)

    # embedding
    m = new_module(lambda: nn.Embedding(10, 4))
    draws = {"weight": param(10, 4)}
    idx = torch.tensor([[1, 3, 3, 9], [0, 2, 5, 9]], dtype=torch.float32)
    e, *_ = run_layer("embedding", "Embedding",
                      {"num_embeddings": 10, "embedding_dim": 4, "padding_idx": None,
                       "max_norm": None, "scale_grad_by_freq": False, "sparse": False},
                      m, draws, idx, "train", input_key="indices", x_is_index=True)
    layers.append(e)

    # layer norm
    m = new_module(lambda: nn.LayerNorm(6))
    draws = {"weight": param(6), "bias": param(6)}
    x = randn(2, 3, 6)
    e, *_ = run_layer("layer_norm", "LayerNorm",
                      {"normalized_shape": [6], "eps": 1e-5, "elementwise_affine": True,
                       "bias": True}, m, draws, x, "train")
    layers.append(e)

    # group norm
    m = new_module(lambda: nn.GroupNorm(2, 6))
    draws = {"weight": param(6), "bias": param(6)}
    x = randn(2, 6, 5)
    e, *_ = run_layer("group_norm", "GroupNorm",
                      {"num_groups": 2, "num_channels": 6, "eps": 1e-5, "affine": True},
                      m, draws, x, "train")
    layers.append(e)

    # batch norm
    def bn_draws(c):
        return {"weight": param(c), "bias": param(c), "running_mean": param(c),
                "running_var": 0.5 + torch.rand(c, dtype=torch.float32),
                "num_batches_tracked": torch.tensor(0.0)}

    def bn_cfg(c):
        return {"num_features": c, "eps": 1e-5, "momentum": 0.1, "affine": True,
                "track_running_stats": True}

    bufs = ("running_mean", "running_var", "num_batches_tracked")

    m = new_module(lambda: nn.BatchNorm1d(4))
    draws = bn_draws(4)
    x = randn(3, 4, 7)
    e, mod, *_ = run_layer("batch_norm1d_train", "BatchNorm1d", bn_cfg(4), m, draws, x, "train",
                           buffers_after=bufs)
    x64 = x.to(F64)
    mean = x64.mean(dim=(0, 2))
    var_unbiased = x64.var(dim=(0, 2), unbiased=True)
    check("batch_norm train: running_mean = 0.9*rm + 0.1*batch_mean",
          close(mod.running_mean, 0.9 * draws["running_mean"].to(F64) + 0.1 * mean))
    check("batch_norm train: running_var uses UNBIASED batch var (n/(n-1))",
          close(mod.running_var, 0.9 * draws["running_var"].to(F64) + 0.1 * var_unbiased))
    check("batch_norm train: num_batches_tracked -> 1", int(mod.num_batches_tracked) == 1)
    layers.append(e)

    m = new_module(lambda: nn.BatchNorm1d(4))
    draws = bn_draws(4)
    x = randn(3, 4, 7)
    e, mod, x64, y, _ = run_layer("batch_norm1d_eval", "BatchNorm1d", bn_cfg(4), m, draws, x,
                                  "eval")
    rm, rv = draws["running_mean"].to(F64), draws["running_var"].to(F64)
    y_ref = ((x.to(F64) - rm[:, None]) / (rv[:, None] + 1e-5).sqrt()
             * draws["weight"].to(F64)[:, None] + draws["bias"].to(F64)[:, None])
    check("batch_norm eval: uses running stats", close(y, y_ref))
    layers.append(e)

    m = new_module(lambda: nn.BatchNorm2d(3))
    draws = bn_draws(3)
    x = randn(2, 3, 4, 4)
    e, *_ = run_layer("batch_norm2d_train", "BatchNorm2d", bn_cfg(3), m, draws, x, "train",
                      buffers_after=bufs)
    layers.append(e)

    # spectral norm (old API), train mode: one power iteration then sigma
    m = new_module(lambda: torch.nn.utils.spectral_norm(nn.Linear(5, 4)))
    assert list(m.state_dict().keys()) == ["bias", "weight_orig", "weight_u", "weight_v"], \
        list(m.state_dict())

    def unit(n):
        t = randn(n)
        return t / t.norm()  # float32 normalisation; stored exactly as used

    draws = {"bias": param(4), "weight_orig": param(4, 5), "weight_u": unit(4),
             "weight_v": unit(5)}
    x = randn(3, 5)
    cfg = {"in_features": 5, "out_features": 4, "bias": True, "spectral_norm": True,
           "spectral_norm_name": "weight", "n_power_iterations": 1, "eps": 1e-12, "dim": 0}
    e, mod, x64, y, grad_y = run_layer("spectral_norm_linear", "Linear", cfg, m, draws, x,
                                       "train", buffers_after=("weight_u", "weight_v"))
    W = draws["weight_orig"].to(F64).clone().requires_grad_(True)
    u0 = draws["weight_u"].to(F64)
    v1 = W.detach().t() @ u0
    v1 = v1 / max(v1.norm().item(), 1e-12)       # v first ...
    u1 = W.detach() @ v1
    u1 = u1 / max(u1.norm().item(), 1e-12)       # ... then u
    sigma = torch.dot(u1, W @ v1)                # u, v are constants for autograd
    y_ref = F.linear(x.to(F64), W / sigma, draws["bias"].to(F64))
    (y_ref * grad_y.to(F64)).sum().backward()
    check("spectral_norm: v <- normalize(W^T u), then u <- normalize(W v)",
          close(mod.weight_u, u1) and close(mod.weight_v, v1))
    check("spectral_norm: y = x (W/sigma)^T + b, sigma = u.(W v)", close(y, y_ref))
    check("spectral_norm: grad weight_orig with u, v detached",
          close(mod.weight_orig.grad, W.grad))
    e["notes"] = ("weight = weight_orig / sigma; in train mode one power iteration "
                  "v = normalize(W^T u), u = normalize(W v) (normalize: x / max(||x||, eps)) "
                  "runs under no_grad before sigma = u . (W v); u and v are constants for "
                  "backward. state_after holds the updated u, v.")
    layers.append(e)
    return layers


# ---------------------------------------------------------------- losses

# r9y9's mixture.py, as the WaveNet reference has it (one copy for both golden scripts).
sys.path.insert(0, os.path.join(REPO_ROOT, "tools", "reference"))
from r9y9_wavenet import discretized_mix_logistic_loss  # noqa: E402


def mol_brute_force(y_hat, y, b, t, num_classes, log_scale_min):
    """Scalar, math-module evaluation of the same formula for element (b, t)."""
    K = len(y_hat[0]) // 3
    logits = [y_hat[b][k][t] for k in range(K)]
    mx = max(logits)
    lse = mx + math.log(sum(math.exp(l - mx) for l in logits))
    x = y[b][t][0]
    half = 1.0 / (num_classes - 1)
    terms = []
    branches = []
    for k in range(K):
        mu = y_hat[b][K + k][t]
        ls = max(y_hat[b][2 * K + k][t], log_scale_min)
        s = math.exp(ls)
        sig = lambda z: 1.0 / (1.0 + math.exp(-z))
        if x < -0.999:
            lp = math.log(sig((x - mu + half) / s))
            branches.append("left_edge")
        elif x > 0.999:
            lp = math.log(1.0 - sig((x - mu - half) / s))
            branches.append("right_edge")
        else:
            delta = sig((x - mu + half) / s) - sig((x - mu - half) / s)
            if delta > 1e-5:
                lp = math.log(max(delta, 1e-12))
                branches.append("cdf_delta")
            else:
                z = (x - mu) / s
                # logistic pdf at bin centre, times the bin width 2/(num_classes-1)
                pdf = math.exp(-z) / (s * (1.0 + math.exp(-z)) ** 2)
                lp = math.log(pdf) - math.log((num_classes - 1) / 2)
                branches.append("pdf_mid")
        terms.append(lp + logits[k] - lse)
    m = max(terms)
    return -(m + math.log(sum(math.exp(v - m) for v in terms))), branches


def quantise(vals, num_classes):
    q = []
    for v in vals:
        k = round((v + 1.0) / 2.0 * (num_classes - 1))
        q.append(k / (num_classes - 1) * 2.0 - 1.0)
    # stored (and used) as float32 values so a float32 consumer sees the same input
    return torch.tensor(q, dtype=torch.float64).to(torch.float32)


def mol_case(name, num_classes, K=3, B=2, Tn=6, log_scale_min=-7.0):
    y_hat = randn(B, 3 * K, Tn)
    # exercise the log_scale clamp: one log-scale below log_scale_min
    y_hat[1, 2 * K + 1, 2] = -8.0
    # sharpen one component so 256 classes also hit a range of cdf_delta sizes
    y_hat[0, 2 * K + 0, 3] = -4.5
    targets = [-1.0, 1.0, -0.5, 0.0, 0.37, 0.9,
               -0.83, 0.25, -0.05, 1.0, -1.0, 0.6]
    y = quantise(targets, num_classes).reshape(B, Tn, 1)
    yh64 = y_hat.to(F64).clone().requires_grad_(True)
    per = discretized_mix_logistic_loss(yh64, y.to(F64), num_classes=num_classes,
                                        log_scale_min=log_scale_min, reduce=False)
    value = per.mean()
    value.backward()
    # validation against the scalar brute force, all elements
    yh_l = y_hat.to(F64).tolist()
    y_l = y.to(F64).tolist()
    worst = 0.0
    counts = {}
    for b in range(B):
        for t in range(Tn):
            ref, br = mol_brute_force(yh_l, y_l, b, t, num_classes, log_scale_min)
            worst = max(worst, abs(ref - per[b, t, 0].item()) / max(1.0, abs(ref)))
            for x in br:
                counts[x] = counts.get(x, 0) + 1
    check(f"{name}: brute-force scalar formula, all {B*Tn} samples", worst < 1e-12,
          f"(max rel err {worst:.2e}; branches {counts})")
    # branch margins: no cdf_delta within 10% of the 1e-5 threshold
    with torch.no_grad():
        yt = y_hat.to(F64).transpose(1, 2)
        mu = yt[:, :, K:2 * K]
        ls = yt[:, :, 2 * K:].clamp(min=log_scale_min)
        c = y.to(F64) - mu
        delta = (torch.sigmoid((c + 1.0 / (num_classes - 1)) * torch.exp(-ls))
                 - torch.sigmoid((c - 1.0 / (num_classes - 1)) * torch.exp(-ls)))
        interior = (y.to(F64).abs() <= 0.999).expand_as(delta)
        ratio = (delta[interior] / 1e-5).log().abs().min().item()
    check(f"{name}: cdf_delta away from the 1e-5 threshold", ratio > math.log(1.1),
          f"(min |log(cdf_delta/1e-5)| = {ratio:.3f})")
    # finite-difference check of a few gradient entries
    g = yh64.grad
    fd_worst = 0.0
    for (b, c_, t) in [(0, 0, 0), (0, 4, 3), (1, 7, 1), (1, 8, 5), (0, 6, 3), (1, 3, 4)]:
        h = 1e-6
        plus = y_hat.to(F64).clone()
        plus[b, c_, t] += h
        minus = y_hat.to(F64).clone()
        minus[b, c_, t] -= h
        fp = discretized_mix_logistic_loss(plus, y.to(F64), num_classes, log_scale_min,
                                           False).mean().item()
        fm = discretized_mix_logistic_loss(minus, y.to(F64), num_classes, log_scale_min,
                                           False).mean().item()
        fd = (fp - fm) / (2 * h)
        fd_worst = max(fd_worst, abs(fd - g[b, c_, t].item()))
    check(f"{name}: gradient vs central differences", fd_worst < 1e-7,
          f"(max abs err {fd_worst:.2e})")
    check(f"{name}: clamped log-scale has zero gradient", g[1, 2 * K + 1, 2].item() == 0.0)
    return {
        "name": name,
        "config": {"num_classes": num_classes, "log_scale_min": log_scale_min,
                   "num_mixtures": K, "reduce": False,
                   "layout": "y_hat [B, 3K, T] = [logit_probs | means | log_scales]; "
                             "y [B, T, 1]; value = mean of per_sample",
                   "edge_thresholds": [-0.999, 0.999], "cdf_delta_threshold": 1e-5,
                   "cdf_delta_clamp_min": 1e-12},
        "inputs": {"y_hat": T(y_hat), "y": T(y)},
        "per_sample": T(per.detach().reshape(B, Tn)),
        "value": scalar(value.item()),
        "grads": {"y_hat": T(yh64.grad)},
        "branch_counts": counts,
    }


def make_losses():
    print("losses")
    losses = []

    def simple(name, config, inputs, fn, diff):
        vars64 = {}
        for k, v in inputs.items():
            v64 = v.to(F64).clone()
            if k in diff:
                v64.requires_grad_(True)
            vars64[k] = v64
        val = fn(**vars64)
        val.backward()
        entry = {"name": name, "config": config,
                 "inputs": {k: T(v) for k, v in inputs.items()},
                 "value": scalar(val.item()),
                 "grads": {k: T(vars64[k].grad) for k in diff}}
        losses.append(entry)
        return val, vars64

    x, t = randn(3, 4), randn(3, 4)
    simple("mse", {"reduction": "mean"}, {"x": x, "t": t},
           lambda x, t: F.mse_loss(x, t), ["x"])
    x, t = randn(3, 4), randn(3, 4)
    simple("l1", {"reduction": "mean"}, {"x": x, "t": t},
           lambda x, t: F.l1_loss(x, t), ["x"])

    for name, ls in (("cross_entropy", 0.0), ("cross_entropy_smoothing", 0.1)):
        logits = randn(4, 5)
        target = torch.randint(0, 5, (4,)).to(torch.float32)
        val, v = simple(name, {"reduction": "mean", "label_smoothing": ls},
                        {"logits": logits, "target": target},
                        lambda logits, target, ls=ls: F.cross_entropy(
                            logits, target.long(), label_smoothing=ls), ["logits"])
        lsm = F.log_softmax(logits.to(F64), -1)
        nll = -lsm[torch.arange(4), target.long()]
        ref = ((1 - ls) * nll - ls * lsm.mean(-1)).mean()
        check(f"{name}: (1-eps)*nll + eps*mean_c(-log p_c)", close(val, ref))

    x = randn(3, 4)
    t = torch.randint(0, 2, (3, 4)).to(torch.float32)
    simple("bce_with_logits", {"reduction": "mean"}, {"x": x, "t": t},
           lambda x, t: F.binary_cross_entropy_with_logits(x, t), ["x"])

    mean, target = randn(3, 4), randn(3, 4)
    var = 0.5 + torch.rand(3, 4, dtype=torch.float32)
    val, _ = simple("gaussian_nll", {"full": True, "eps": 1e-6, "reduction": "mean"},
                    {"mean": mean, "target": target, "var": var},
                    lambda mean, target, var: F.gaussian_nll_loss(mean, target, var, full=True),
                    ["mean", "var"])
    m64, t64, v64 = mean.to(F64), target.to(F64), var.to(F64)
    ref = (0.5 * (v64.log() + (m64 - t64) ** 2 / v64) + 0.5 * math.log(2 * math.pi)).mean()
    check("gaussian_nll: mean(0.5*(log var + (x-t)^2/var) + 0.5*log(2pi))", close(val, ref))

    mu, logvar = randn(3, 4), randn(3, 4)
    simple("kl_diag_gaussian", {"formula": "0.5 * sum(exp(logvar) + mu^2 - 1 - logvar, -1)"
                                           ".mean()"},
           {"mu": mu, "logvar": logvar},
           lambda mu, logvar: (0.5 * (logvar.exp() + mu ** 2 - 1.0 - logvar).sum(-1)).mean(),
           ["mu", "logvar"])

    logits = randn(2, 256, 5)
    target = torch.randint(0, 256, (2, 5)).to(torch.float32)
    simple("categorical_mulaw", {"reduction": "mean", "num_classes": 256,
                                 "layout": "logits [B, C, T], target [B, T]"},
           {"logits": logits, "target": target},
           lambda logits, target: F.cross_entropy(logits, target.long()), ["logits"])

    losses.append(mol_case("mol_loss_65536", 65536))
    losses.append(mol_case("mol_loss_256", 256))
    return losses


# ---------------------------------------------------------------- optimizers

OPT_CONFIGS = [
    {"name": "sgd", "type": "SGD", "lr": 0.1},
    {"name": "sgd_momentum_nesterov_wd", "type": "SGD", "lr": 0.05, "momentum": 0.9,
     "nesterov": True, "weight_decay": 0.01},
    {"name": "adam", "type": "Adam", "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8},
    {"name": "adam_amsgrad_wd", "type": "Adam", "lr": 0.01, "weight_decay": 0.01,
     "amsgrad": True},
    {"name": "adamw", "type": "AdamW", "lr": 0.01, "weight_decay": 0.1},
    {"name": "adam_clip", "type": "Adam", "lr": 0.01, "clip_grad_norm": 0.5},
]

SGD_DEFAULTS = {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0}
ADAM_DEFAULTS = {"betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}
ADAMW_DEFAULTS = {"betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01, "amsgrad": False}


def manual_optimizer(cfg, p0, p1, x, t, steps=10):
    """Independent float64 re-implementation (PyTorch semantics) for validation."""
    ps = [p0.to(F64).clone(), p1.to(F64).clone()]
    state = [dict(step=0, buf=None, m=torch.zeros_like(p), v=torch.zeros_like(p),
                  vmax=torch.zeros_like(p)) for p in ps]
    out = []
    for _ in range(steps):
        a = [p.clone().requires_grad_(True) for p in ps]
        loss = ((a[0] @ x + a[1][:, None] - t) ** 2).mean()
        loss.backward()
        grads = [q.grad.detach() for q in a]
        if "clip_grad_norm" in cfg:
            total = torch.sqrt(sum((g ** 2).sum() for g in grads))
            coef = min(cfg["clip_grad_norm"] / (total.item() + 1e-6), 1.0)
            grads = [g * coef for g in grads]
        lr, wd = cfg["lr"], cfg["weight_decay"]
        for i, (p, g) in enumerate(zip(ps, grads)):
            st = state[i]
            if cfg["type"] == "SGD":
                if wd:
                    g = g + wd * p
                if cfg["momentum"]:
                    st["buf"] = g.clone() if st["buf"] is None else \
                        cfg["momentum"] * st["buf"] + (1 - cfg["dampening"]) * g
                    g = g + cfg["momentum"] * st["buf"] if cfg["nesterov"] else st["buf"]
                ps[i] = p - lr * g
            else:
                b1, b2 = cfg["betas"]
                st["step"] += 1
                if cfg["type"] == "AdamW":
                    p = p * (1 - lr * wd)
                elif wd:
                    g = g + wd * p
                st["m"] = b1 * st["m"] + (1 - b1) * g
                st["v"] = b2 * st["v"] + (1 - b2) * g * g
                bc1 = 1 - b1 ** st["step"]
                bc2 = 1 - b2 ** st["step"]
                v = st["v"]
                if cfg["amsgrad"]:
                    st["vmax"] = torch.maximum(st["vmax"], st["v"])
                    v = st["vmax"]
                denom = v.sqrt() / math.sqrt(bc2) + cfg["eps"]
                ps[i] = p - (lr / bc1) * st["m"] / denom
        out.append([q.clone() for q in ps])
    return out


def make_optimizers():
    print("optimizers")
    p0, p1 = param(3, 4), param(3)
    x, t = randn(4, 5), randn(3, 5)
    x64, t64 = x.to(F64), t.to(F64)
    result = []
    for cfg in OPT_CONFIGS:
        full = dict(cfg)
        defaults = {"SGD": SGD_DEFAULTS, "Adam": ADAM_DEFAULTS,
                    "AdamW": ADAMW_DEFAULTS}[cfg["type"]]
        for k, v in defaults.items():
            full.setdefault(k, v)
        params = [p0.to(F64).clone().requires_grad_(True), p1.to(F64).clone().requires_grad_(True)]
        kwargs = {k: full[k] for k in defaults}
        kwargs["lr"] = full["lr"]
        if "betas" in kwargs:
            kwargs["betas"] = tuple(kwargs["betas"])
        opt = getattr(torch.optim, cfg["type"])(params, foreach=False, **kwargs)
        losses, after, clipped = [], [], 0
        for _ in range(10):
            opt.zero_grad()
            loss = ((params[0] @ x64 + params[1][:, None] - t64) ** 2).mean()
            losses.append(float(loss.item()))
            loss.backward()
            if "clip_grad_norm" in cfg:
                norm = torch.nn.utils.clip_grad_norm_(params, cfg["clip_grad_norm"])
                clipped += int(norm.item() > cfg["clip_grad_norm"])
            opt.step()
            after.append({"p0": T(params[0]), "p1": T(params[1])})
        ref = manual_optimizer(full, p0, p1, x64, t64)
        ok = all(close(r[0], torch.tensor(a["p0"]["data"], dtype=F64).reshape(3, 4), 1e-12, 1e-14)
                 and close(r[1], torch.tensor(a["p1"]["data"], dtype=F64), 1e-12, 1e-14)
                 for r, a in zip(ref, after))
        check(f"optimizer {cfg['name']}: matches manual re-implementation, 10 steps", ok,
              f"(loss {losses[0]:.4f} -> {losses[-1]:.4f}"
              + (f"; clipped {clipped}/10 steps)" if "clip_grad_norm" in cfg else ")"))
        entry = dict(full)
        entry.update({"p0": T(p0), "p1": T(p1), "x": T(x), "t": T(t),
                      "loss_formula": "((p0 @ x + p1[:, None] - t)**2).mean()",
                      "losses": losses, "params_after": after})
        result.append(entry)
    return result


# ---------------------------------------------------------------- schedules

def make_schedules():
    print("schedules")
    from torch.optim import lr_scheduler as S
    specs = [
        ("step", {"type": "StepLR", "step_size": 5, "gamma": 0.5},
         lambda o: S.StepLR(o, step_size=5, gamma=0.5),
         lambda s: 0.1 * 0.5 ** (s // 5)),
        ("exponential", {"type": "ExponentialLR", "gamma": 0.9},
         lambda o: S.ExponentialLR(o, gamma=0.9),
         lambda s: 0.1 * 0.9 ** s),
        ("cosine", {"type": "CosineAnnealingLR", "T_max": 20, "eta_min": 0.001},
         lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.001),
         lambda s: 0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * s / 20)) / 2),
        ("warmup_linear", {"type": "LambdaLR", "lr_lambda": "min(1.0, (s + 1) / 5)"},
         lambda o: S.LambdaLR(o, lambda s: min(1.0, (s + 1) / 5)),
         lambda s: 0.1 * min(1.0, (s + 1) / 5)),
    ]
    out = []
    for name, cfg, make, closed in specs:
        p = torch.zeros(1, dtype=F64, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        lrs = []
        for _ in range(20):
            lrs.append(float(opt.param_groups[0]["lr"]))
            opt.step()
            sched.step()
        err = max(abs(a - closed(s)) for s, a in enumerate(lrs))
        check(f"schedule {name}: closed form", err < 1e-12, f"(max abs err {err:.1e})")
        out.append({"name": name, "config": cfg, "base_lr": 0.1, "lrs": lrs})
    return out


# ---------------------------------------------------------------- main

def main():
    torch.manual_seed(0)
    layers = make_layers()
    losses = make_losses()
    optimizers = make_optimizers()
    schedules = make_schedules()
    doc = {
        "meta": {
            "script": "tools/golden/nn_golden.py",
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "dtype_of_reference": "float64",
            "seed": 0,
            "inputs_and_params": "float32 draws stored exactly; references computed in "
                                 "float64 from those values",
            "layer_backward": "loss = (y * grad_y).sum()",
        },
        "layers": layers,
        "losses": losses,
        "optimizers": optimizers,
        "schedules": schedules,
    }
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    with open(OUT_PATH, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(OUT_PATH)
    print(f"\nwrote {os.path.relpath(OUT_PATH, REPO_ROOT)} ({size / 1024:.1f} KiB)")
    print("  layers:     " + ", ".join(e["name"] for e in layers))
    print("  losses:     " + ", ".join(e["name"] for e in losses))
    print("  optimizers: " + ", ".join(e["name"] for e in optimizers))
    print("  schedules:  " + ", ".join(e["name"] for e in schedules))
    if FAILURES:
        print(f"\n{len(FAILURES)} validation failure(s): {FAILURES}")
        sys.exit(1)
    print("all validations passed")


if __name__ == "__main__":
    main()
