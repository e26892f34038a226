#!/usr/bin/env python3
"""PyTorch reference for WaveKit's WaveGlow benchmark: inference (infer) of
NVIDIA's 256-channel WaveGlow on the CPU.

Usage:
    .venv-tools/bin/python tools/bench/waveglow_torch_bench.py --threads 1 [--seconds 1,10]
        [--repeats 3] [--sigma 0.6] [--seed 0] [--json]

The model is tools/reference/nvidia_waveglow.py's WaveGlow (NVIDIA/waveglow's
glow.py) with the configuration of NVIDIA's published waveglow_256channels
checkpoints: n_mel_channels 80, n_flows 12, n_group 8, n_early_every 4,
n_early_size 2, WN 8 layers x 256 channels, kernel 3 (87.7 M parameters with weight norm removed).
Weights are random (seeded; WN.end small random instead of NVIDIA's zeros, which
does not change the cost). Weight norm is removed first (NVIDIA's
WaveGlow.remove_weightnorm, as its inference.py does). Inference is
model.infer(mel, sigma=0.6) under torch.inference_mode(), float32, batch 1,
from a random mel of round(seconds * 22050 / 256) frames; the output has
frames * 256 samples at 22 050 Hz (the tacotron2 mel preset). The noise is
drawn inside the timed region, as in NVIDIA's infer.

With --json prints one JSON object on stdout, the schema of torch_bench.py:
    {"impl": "pytorch", "version", "threads", "preset": "nvidia-256",
     "sample_rate": 22050, "sigma": 0.6,
     "results": [{"name": "waveglow nvidia-256 infer 1 s", "median_ms", "min_ms",
                  "gflops": null, "realtime_factor", "samples_per_s",
                  "audio_seconds", "frames", "samples", "repeats"}, ...]}
median_ms / min_ms are wall milliseconds of one infer call; realtime_factor =
audio seconds / median wall seconds (> 1 is faster than real time).
Progress messages go to stderr.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools", "reference"))
import nvidia_waveglow as ref  # noqa: E402

SAMPLE_RATE = 22050
HOP = 256
NVIDIA_256 = {
    "n_mel_channels": 80, "n_flows": 12, "n_group": 8, "n_early_every": 4, "n_early_size": 2,
    "n_layers": 8, "n_channels": 256, "kernel_size": 3,
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build_model(seed):
    torch.manual_seed(seed)
    model = ref.waveglow_from_config(NVIDIA_256, end_init_std=0.01)
    ref.WaveGlow.remove_weightnorm(model)
    return model.eval()


def bench_infer(model, seconds, repeats, sigma, seed):
    frames = max(1, round(seconds * SAMPLE_RATE / HOP))
    g = torch.Generator().manual_seed(seed + 1)
    mel = torch.randn(1, NVIDIA_256["n_mel_channels"], frames, generator=g)
    noise = torch.Generator().manual_seed(seed + 2)
    with torch.inference_mode():
        y = model.infer(mel, sigma=sigma, generator=noise)          # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            y = model.infer(mel, sigma=sigma, generator=noise)
            times.append(time.perf_counter() - t0)
    samples = frames * HOP
    assert tuple(y.shape) == (1, samples), y.shape
    if not torch.isfinite(y).all():
        raise SystemExit("waveglow_torch_bench.py: infer produced non-finite audio")
    audio_s = samples / SAMPLE_RATE
    med = statistics.median(times)
    return {
        "name": f"waveglow nvidia-256 infer {seconds:g} s",
        "median_ms": med * 1e3,
        "min_ms": min(times) * 1e3,
        "gflops": None,
        "realtime_factor": audio_s / med,
        "samples_per_s": samples / med,
        "audio_seconds": audio_s,
        "frames": frames,
        "samples": samples,
        "batch": 1,
        "repeats": repeats,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", default="1,10", help="comma-separated audio lengths in seconds")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sigma", type=float, default=0.6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    try:
        lengths = [float(s) for s in args.seconds.split(",") if s.strip()]
    except ValueError:
        p.error("--seconds takes numbers, e.g. 1,10")
    if not lengths or any(s <= 0 for s in lengths):
        p.error("--seconds must be positive")
    torch.set_num_threads(args.threads)

    model = build_model(args.seed)
    n_params = sum(t.numel() for t in model.parameters())
    log(f"[pytorch t={args.threads}] waveglow nvidia-256: {n_params / 1e6:.1f} M parameters")
    results = []
    for s in lengths:
        log(f"[pytorch t={args.threads}] waveglow nvidia-256 infer {s:g} s ...")
        results.append(bench_infer(model, s, args.repeats, args.sigma, args.seed))
        log(f"  {results[-1]['median_ms']:.0f} ms, real-time factor {results[-1]['realtime_factor']:.3f}")

    report = {"impl": "pytorch", "version": torch.__version__, "threads": args.threads,
              "preset": "nvidia-256", "sample_rate": SAMPLE_RATE, "sigma": args.sigma,
              "parameters": n_params, "results": results}
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"PyTorch {report['version']}  threads={args.threads}  sigma={args.sigma}")
        for r in results:
            print(f"  {r['name']:<34} {r['median_ms']:10.1f} ms  real-time factor "
                  f"{r['realtime_factor']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
