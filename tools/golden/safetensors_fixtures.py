"""Generate safetensors fixtures for WaveKit's safetensors reader tests.

Writes, under Tests/NNTests/Golden/ (relative to the repo root):

  python_written.safetensors   written by the `safetensors` package itself
                               (safetensors.torch.save_file; then only the key
                               order inside "__metadata__" is made canonical,
                               see canonicalize_metadata_order), fixed values:
        "f32"     float32  [2, 3] = [[1, -2.5, 3.25], [0, 1e-3, -7]]
        "f16"     float16  [4]    = [1, -0.5, 65504, 6.1e-05]
        "bf16"    bfloat16 [2, 2] = [[1, -2], [0.15625, 3e38]]
        "f64"     float64  [3]    = [1e-300, -1.5, 2**40]
        "i64"     int64    [3]    = [-3, 0, 2**40]
        "i32"     int32    [2]    = [-7, 123456]
        "scalar"  float32  []     = 4.5
        "empty"   float32  [0, 3]
        "layers.0.conv.weight_v" float32 [2, 1, 3] = arange(6)
        "layers.0.conv.weight_g" float32 [2, 1, 1] = [[[0.5]], [[2]]]
        "layers.1.conv.bias"     float32 [2]       = [-1, 1]
      metadata = {"format": "pt", "family": "test", "config": "{\"channels\": 2}"}

  python_written.json          what a Float32 reader must produce:
        {"tensors": {name: {"dtype", "shape", "data", ["int_data"], "data_offsets"}},
         "metadata": {...}, "header_length": N, "file_size": N, "bad_files": {...}}
      "data" is the flattened (row-major) tensor converted to float32 by
      torch/numpy (so f16/bf16 rounding and the f64 underflow of 1e-300 to 0 are
      already applied); JSON numbers are the exact float32 values printed as
      doubles. Integer tensors also carry their exact values in "int_data".
      "data_offsets" are those of the written header (relative to the data
      section, which starts at 8 + header_length).

  bad_*.safetensors            hand-packed broken files for error tests (each is
      rejected by the `safetensors` package; the error it raises is recorded in
      python_written.json under "bad_files"):
        bad_offsets        a tensor's data_offsets end past the end of the buffer
        bad_overlap        two tensors with overlapping byte ranges
        bad_header_length  header length u64 larger than the whole file
        bad_json           valid header length, header bytes are not JSON
        bad_shape          shape [1000000, 1000000] with a 16-byte range

Regenerate (from the repo root):
    tools/venv.sh
    .venv-tools/bin/python tools/golden/safetensors_fixtures.py
"""

import json
import os
import struct
import sys

import numpy
import torch
from safetensors import safe_open
from safetensors.torch import save_file

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "Tests", "NNTests", "Golden")

METADATA = {"format": "pt", "family": "test", "config": "{\"channels\": 2}"}

DTYPE_NAMES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
}


def make_tensors():
    return {
        "f32": torch.tensor([[1.0, -2.5, 3.25], [0.0, 1e-3, -7.0]], dtype=torch.float32),
        "f16": torch.tensor([1.0, -0.5, 65504.0, 6.1e-05], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -2.0, 0.15625, 3e38], dtype=torch.bfloat16).reshape(2, 2),
        "f64": torch.tensor([1e-300, -1.5, 2.0 ** 40], dtype=torch.float64),
        "i64": torch.tensor([-3, 0, 2 ** 40], dtype=torch.int64),
        "i32": torch.tensor([-7, 123456], dtype=torch.int32),
        "scalar": torch.tensor(4.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "layers.0.conv.weight_v": torch.arange(6, dtype=torch.float32).reshape(2, 1, 3),
        "layers.0.conv.weight_g": torch.tensor([0.5, 2.0], dtype=torch.float32).reshape(2, 1, 1),
        "layers.1.conv.bias": torch.tensor([-1.0, 1.0], dtype=torch.float32),
    }


def read_header(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    return n, json.loads(raw[8:8 + n].decode("utf-8")), len(raw)


def canonicalize_metadata_order(path):
    """The package writes "__metadata__" from a Rust HashMap, so its key order
    (and so the file's bytes) changes from run to run. Rewrite just that object
    in METADATA's order, in place: same JSON value, same header length (padded
    with spaces as before), same data bytes; the file stays byte-for-byte
    reproducible. Tensor entries are already written in a fixed order."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    reordered = {"__metadata__": {k: header["__metadata__"][k] for k in METADATA}}
    reordered.update((k, v) for k, v in header.items() if k != "__metadata__")
    new = json.dumps(reordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert len(new) <= n and json.loads(new) == header, "canonical header does not fit"
    with open(path, "wb") as f:
        f.write(raw[:8] + new + b" " * (n - len(new)) + raw[8 + n:])


def pack(header_bytes, data, length=None):
    """u64 little-endian header length + header + data. The header is padded
    with spaces to a multiple of 8 bytes, as the reference writer does."""
    pad = (-len(header_bytes)) % 8
    header_bytes = header_bytes + b" " * pad
    n = len(header_bytes) if length is None else length
    return struct.pack("<Q", n) + header_bytes + data


def header_json(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def bad_files():
    """name -> (bytes, reason)."""
    f32x2 = struct.pack("<2f", 1.0, 2.0)  # 8 bytes
    f32x4 = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)  # 16 bytes
    out = {}
    out["bad_offsets"] = (
        pack(header_json({
            "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
        }), f32x2),
        "tensor 'a' F32 [4] has data_offsets [0, 16] but the data section holds only 8 bytes",
    )
    out["bad_overlap"] = (
        pack(header_json({
            "a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
            "b": {"dtype": "F32", "shape": [3], "data_offsets": [4, 16]},
        }), f32x4),
        "tensors 'a' [0, 12) and 'b' [4, 16) overlap in a 16-byte data section",
    )
    good_header = header_json({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})
    out["bad_header_length"] = (
        pack(good_header, f32x2, length=1 << 20),
        "header length field is 1048576 but the file is far smaller",
    )
    out["bad_json"] = (
        pack(b"{this is not json}", f32x2),
        "header length is consistent with the file but the header bytes are not valid JSON",
    )
    out["bad_shape"] = (
        pack(header_json({
            "a": {"dtype": "F32", "shape": [1000000, 1000000], "data_offsets": [0, 16]},
        }), f32x4),
        "tensor 'a' F32 [1000000, 1000000] needs 4e12 bytes but data_offsets span 16 bytes",
    )
    return out


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    tensors = make_tensors()
    st_path = os.path.join(OUT_DIR, "python_written.safetensors")
    save_file(tensors, st_path, metadata=METADATA)
    os.chmod(st_path, 0o644)  # the writer creates it 0600
    canonicalize_metadata_order(st_path)

    header_length, header, file_size = read_header(st_path)

    # Round-trip through the package to make sure what we describe is what it reads.
    expected = {}
    with safe_open(st_path, framework="pt") as f:
        assert f.metadata() == METADATA, f.metadata()
        assert sorted(f.keys()) == sorted(tensors.keys())
        for name, t in tensors.items():
            back = f.get_tensor(name)
            assert back.dtype == t.dtype and back.shape == t.shape and torch.equal(back, t), name
            as_f32 = t.to(torch.float32).reshape(-1).numpy()
            entry = {
                "dtype": DTYPE_NAMES[t.dtype],
                "shape": list(t.shape),
                "data": [float(numpy.float32(v)) for v in as_f32],
                "data_offsets": header[name]["data_offsets"],
            }
            assert header[name]["dtype"] == entry["dtype"] and header[name]["shape"] == entry["shape"]
            if not t.dtype.is_floating_point:
                entry["int_data"] = [int(v) for v in t.reshape(-1).tolist()]
            expected[name] = entry

    bad = {}
    for name, (blob, reason) in bad_files().items():
        path = os.path.join(OUT_DIR, name + ".safetensors")
        with open(path, "wb") as fh:
            fh.write(blob)
        try:
            with safe_open(path, framework="numpy") as f:
                for k in f.keys():
                    f.get_tensor(k)
        except Exception as e:  # noqa: BLE001 - we want the message, whatever the type
            err = "%s: %s" % (type(e).__name__, e)
        else:
            sys.exit("safetensors_fixtures.py: %s was accepted by safetensors; it must be rejected" % name)
        bad[name + ".safetensors"] = {"reason": reason, "python_error": err, "size": len(blob)}
        print("wrote %s (%d bytes) -> python rejects it with %s" % (path, len(blob), err))

    doc = {
        "source": "tools/golden/safetensors_fixtures.py (safetensors.torch.save_file)",
        "file": "python_written.safetensors",
        "file_size": file_size,
        "header_length": header_length,
        "metadata": METADATA,
        "tensors": expected,
        "bad_files": bad,
    }
    json_path = os.path.join(OUT_DIR, "python_written.json")
    with open(json_path, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    print("wrote %s (%d bytes, header %d bytes, %d tensors)" % (st_path, file_size, header_length, len(tensors)))
    print("wrote %s" % json_path)


if __name__ == "__main__":
    main()
