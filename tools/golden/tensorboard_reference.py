"""Write a reference TensorBoard event file with PyTorch's own SummaryWriter and
print its record framing, for comparison with WaveKit's event writer.

Writes Tests/TrainingTests/Golden/reference.tfevents (relative to the repo root):
    record 0: Event{wall_time, file_version: "brain.Event:2", source_metadata{writer}}
              (written by tensorboard's EventFileWriter when the writer opens)
    record 1: Event{wall_time, step: 1, summary{value{tag: "loss", simple_value: 0.5}}}

Every clock the writer reads is pinned to WALL_TIME (1700000000.0 s), so the file
is byte-for-byte reproducible.

TFRecord framing of every record (all integers little-endian):
    uint64 length
    uint32 masked_crc32c(the 8 length bytes)
    byte   data[length]          (a serialized tensorboard Event proto)
    uint32 masked_crc32c(data)
with crc32c = CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and
final xor 0xFFFFFFFF; crc32c(b"123456789") == 0xE3069283) and
    masked(crc) = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

Regenerate (from the repo root):
    tools/venv.sh
    .venv-tools/bin/python tools/golden/tensorboard_reference.py
"""

import os
import shutil
import struct
import sys
import tempfile

import tensorboard.summary.writer.event_file_writer as event_file_writer
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c, masked_crc32c
from torch.utils.tensorboard import SummaryWriter

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_PATH = os.path.join(REPO_ROOT, "Tests", "TrainingTests", "Golden", "reference.tfevents")
WALL_TIME = 1700000000.0


class _FixedClock:
    """Stands in for the `time` module inside tensorboard's event_file_writer."""

    @staticmethod
    def time():
        return WALL_TIME


def hexbytes(b):
    return " ".join("%02x" % x for x in b)


def write_reference(logdir):
    real_time = event_file_writer.time
    event_file_writer.time = _FixedClock  # file name + file_version event's wall_time
    try:
        writer = SummaryWriter(log_dir=logdir)
        writer.add_scalar("loss", 0.5, global_step=1, walltime=WALL_TIME)
        writer.close()
    finally:
        event_file_writer.time = real_time
    files = [f for f in os.listdir(logdir) if "tfevents" in f]
    if len(files) != 1:
        sys.exit("tensorboard_reference.py: expected one event file in %s, found %s" % (logdir, files))
    return os.path.join(logdir, files[0])


def dump_framing(path):
    with open(path, "rb") as f:
        raw = f.read()
    print("%s: %d bytes" % (path, len(raw)))
    print("crc32c(b'123456789') = 0x%08x (CRC-32C check value)" % crc32c(b"123456789"))
    pos = 0
    index = 0
    while pos < len(raw):
        length_bytes = raw[pos:pos + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (len_crc,) = struct.unpack("<I", raw[pos + 8:pos + 12])
        data = raw[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", raw[pos + 12 + length:pos + 16 + length])
        ok_len = len_crc == masked_crc32c(length_bytes)
        ok_data = data_crc == masked_crc32c(data)
        event = event_pb2.Event()
        event.ParseFromString(data)
        print("record %d at offset %d (%d bytes framed):" % (index, pos, length + 16))
        print("  length          %d  bytes: %s" % (length, hexbytes(length_bytes)))
        print("  length crc      stored 0x%08x  bytes: %s  (crc32c 0x%08x, masked 0x%08x) %s" % (
            len_crc, hexbytes(raw[pos + 8:pos + 12]), crc32c(length_bytes), masked_crc32c(length_bytes),
            "OK" if ok_len else "MISMATCH"))
        print("  data            %s" % hexbytes(data))
        print("  data crc        stored 0x%08x  bytes: %s  (crc32c 0x%08x, masked 0x%08x) %s" % (
            data_crc, hexbytes(raw[pos + 12 + length:pos + 16 + length]), crc32c(data), masked_crc32c(data),
            "OK" if ok_data else "MISMATCH"))
        print("  event           %s" % " ".join(str(event).split()))
        if not (ok_len and ok_data):
            sys.exit("tensorboard_reference.py: bad CRC in the reference file")
        pos += length + 16
        index += 1
    print("%d records" % index)


def main():
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    with tempfile.TemporaryDirectory() as logdir:
        src = write_reference(logdir)
        shutil.copyfile(src, OUT_PATH)
    print("wrote %s" % OUT_PATH)
    dump_framing(OUT_PATH)


if __name__ == "__main__":
    main()
