#!/usr/bin/env python3
"""PyTorch reference for WaveKit's WaveNet benchmark: sample-by-sample generation
and a teacher-forced training step of the `small` preset.

Usage:
    .venv-tools/bin/python tools/bench/wavenet_torch_bench.py --threads 1 --seconds 0.5 [--json]
        [--repeats 3] [--train-repeats 3] [--seed 0] [--no-check] [--skip-train]

The model is tools/reference/r9y9_wavenet.py's WaveNet (r9y9/wavenet_vocoder's
architecture) with WaveKit's `small` preset: 20 layers in 2 stacks, residual 64,
gate 128, skip 64, kernel 3, 256-class mu-law output with one-hot input, 80 mel
bands upsampled by [4, 4, 4, 4] (hop 256) with cin_pad 2. Weights are random
(seeded). Audio is 22 050 Hz (the tacotron2 mel preset).

Generation (weight norm folded away) uses a hand-optimised incremental loop,
about as fast as eager PyTorch gets from Python:
  * the upsampled mel and every layer's conditioning 1x1 (plus the conv bias and
    the folded constants below) are computed for the whole utterance, for all
    layers at once, as one matmul before the loop ([T, B, layers, gate] floats,
    ~0.9 GB for 8 x 0.5 s, in a buffer reused between runs; this precomputation
    is inside the timed region and reported as conditioning_precompute_ms);
  * each layer keeps a ring buffer of its last (k-1)*dilation+1 inputs and
    computes the dilated conv as a linear map of its k taps with pre-transposed
    weights: by default (--taps split) as k chained torch.addmm calls on
    precomputed views of the ring slots, or (--taps concat) as one torch.addmm
    over the taps concatenated by index_select. Both are checked; on the 2-core
    development machine they were within run-to-run noise of each other (split
    was up to ~15 % faster in some runs);
  * sigmoid(b) = (1 + tanh(b/2))/2, so the gate is one tanh_ over the whole
    [B, gate] pre-activation and one addcmul (the halves are folded into the
    weights); the sqrt(0.5) residual scaling and the output biases are folded
    into the weights / conditioning, so the residual update is one addmm writing
    straight into the next layer's ring buffer;
  * the skip connections are summed by ONE addmm over all layers' gate outputs;
  * sampling is softmax + torch.multinomial; the sampled class is fed back by
    index_select of the first_conv weight row (bias folded in) straight into the
    first layer's ring buffer.
Before timing, the loop is checked against the parallel forward with teacher
forcing (--no-check skips this).

The training step is the reference model as trained (weight norm kept, dropout
0): one-hot input [8, 256, 7936] (31 mel frames x 256), mel [8, 80, 31 + 2*2],
cross entropy of logits[:, :, :-1] against classes[:, 1:], backward, Adam step.

With --json prints one JSON object on stdout, the schema of torch_bench.py:
    {"impl": "pytorch", "version", "threads", "preset": "small",
     "sample_rate": 22050, "seconds": S,
     "results": [{"name": "wavenet small generate 1 utt", "samples_per_s",
                  "median_ms", "min_ms", "gflops": null, ...},
                 {"name": "wavenet small generate 8 utt", ...},
                 {"name": "wavenet small train step B8x7936", "median_ms", ...}]}
For generation, median_ms / min_ms are milliseconds of compute per second of
generated audio (all utterances of the batch together), samples_per_s counts
the samples of all utterances, samples_per_s_per_utt one utterance's.
Progress messages go to stderr.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools", "reference"))
import r9y9_wavenet as ref  # noqa: E402

SAMPLE_RATE = 22050
SMALL = {
    "out_channels": 256, "layers": 20, "stacks": 2, "residual_channels": 64,
    "gate_channels": 128, "skip_out_channels": 64, "kernel_size": 3,
    "cin_channels": 80, "gin_channels": None, "n_speakers": None,
    "upsample_scales": [4, 4, 4, 4], "cin_pad": 2, "scalar_input": False,
    "output_distribution": "mulaw", "log_scale_min": -16.11809565095832,
    "mel_preset": "tacotron2",
}
INITIAL_CLASS = 127   # r9y9's incremental_forward starts from one-hot class 127


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def hop(cfg):
    return math.prod(cfg["upsample_scales"])


def randomise_biases(model, gen):
    """r9y9 initialises biases to zero; give them values so the folding is tested."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)


def build_model(cfg, seed):
    torch.manual_seed(seed)
    model = ref.wavenet_from_config(cfg)
    randomise_biases(model, torch.Generator().manual_seed(seed + 1))
    return model.eval()


# ------------------------------------------------------------ fast generator

class FastGenerator:
    """Incremental mu-law WaveNet generation from a (weight-norm-free) reference."""

    def __init__(self, model, cfg, taps="split"):
        assert not cfg["scalar_input"] and cfg["gin_channels"] is None
        self.model = model
        self.cfg = cfg
        L, k = cfg["layers"], cfg["kernel_size"]
        R, G, S = cfg["residual_channels"], cfg["gate_channels"], cfg["skip_out_channels"]
        G2 = G // 2
        self.L, self.k, self.R, self.G, self.G2, self.S = L, k, R, G, G2, S
        per_stack = L // cfg["stacks"]
        self.dilations = [2 ** (i % per_stack) for i in range(L)]
        self.ring_len = [(k - 1) * d + 1 for d in self.dilations]
        c = math.sqrt(0.5)

        gscale = torch.ones(G)
        gscale[G2:] = 0.5                       # sigmoid(b) = (1 + tanh(b / 2)) / 2
        self.Wt, self.WoT, self.beta = [], [], []
        wc_all, bias_all, wsk_all = [], [], []
        bsk = torch.zeros(S)
        beta = torch.zeros(R)                   # constant offset of the residual stream
        with torch.no_grad():
            for l, layer in enumerate(model.conv_layers):
                cl = c ** l
                W = layer.conv.weight.detach()                      # [G, R, k]
                # taps j = 0..k-1 read x[t - (k-1-j) d]
                self.Wt.append((W * cl * gscale[:, None, None]).permute(2, 1, 0)
                               .reshape(k * R, G).contiguous())
                const = cl * (W.sum(2) @ beta)
                bias_all.append((layer.conv.bias.detach() + const) * gscale)
                wc_all.append(layer.conv1x1c.weight.detach()[:, :, 0] * gscale[:, None])
                Wo = layer.conv1x1_out.weight.detach()[:, :, 0]      # [R, G2]
                self.WoT.append((Wo * (0.5 / cl)).t().contiguous())
                self.beta.append(beta.clone())
                beta = beta + layer.conv1x1_out.bias.detach() / cl
                Wsk = layer.conv1x1_skip.weight.detach()[:, :, 0]    # [S, G2]
                wsk_all.append((Wsk * 0.5 * math.sqrt(1.0 / L)).t())
                bsk += layer.conv1x1_skip.bias.detach()
            self.WcT = torch.stack(wc_all).permute(2, 0, 1).reshape(-1, L * G).contiguous()  # [C, L*G]
            self.cbias_flat = torch.stack(bias_all).reshape(1, L * G).contiguous()
            self._cond_buf = None
            self.WskT = torch.cat(wsk_all, 0).contiguous()          # [L*G2, S]
            self.bsk = bsk * math.sqrt(1.0 / L)
            h1, h3 = model.last_conv_layers[1], model.last_conv_layers[3]
            self.W1T = h1.weight.detach()[:, :, 0].t().contiguous()
            self.b1 = h1.bias.detach().clone()
            self.W3T = h3.weight.detach()[:, :, 0].t().contiguous()
            self.b3 = h3.bias.detach().clone()
            fc = model.first_conv
            self.WfT = (fc.weight.detach()[:, :, 0].t() + fc.bias.detach()).contiguous()  # [256, R]
        self.taps = taps
        self.Wj = [list(w.view(k, R, G).unbind(0)) for w in self.Wt]   # per-tap [R, G]
        self.idx = [[torch.tensor([(p - (k - 1 - j) * d) % n for j in range(k)])
                     for p in range(n)] for d, n in zip(self.dilations, self.ring_len)]

    def conditioning(self, mel_padded):
        """[B, C, F + 2 cin_pad] -> [T, B, L, G]: every layer's conditioning 1x1 with
        the biases and folded constants, as ONE matmul written into a buffer that is
        kept between calls (re-faulting ~1 GB of fresh pages per call would
        otherwise cost as much as the generation itself at B = 8)."""
        cup = self.model.upsample_net(mel_padded)                   # [B, C, T]
        B, C, T = cup.shape
        L, G = self.L, self.G
        x = cup.permute(2, 0, 1).reshape(T * B, C)                  # [T*B, C]
        if self._cond_buf is None or self._cond_buf.shape != (T * B, L * G):
            self._cond_buf = torch.empty(T * B, L * G)
        torch.addmm(self.cbias_flat, x, self.WcT, out=self._cond_buf)
        return self._cond_buf.view(T, B, L, G)

    def run(self, mel_padded, T, gen=None, forced=None):
        """Generates T samples per utterance (or, with forced classes [B, T], runs
        teacher-forced and returns the logits [B, 256, T])."""
        B = mel_padded.shape[0]
        L, k, R, G2 = self.L, self.k, self.R, self.G2
        cond = self.conditioning(mel_padded)
        assert cond.shape[0] >= T
        bufs = [(-beta).expand(n, B, R).contiguous() for beta, n in zip(self.beta, self.ring_len)]
        slots = [list(b.unbind(0)) for b in bufs]
        Z = torch.empty(B, L * G2)
        Zl = [Z[:, l * G2:(l + 1) * G2] for l in range(L)]
        Wt, Wj, WoT, idx, ring_len = self.Wt, self.Wj, self.WoT, self.idx, self.ring_len
        concat = self.taps == "concat"
        # the k ring slots (views) each layer reads at each ring position
        tap_slots = None if concat else [
            [[sl[(p - (k - 1 - j) * d) % n] for j in range(k)] for p in range(n)]
            for sl, d, n in zip(slots, self.dilations, ring_len)]
        WskT, bsk, W1T, b1, W3T, b3, WfT = self.WskT, self.bsk, self.W1T, self.b1, self.W3T, self.b3, self.WfT
        kR = k * R
        last = L - 1
        out, logits_all = [], []
        torch.index_select(WfT, 0, torch.full((B,), INITIAL_CLASS, dtype=torch.long), out=slots[0][0])
        for t in range(T):
            condt = cond[t].unbind(1)                               # L x [B, G]
            for l in range(L):
                p = t % ring_len[l]
                if concat:
                    taps = bufs[l].index_select(0, idx[l][p])       # [k, B, R]
                    taps = taps.view(B, kR) if B == 1 else taps.transpose(0, 1).reshape(B, kR)
                    h = torch.addmm(condt[l], taps, Wt[l])
                else:
                    tp, w = tap_slots[l][p], Wj[l]
                    h = torch.addmm(condt[l], tp[0], w[0])
                    for j in range(1, k):
                        h.addmm_(tp[j], w[j])
                ta, tb = h.tanh_().chunk(2, 1)
                torch.addcmul(ta, ta, tb, out=Zl[l])
                if l < last:
                    torch.addmm(slots[l][p], Zl[l], WoT[l], out=slots[l + 1][t % ring_len[l + 1]])
            s = torch.addmm(bsk, Z, WskT).relu_()
            s = torch.addmm(b1, s, W1T).relu_()
            logits = torch.addmm(b3, s, W3T)
            if forced is None:
                cls = torch.multinomial(torch.softmax(logits, 1), 1, generator=gen).view(B)
            else:
                logits_all.append(logits)
                cls = forced[:, t]
            out.append(cls)
            if t + 1 < T:
                torch.index_select(WfT, 0, cls, out=slots[0][(t + 1) % ring_len[0]])
        if forced is not None:
            return torch.stack(logits_all, 2)
        return torch.stack(out, 1)


def check_generator(cfg, B, frames, seed, taps):
    """Teacher-forced incremental logits == the parallel forward."""
    model = build_model(cfg, seed)
    ref.remove_weight_norm(model)
    fg = FastGenerator(model, cfg, taps)
    T = frames * hop(cfg)
    g = torch.Generator().manual_seed(seed + 2)
    mel = ref.pad_mel(torch.randn(B, cfg["cin_channels"], frames, generator=g), cfg["cin_pad"])
    cls = torch.randint(0, cfg["out_channels"], (B, T), generator=g)
    inp = torch.cat([torch.full((B, 1), INITIAL_CLASS), cls[:, :-1]], 1)   # shifted input
    with torch.inference_mode():
        want = model(F.one_hot(inp, cfg["out_channels"]).transpose(1, 2).float(), c=mel)
        got = fg.run(mel, T, forced=cls)
    err = float((got - want).abs().max())
    scale = float(want.abs().max())
    log(f"  check ({taps}) {cfg['layers']} layers / {cfg['stacks']} stacks, B={B}, T={T}: "
        f"max |incremental - parallel| = {err:.2e} (max |logit| {scale:.2f})")
    if not err <= 1e-4 * max(1.0, scale):
        raise SystemExit("wavenet_torch_bench.py: the incremental loop disagrees with the parallel forward")


# ------------------------------------------------------------------ timing

def bench_generate(cfg, B, seconds, repeats, seed, taps):
    model = build_model(cfg, seed)
    ref.remove_weight_norm(model)
    fg = FastGenerator(model, cfg, taps)
    frames = max(1, round(seconds * SAMPLE_RATE / hop(cfg)))
    T = frames * hop(cfg)
    g = torch.Generator().manual_seed(seed + 3)
    mel = ref.pad_mel(torch.randn(B, cfg["cin_channels"], frames, generator=g), cfg["cin_pad"])
    with torch.inference_mode():
        fg.run(mel[:, :, :1 + 2 * cfg["cin_pad"]], hop(cfg), gen=g)   # warm-up: one frame,
        fg.conditioning(mel)                                          # then the full buffers
        times, pre = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fg.conditioning(mel)
            pre.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            y = fg.run(mel, T, gen=g)
            times.append(time.perf_counter() - t0)
    assert tuple(y.shape) == (B, T)
    audio_s = T / SAMPLE_RATE
    med = statistics.median(times)
    return {
        "name": f"wavenet small generate {B} utt",
        "median_ms": med / audio_s * 1e3,
        "min_ms": min(times) / audio_s * 1e3,
        "gflops": None,
        "samples_per_s": B * T / med,
        "samples_per_s_per_utt": T / med,
        "realtime_factor": audio_s / med,
        "batch": B,
        "samples_per_utt": T,
        "wall_ms": med * 1e3,
        "conditioning_precompute_ms": statistics.median(pre) * 1e3,
        "repeats": repeats,
        "conv_taps": taps,
    }


def bench_train(cfg, repeats, seed, B=8, frames=31):
    model = build_model(cfg, seed).train()
    T = frames * hop(cfg)
    g = torch.Generator().manual_seed(seed + 4)
    cls = torch.randint(0, cfg["out_channels"], (B, T), generator=g)
    x = F.one_hot(cls, cfg["out_channels"]).transpose(1, 2).float().contiguous()
    mel = ref.pad_mel(torch.randn(B, cfg["cin_channels"], frames, generator=g), cfg["cin_pad"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(x, c=mel)
        loss = F.cross_entropy(logits[:, :, :-1], cls[:, 1:])
        loss.backward()
        opt.step()
        return loss

    loss0 = float(step().detach())       # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {
        "name": f"wavenet small train step B{B}x{T}",
        "median_ms": med * 1e3,
        "min_ms": min(times) * 1e3,
        "gflops": None,
        "samples_per_s": B * T / med,
        "batch": B,
        "samples_per_utt": T,
        "first_loss": loss0,
        "repeats": repeats,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=1.0, help="audio generated per utterance")
    p.add_argument("--repeats", type=int, default=3, help="timed generation runs per batch size")
    p.add_argument("--train-repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-check", action="store_true", help="skip the incremental-vs-parallel check")
    p.add_argument("--skip-train", action="store_true")
    p.add_argument("--taps", choices=("split", "concat"), default="split",
                   help="dilated conv as k chained addmm over ring slots (split, default) "
                        "or one addmm over index_select-concatenated taps (concat)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.seconds <= 0:
        p.error("--seconds must be positive")
    if args.repeats < 1 or args.train_repeats < 1:
        p.error("repeats must be >= 1")
    torch.set_num_threads(args.threads)
    cfg = dict(SMALL)

    if not args.no_check:
        log("[pytorch] checking the incremental loop")
        tiny = dict(cfg, layers=8, stacks=2, residual_channels=8, gate_channels=16,
                    skip_out_channels=8, cin_channels=5, upsample_scales=[2, 2])
        for taps in ("split", "concat"):
            check_generator(tiny, B=1, frames=20, seed=args.seed + 10, taps=taps)
            check_generator(tiny, B=3, frames=20, seed=args.seed + 11, taps=taps)
        check_generator(cfg, B=2, frames=6, seed=args.seed + 12, taps=args.taps)

    results = []
    for B in (1, 8):
        log(f"[pytorch t={args.threads}] wavenet small generate {B} utt ({args.seconds} s) ...")
        results.append(bench_generate(cfg, B, args.seconds, args.repeats, args.seed, args.taps))
        log(f"  {results[-1]['samples_per_s']:.0f} samples/s")
    if not args.skip_train:
        log(f"[pytorch t={args.threads}] wavenet small train step ...")
        results.append(bench_train(cfg, args.train_repeats, args.seed))
        log(f"  {results[-1]['median_ms']:.0f} ms")

    report = {"impl": "pytorch", "version": torch.__version__, "threads": args.threads,
              "preset": "small", "sample_rate": SAMPLE_RATE, "seconds": args.seconds,
              "results": results}
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"PyTorch {report['version']}  threads={args.threads}  {args.seconds} s of audio")
        for r in results:
            extra = (f"{r['samples_per_s']:9.0f} samples/s  {r['median_ms']:9.1f} ms per s of audio"
                     if "generate" in r["name"] else f"{r['median_ms']:9.1f} ms per step")
            print(f"  {r['name']:<36} {extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
