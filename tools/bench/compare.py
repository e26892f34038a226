#!/usr/bin/env python3
"""Combine `wavekit bench core --json` and `torch_bench.py --json` outputs.

Usage:
    compare.py [--cpu TEXT] [--repeats N] [--save OUT.json] RESULT.json...

Each RESULT.json holds one object of the shared schema
    {"impl": "wavekit" | "pytorch", "version": ..., "threads": N,
     "results": [{"name", "median_ms", "min_ms", "gflops", ["gbps"]}]}
Files may be given in any order; they are paired by thread count.

Prints one table: case, threads, WaveKit median ms, PyTorch median ms,
ratio (PyTorch time / WaveKit time; > 1 means WaveKit is faster),
WaveKit GFLOP/s, PyTorch GFLOP/s. For cases with "gflops": null the
GFLOP/s columns show GB/s instead when a "gbps" field is present.
With --save, writes the combined JSON (raw runs + table rows) to OUT.json.
"""

import argparse
import datetime
import json
import os
import sys

IMPLS = ("wavekit", "pytorch")


def load(path):
    with open(path) as f:
        text = f.read()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise SystemExit(f"compare.py: {path}: not valid JSON ({e})")
    for key in ("impl", "threads", "results"):
        if key not in obj:
            raise SystemExit(f"compare.py: {path}: missing key {key!r}")
    if obj["impl"] not in IMPLS:
        raise SystemExit(f"compare.py: {path}: unknown impl {obj['impl']!r}")
    return obj


def rate(r):
    """(value, unit) for the throughput column of one result, or None."""
    if r is None:
        return None
    if r.get("gflops") is not None:
        return float(r["gflops"]), "GFLOP/s"
    if r.get("gbps") is not None:
        return float(r["gbps"]), "GB/s"
    return None


def fmt_rate(x):
    if x is None:
        return "-"
    value, unit = x
    return f"{value:.1f}" if unit == "GFLOP/s" else f"{value:.1f} GB/s"


def fmt_ms(x):
    return "-" if x is None else f"{x:.3f}"


def build_rows(runs):
    """Rows ordered by case (first-seen order), then thread count."""
    by_key = {}          # (impl, threads) -> {name: result}
    case_order = []
    threads = set()
    for run in runs:
        t = int(run["threads"])
        threads.add(t)
        slot = by_key.setdefault((run["impl"], t), {})
        for r in run["results"]:
            slot[r["name"]] = r
            if r["name"] not in case_order:
                case_order.append(r["name"])

    rows = []
    for name in case_order:
        for t in sorted(threads):
            wk = by_key.get(("wavekit", t), {}).get(name)
            pt = by_key.get(("pytorch", t), {}).get(name)
            if wk is None and pt is None:
                continue
            wk_ms = wk["median_ms"] if wk else None
            pt_ms = pt["median_ms"] if pt else None
            ratio = (pt_ms / wk_ms) if (wk_ms and pt_ms) else None
            wk_rate, pt_rate = rate(wk), rate(pt)
            rows.append({
                "case": name,
                "threads": t,
                "wavekit_median_ms": wk_ms,
                "pytorch_median_ms": pt_ms,
                "wavekit_min_ms": wk["min_ms"] if wk else None,
                "pytorch_min_ms": pt["min_ms"] if pt else None,
                "ratio": ratio,
                "wavekit_gflops": wk.get("gflops") if wk else None,
                "pytorch_gflops": pt.get("gflops") if pt else None,
                "wavekit_gbps": wk.get("gbps") if wk else None,
                "pytorch_gbps": pt.get("gbps") if pt else None,
                "_wk_rate": wk_rate,
                "_pt_rate": pt_rate,
            })
    return rows


def print_table(rows, out=sys.stdout):
    headers = ["case", "threads", "WaveKit ms", "PyTorch ms",
               "ratio", "WaveKit GFLOP/s", "PyTorch GFLOP/s"]
    cells = []
    for r in rows:
        cells.append([
            r["case"],
            str(r["threads"]),
            fmt_ms(r["wavekit_median_ms"]),
            fmt_ms(r["pytorch_median_ms"]),
            "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
            fmt_rate(r["_wk_rate"]),
            fmt_rate(r["_pt_rate"]),
        ])
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(headers)]

    def line(vals):
        parts = [vals[0].ljust(widths[0])]
        parts += [v.rjust(w) for v, w in zip(vals[1:], widths[1:])]
        return "  ".join(parts)

    print(line(headers), file=out)
    print("-" * len(line(headers)), file=out)
    for c in cells:
        print(line(c), file=out)
    print("ratio = PyTorch median / WaveKit median (> 1: WaveKit faster). "
          "Memory-bound cases show GB/s.", file=out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+", help="result JSON files")
    p.add_argument("--cpu", default=None, help="CPU model, stored in --save")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--note", action="append", default=[],
                   help="free-form note stored in --save (may be repeated)")
    p.add_argument("--save", default=None, help="write combined JSON here")
    args = p.parse_args(argv)

    runs = [load(f) for f in args.files]
    rows = build_rows(runs)
    print_table(rows)

    if args.save:
        versions = {}
        for run in runs:
            versions.setdefault(run["impl"], run.get("version"))
        combined = {
            "date": datetime.datetime.now().astimezone().isoformat(
                timespec="seconds"),
            "cpu": args.cpu,
            "repeats": args.repeats,
            "versions": versions,
            "notes": args.note,
            "rows": [{k: v for k, v in r.items() if not k.startswith("_")}
                     for r in rows],
            "runs": runs,
        }
        d = os.path.dirname(args.save)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(args.save, "w") as f:
            json.dump(combined, f, indent=2)
            f.write("\n")
        print(f"saved {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
