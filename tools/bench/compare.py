#!/usr/bin/env python3
"""Combine `wavekit bench ... --json` outputs with reference implementations'.

Usage:
    compare.py [--cpu TEXT] [--repeats N] [--note TEXT]... [--save OUT.json]
               [--layout auto|pair|multi] RESULT.json...

Each RESULT.json holds one object of the shared schema
    {"impl": "wavekit" | "pytorch" | "librosa" | "torch" | ..., "version": ...,
     "threads": N,
     "results": [{"name", "median_ms", "min_ms", "gflops", ["gbps"], ["lib"]}]}
"wavekit" is the implementation under test; every other impl is a reference.
Files may be given in any order; they are matched by thread count and case
name.

Layouts (--layout auto, the default, picks "pair" when there is at most one
reference impl, as for `wavekit bench core` vs torch_bench.py, and "multi"
otherwise):

  pair   one row per case and thread count: case, threads, WaveKit median ms,
         reference median ms, ratio (reference time / WaveKit time; > 1 means
         WaveKit is faster), WaveKit GFLOP/s, reference GFLOP/s. For cases
         with "gflops": null the GFLOP/s columns show GB/s instead when a
         "gbps" field is present.
  multi  one row per case, thread count and reference impl that has the case:
         case, threads, reference (its "lib" when the result names one, e.g.
         soundfile, else the impl), WaveKit median ms, reference median ms,
         ratio (reference / WaveKit). A case no reference has gets one row
         with reference "-".

With --save, writes the combined JSON (raw runs + table rows) to OUT.json.
"""

import argparse
import datetime
import json
import os
import sys

WAVEKIT = "wavekit"
DEFAULT_REFERENCE = "pytorch"   # pair layout when only WaveKit runs are given
DISPLAY = {"wavekit": "WaveKit", "pytorch": "PyTorch"}


def display(impl):
    return DISPLAY.get(impl, impl)


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
    if not isinstance(obj["impl"], str) or not obj["impl"]:
        raise SystemExit(f"compare.py: {path}: bad impl {obj['impl']!r}")
    return obj


def references(runs):
    """Non-WaveKit impls in order of first appearance."""
    refs = []
    for run in runs:
        if run["impl"] != WAVEKIT and run["impl"] not in refs:
            refs.append(run["impl"])
    return refs


def index_runs(runs):
    """({(impl, threads): {name: result}}, case names in first-seen order,
    sorted thread counts)."""
    by_key = {}
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
    return by_key, case_order, sorted(threads)


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


def build_rows(runs, ref=DEFAULT_REFERENCE):
    """Pair layout: rows ordered by case (first-seen order), then thread
    count; WaveKit against the single reference impl `ref`."""
    by_key, case_order, threads = index_runs(runs)

    rows = []
    for name in case_order:
        for t in threads:
            wk = by_key.get((WAVEKIT, t), {}).get(name)
            pt = by_key.get((ref, t), {}).get(name)
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
                f"{ref}_median_ms": pt_ms,
                "wavekit_min_ms": wk["min_ms"] if wk else None,
                f"{ref}_min_ms": pt["min_ms"] if pt else None,
                "ratio": ratio,
                "wavekit_gflops": wk.get("gflops") if wk else None,
                f"{ref}_gflops": pt.get("gflops") if pt else None,
                "wavekit_gbps": wk.get("gbps") if wk else None,
                f"{ref}_gbps": pt.get("gbps") if pt else None,
                "_wk_rate": wk_rate,
                "_pt_rate": pt_rate,
            })
    return rows


def build_multi_rows(runs, refs):
    """Multi layout: rows ordered by case (first-seen order), thread count,
    then reference impl (order of `refs`)."""
    by_key, case_order, threads = index_runs(runs)

    rows = []
    for name in case_order:
        for t in threads:
            wk = by_key.get((WAVEKIT, t), {}).get(name)
            have = [(ref, by_key.get((ref, t), {}).get(name)) for ref in refs]
            have = [(ref, r) for ref, r in have if r is not None]
            if wk is None and not have:
                continue
            wk_ms = wk["median_ms"] if wk else None
            for ref, r in (have or [(None, None)]):
                ref_ms = r["median_ms"] if r else None
                rows.append({
                    "case": name,
                    "threads": t,
                    "reference": ref,
                    "reference_lib": r.get("lib") if r else None,
                    "wavekit_median_ms": wk_ms,
                    "reference_median_ms": ref_ms,
                    "wavekit_min_ms": wk["min_ms"] if wk else None,
                    "reference_min_ms": r["min_ms"] if r else None,
                    "ratio": (ref_ms / wk_ms) if (wk_ms and ref_ms) else None,
                })
    return rows


def format_table(headers, cells, out):
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


def print_table(rows, out=sys.stdout, ref=DEFAULT_REFERENCE):
    name = display(ref)
    headers = ["case", "threads", "WaveKit ms", f"{name} ms",
               "ratio", "WaveKit GFLOP/s", f"{name} GFLOP/s"]
    cells = []
    for r in rows:
        cells.append([
            r["case"],
            str(r["threads"]),
            fmt_ms(r["wavekit_median_ms"]),
            fmt_ms(r[f"{ref}_median_ms"]),
            "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
            fmt_rate(r["_wk_rate"]),
            fmt_rate(r["_pt_rate"]),
        ])
    format_table(headers, cells, out)
    print(f"ratio = {name} median / WaveKit median (> 1: WaveKit faster). "
          "Memory-bound cases show GB/s.", file=out)


def print_multi_table(rows, out=sys.stdout):
    headers = ["case", "threads", "reference", "WaveKit ms", "reference ms",
               "ratio"]
    cells = []
    for r in rows:
        cells.append([
            r["case"],
            str(r["threads"]),
            r["reference_lib"] or r["reference"] or "-",
            fmt_ms(r["wavekit_median_ms"]),
            fmt_ms(r["reference_median_ms"]),
            "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
        ])
    format_table(headers, cells, out)
    print("ratio = reference median / WaveKit median (> 1: WaveKit faster).",
          file=out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+", help="result JSON files")
    p.add_argument("--cpu", default=None, help="CPU model, stored in --save")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--note", action="append", default=[],
                   help="free-form note stored in --save (may be repeated)")
    p.add_argument("--save", default=None, help="write combined JSON here")
    p.add_argument("--layout", choices=("auto", "pair", "multi"),
                   default="auto",
                   help="pair: WaveKit vs one reference with GFLOP/s columns; "
                        "multi: one row per reference impl; auto (default): "
                        "pair when there is at most one reference impl")
    args = p.parse_args(argv)

    runs = [load(f) for f in args.files]
    refs = references(runs)
    ref = refs[0] if refs else DEFAULT_REFERENCE
    layout = args.layout
    if layout == "auto":
        layout = "pair" if len(refs) <= 1 else "multi"
    if layout == "pair":
        if len(refs) > 1:
            p.error(f"--layout pair needs at most one reference impl, got "
                    f"{', '.join(refs)}")
        rows = build_rows(runs, ref)
        print_table(rows, ref=ref)
    else:
        rows = build_multi_rows(runs, refs)
        print_multi_table(rows)

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
        if layout == "multi":
            combined["layout"] = "multi"
            combined["references"] = refs
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
