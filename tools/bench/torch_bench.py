#!/usr/bin/env python3
"""PyTorch reference side of `wavekit bench core`.

Reads the same case file as the Swift benchmark (tools/bench/cases.json),
builds the inputs once per case, runs one warm-up iteration and then
--repeats timed iterations (time.perf_counter). Everything runs under
torch.no_grad() except the "conv1d_train" kind.

With --json it prints exactly one JSON object on stdout:

    {"impl": "pytorch", "version": "<torch.__version__>", "threads": N,
     "results": [{"name": ..., "median_ms": ..., "min_ms": ...,
                  "gflops": float | null, ...}]}

Memory-bound cases ("gated") report "gflops": null and an extra "gbps"
field (bytes moved / median time). Progress messages go to stderr.
"""

import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


# ---------------------------------------------------------------- case setup
#
# Each builder returns (step, flop, bytes_moved, grad_enabled):
#   step()        runs one iteration (what is timed)
#   flop          floating-point operations per iteration, or None
#   bytes_moved   bytes read + written per iteration, or None
#   grad_enabled  whether autograd must be on while timing


def build_matmul(case, gen):
    m, k, n = int(case["m"]), int(case["k"]), int(case["n"])
    a = torch.randn(m, k, generator=gen, dtype=torch.float32)
    b = torch.randn(k, n, generator=gen, dtype=torch.float32)

    def step():
        return a @ b

    return step, 2.0 * m * n * k, None, False


def build_conv1d_stack(case, gen):
    batch = int(case["batch"])
    cin, cout = int(case["in_channels"]), int(case["out_channels"])
    kernel, length = int(case["kernel"]), int(case["length"])
    dilations = [int(d) for d in case["dilations"]]
    padding = case.get("padding", "same")
    if padding != "same":
        raise ValueError(f"conv1d_stack: unsupported padding {padding!r}")
    if (kernel - 1) % 2 != 0:
        raise ValueError("conv1d_stack: 'same' padding needs an odd kernel")

    x = torch.randn(batch, cin, length, generator=gen, dtype=torch.float32)
    layers = []
    for d in dilations:
        w = torch.randn(cout, cin, kernel, generator=gen, dtype=torch.float32)
        w *= (cin * kernel) ** -0.5
        b = torch.randn(cout, generator=gen, dtype=torch.float32)
        # kernel 3 -> pad d on both sides; general odd kernel -> d*(k-1)/2.
        layers.append((w, b, d, d * (kernel - 1) // 2))

    def step():
        out = None
        for w, b, d, pad in layers:
            out = F.conv1d(x, w, b, dilation=d, padding=pad)
        return out

    flop = sum(2.0 * batch * cout * cin * kernel * length for _ in dilations)
    return step, flop, None, False


def build_conv1d_train(case, gen):
    batch = int(case["batch"])
    cin, cout = int(case["in_channels"]), int(case["out_channels"])
    kernel, length = int(case["kernel"]), int(case["length"])
    dilation = int(case.get("dilation", 1))
    padding = case.get("padding", "causal")
    if padding != "causal":
        raise ValueError(f"conv1d_train: unsupported padding {padding!r}")

    x = torch.randn(batch, cin, length, generator=gen, dtype=torch.float32)
    w = torch.randn(cout, cin, kernel, generator=gen, dtype=torch.float32)
    w *= (cin * kernel) ** -0.5
    b = torch.randn(cout, generator=gen, dtype=torch.float32)
    g = torch.randn(batch, cout, length, generator=gen, dtype=torch.float32)
    x.requires_grad_(True)
    w.requires_grad_(True)
    b.requires_grad_(True)
    left = (kernel - 1) * dilation

    def step():
        x.grad = None
        w.grad = None
        b.grad = None
        y = F.conv1d(F.pad(x, (left, 0)), w, b, dilation=dilation)
        y.backward(g)
        return y

    flop = 3.0 * 2.0 * batch * cout * cin * kernel * length
    return step, flop, None, True


def build_gated(case, gen):
    n = int(case["elements"])
    a = torch.randn(n, generator=gen, dtype=torch.float32)
    b = torch.randn(n, generator=gen, dtype=torch.float32)

    def step():
        return torch.tanh(a) * torch.sigmoid(b)

    # Memory-bound: report GB/s (read a, read b, write y), no GFLOP figure.
    return step, None, 3.0 * 4.0 * n, False


BUILDERS = {
    "matmul": build_matmul,
    "conv1d_stack": build_conv1d_stack,
    "conv1d_train": build_conv1d_train,
    "gated": build_gated,
}


# ------------------------------------------------------------------- timing

def run_case(case, repeats, seed):
    kind = case["kind"]
    if kind not in BUILDERS:
        raise ValueError(f"case {case.get('name')!r}: unknown kind {kind!r}")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        step, flop, nbytes, grad_enabled = BUILDERS[kind](case, gen)

    times = []
    with torch.set_grad_enabled(grad_enabled):
        step()  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)

    median_s = statistics.median(times)
    result = {
        "name": case["name"],
        "median_ms": median_s * 1e3,
        "min_ms": min(times) * 1e3,
        "gflops": (flop / median_s / 1e9) if flop is not None else None,
    }
    if nbytes is not None:
        result["gbps"] = nbytes / median_s / 1e9
    return result


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(report, out=sys.stdout):
    print(f"PyTorch {report['version']}  threads={report['threads']}", file=out)
    width = max([len("case")] + [len(r["name"]) for r in report["results"]])
    header = (f"{'case':<{width}}  {'median ms':>10}  {'min ms':>10}  "
              f"{'GFLOP/s':>9}  {'GB/s':>7}")
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in report["results"]:
        print(f"{r['name']:<{width}}  {r['median_ms']:>10.3f}  "
              f"{r['min_ms']:>10.3f}  {fmt(r['gflops'], '9.1f'):>9}  "
              f"{fmt(r.get('gbps'), '7.1f'):>7}", file=out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", default="tools/bench/cases.json")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", action="append", default=[],
                   help="run only cases whose name contains this text "
                        "(may be repeated)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout instead of a table")
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.repeats < 1:
        p.error("--repeats must be >= 1")

    with open(args.cases) as f:
        cases = json.load(f)["cases"]
    if args.only:
        cases = [c for c in cases if any(s in c["name"] for s in args.only)]

    torch.set_num_threads(args.threads)

    results = []
    for i, case in enumerate(cases):
        print(f"[pytorch t={args.threads}] {case['name']} ...",
              file=sys.stderr, flush=True)
        results.append(run_case(case, args.repeats, args.seed + i))

    report = {
        "impl": "pytorch",
        "version": torch.__version__,
        "threads": args.threads,
        "results": results,
    }
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
