"""Read a .safetensors file with the reference `safetensors` package and print it.

Usage:
    .venv-tools/bin/python tools/check_safetensors.py FILE [--expect-json EXPECTED.json]
                                                    [--rtol R] [--atol A] [--allow-extra]

Prints the metadata and, for every tensor, its name, dtype, shape and first
values. This is the proof that a file written by WaveKit can be read by Python.

With --expect-json, compares against a JSON document
    {"tensors": {name: {"shape": [...], "data": [flat row-major values], "dtype": "F32"?}},
     "metadata": {key: value}?}
("dtype" and "metadata" are checked only when present; extra keys are ignored,
so Tests/NNTests/Golden/python_written.json works as an expectation). Values are
compared after converting the tensor to float32 and the expected numbers to
float32; by default they must be equal (NaN matches NaN; "nan", "inf", "-inf"
strings are accepted in the JSON). The file must hold exactly the expected
tensor names unless --allow-extra is given.

Exit status: 0 when the file loads (and matches), 1 on a mismatch, 2 when the
file cannot be read.
"""

import argparse
import json
import sys

import numpy

try:
    import torch
except ImportError:  # numpy alone cannot hold bfloat16; torch is needed for BF16 files
    torch = None

from safetensors import safe_open

PREVIEW = 8


def to_float32(t):
    """Tensor (torch or numpy) -> flat numpy float32 array."""
    if torch is not None and isinstance(t, torch.Tensor):
        return t.detach().to(torch.float32).reshape(-1).numpy()
    return numpy.asarray(t).astype(numpy.float32).reshape(-1)


def dtype_name(t):
    if torch is not None and isinstance(t, torch.Tensor):
        return str(t.dtype).replace("torch.", "")
    return str(t.dtype)


def expected_float32(values):
    out = []
    for v in values:
        if isinstance(v, str):
            v = {"nan": "nan", "inf": "inf", "+inf": "inf", "-inf": "-inf"}[v.lower()]
        out.append(float(v))
    return numpy.asarray(out, dtype=numpy.float64).astype(numpy.float32)


def load(path):
    framework = "pt" if torch is not None else "numpy"
    tensors = {}
    with safe_open(path, framework=framework) as f:
        metadata = f.metadata() or {}
        for name in f.keys():
            tensors[name] = f.get_tensor(name)
    # The header's own dtype strings (F32, BF16, ...), for comparing with "dtype".
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(n).decode("utf-8"))
    header.pop("__metadata__", None)
    return tensors, metadata, header


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--expect-json", dest="expect_json")
    ap.add_argument("--rtol", type=float, default=0.0)
    ap.add_argument("--atol", type=float, default=0.0)
    ap.add_argument("--allow-extra", action="store_true",
                    help="tensors in the file that the JSON does not list are not an error")
    args = ap.parse_args()

    try:
        tensors, metadata, header = load(args.file)
    except Exception as e:  # noqa: BLE001
        print("check_safetensors: cannot read %s: %s: %s" % (args.file, type(e).__name__, e), file=sys.stderr)
        return 2

    print("file: %s" % args.file)
    print("metadata: %s" % json.dumps(metadata, sort_keys=True))
    print("tensors: %d" % len(tensors))
    for name in sorted(tensors):
        t = tensors[name]
        flat = to_float32(t)
        head = ", ".join("%.8g" % v for v in flat[:PREVIEW])
        more = ", ..." if flat.size > PREVIEW else ""
        print("  %-40s %-4s %-8s %-16s [%s%s]" % (
            name, header[name]["dtype"], dtype_name(t), list(t.shape), head, more))

    if not args.expect_json:
        return 0

    with open(args.expect_json) as fh:
        expected = json.load(fh)

    errors = []
    exp_tensors = expected.get("tensors", {})
    missing = sorted(set(exp_tensors) - set(tensors))
    extra = sorted(set(tensors) - set(exp_tensors))
    for name in missing:
        errors.append("missing tensor %r" % name)
    if extra and not args.allow_extra:
        for name in extra:
            errors.append("unexpected tensor %r" % name)

    for name in sorted(set(exp_tensors) & set(tensors)):
        exp = exp_tensors[name]
        t = tensors[name]
        if "dtype" in exp and exp["dtype"] != header[name]["dtype"]:
            errors.append("%s: dtype %s, expected %s" % (name, header[name]["dtype"], exp["dtype"]))
        if list(t.shape) != list(exp["shape"]):
            errors.append("%s: shape %s, expected %s" % (name, list(t.shape), exp["shape"]))
            continue
        got = to_float32(t)
        want = expected_float32(exp["data"])
        if got.size != want.size:
            errors.append("%s: %d values, expected %d" % (name, got.size, want.size))
            continue
        close = numpy.isclose(got, want, rtol=args.rtol, atol=args.atol, equal_nan=True) | (got == want)
        if not close.all():
            bad = numpy.flatnonzero(~close)
            i = int(bad[0])
            errors.append("%s: %d of %d values differ; first at flat index %d: got %r, expected %r" % (
                name, bad.size, got.size, i, float(got[i]), float(want[i])))

    if "metadata" in expected and expected["metadata"] != metadata:
        errors.append("metadata %s, expected %s" % (
            json.dumps(metadata, sort_keys=True), json.dumps(expected["metadata"], sort_keys=True)))

    if errors:
        for e in errors:
            print("MISMATCH: %s" % e, file=sys.stderr)
        print("check_safetensors: %d mismatch(es) against %s" % (len(errors), args.expect_json), file=sys.stderr)
        return 1
    print("OK: matches %s (%d tensors%s)" % (
        args.expect_json, len(exp_tensors), ", metadata" if "metadata" in expected else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
