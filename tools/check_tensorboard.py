"""Read TensorBoard event files with the reference `tensorboard` package and print them.

Usage:
    .venv-tools/bin/python tools/check_tensorboard.py EVENTFILE_OR_DIR [...]

A directory is searched recursively for files whose name contains "tfevents".
For every file this prints
    scalar  TAG step=N value=V
    image   TAG step=N width=W height=H encoded=BYTES [format, decoded size]
    audio   TAG step=N sample_rate=SR length=FRAMES channels=C encoded=BYTES
    other   TAG step=N kind=...          (histograms, text, tensors of other plugins)
in file order, covering both the old Summary.Value fields (simple_value, image,
audio, as written by torch.utils.tensorboard / tensorboardX) and the TF2
tensor+plugin_data form.

Events are read with tensorboard.backend.event_processing.event_file_loader.
EventFileLoader. Because that loader silently stops at the first record whose
CRC is wrong (DataLossError is swallowed), this script ALSO verifies the TFRecord
framing itself: each record is
    uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
(little-endian; CRC-32C Castagnoli; masked(c) = ((c >> 15 | c << 17) + 0xa282ead8) & 0xffffffff),
and every record's data must parse as an Event proto. It also decodes every
image (Pillow) and audio clip (soundfile), when those are installed, and checks
that the declared width/height, sample rate and length agree with the encoding.

Exit status: 0 when every file is intact; 1 when any file is corrupt (bad CRC,
truncated record, trailing garbage, undecodable proto/image/audio, declared sizes or
rates that disagree with the encoding, or tensorboard read fewer records than the
file holds); 2 when no event file was found or a
path cannot be opened.
"""

import io
import os
import struct
import sys

from tensorboard.backend.event_processing.event_file_loader import EventFileLoader, LegacyEventFileLoader
from tensorboard.compat.proto import event_pb2
from tensorboard.util import tensor_util

try:  # a C implementation, when one happens to be installed, is much faster
    import google_crc32c as _fast_crc

    def crc32c(data):
        return _fast_crc.value(bytes(data))
except ImportError:
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c

try:
    from PIL import Image as PILImage
except ImportError:
    PILImage = None

try:
    import soundfile
except ImportError:
    soundfile = None


def masked_crc32c(data):
    crc = crc32c(data) & 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def find_event_files(path):
    if os.path.isdir(path):
        out = []
        for root, _dirs, files in os.walk(path):
            out.extend(os.path.join(root, f) for f in files if "tfevents" in f)
        return sorted(out)
    return [path]


def verify_framing(path):
    """Returns (list of record data bytes, list of error strings)."""
    with open(path, "rb") as f:
        raw = f.read()
    records, errors = [], []
    pos, index = 0, 0
    while pos < len(raw):
        if len(raw) - pos < 12:
            errors.append("record %d at offset %d: truncated header (%d trailing bytes)" % (index, pos, len(raw) - pos))
            break
        length_bytes = raw[pos:pos + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (len_crc,) = struct.unpack("<I", raw[pos + 8:pos + 12])
        want = masked_crc32c(length_bytes)
        if len_crc != want:
            errors.append("record %d at offset %d: length crc 0x%08x, expected 0x%08x (length field %d)" % (
                index, pos, len_crc, want, length))
            break
        end = pos + 12 + length + 4
        if end > len(raw):
            errors.append("record %d at offset %d: length %d runs past the end of the file (%d bytes)" % (
                index, pos, length, len(raw)))
            break
        data = raw[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", raw[pos + 12 + length:end])
        want = masked_crc32c(data)
        if data_crc != want:
            errors.append("record %d at offset %d: data crc 0x%08x, expected 0x%08x (length %d)" % (
                index, pos, data_crc, want, length))
            break
        records.append(data)
        pos = end
        index += 1
    return records, errors


def png_size(blob):
    if blob[:8] == b"\x89PNG\r\n\x1a\n" and blob[12:16] == b"IHDR":
        return struct.unpack(">II", blob[16:24])
    return None


def check_image(tag, step, width, height, colorspace, blob, errors, quiet=False):
    fmt = "png" if blob[:8] == b"\x89PNG\r\n\x1a\n" else ("jpeg" if blob[:2] == b"\xff\xd8" else "unknown")
    extra = ""
    if PILImage is not None:
        try:
            im = PILImage.open(io.BytesIO(blob))
            im.load()
            extra = " decoded=%dx%d mode=%s" % (im.width, im.height, im.mode)
            if (width, height) != (im.width, im.height) and width is not None:
                errors.append("image %s step %d: declared %dx%d but the encoding is %dx%d" % (
                    tag, step, width, height, im.width, im.height))
        except Exception as e:  # noqa: BLE001
            errors.append("image %s step %d: cannot decode %s: %s" % (tag, step, fmt, e))
    else:
        ps = png_size(blob)
        if ps is not None and width is not None and ps != (width, height):
            errors.append("image %s step %d: declared %dx%d but the PNG header says %dx%d" % (
                tag, step, width, height, ps[0], ps[1]))
    if quiet:
        return
    cs = "" if colorspace is None else " colorspace=%d" % colorspace
    print("  image   %-28s step=%-6d width=%s height=%s%s encoded=%d format=%s%s" % (
        tag, step, width, height, cs, len(blob), fmt, extra))


def check_audio(tag, step, sample_rate, length, channels, blob, content_type, errors, quiet=False):
    extra = ""
    if soundfile is not None:
        try:
            info = soundfile.info(io.BytesIO(blob))
            extra = " decoded: %d Hz, %d frames, %d ch, %s" % (
                info.samplerate, info.frames, info.channels, info.subtype)
            if sample_rate is not None and int(round(sample_rate)) != info.samplerate:
                errors.append("audio %s step %d: declared sample rate %g but the encoding says %d" % (
                    tag, step, sample_rate, info.samplerate))
            if length is not None and length != info.frames:
                errors.append("audio %s step %d: declared length %d but the encoding holds %d frames" % (
                    tag, step, length, info.frames))
            if sample_rate is None:
                sample_rate, length, channels = info.samplerate, info.frames, info.channels
        except Exception as e:  # noqa: BLE001
            errors.append("audio %s step %d: cannot decode: %s" % (tag, step, e))
    if quiet:
        return
    print("  audio   %-28s step=%-6d sample_rate=%s length=%s channels=%s encoded=%d type=%s%s" % (
        tag, step, sample_rate, length, channels, len(blob), content_type or "?", extra))


def report_event(event, counts, errors):
    step = event.step
    if event.HasField("file_version"):
        print("  file_version %r wall_time=%.3f" % (event.file_version, event.wall_time))
        counts["file_version"] += 1
        return
    if not event.HasField("summary"):
        kind = event.WhichOneof("what") or "empty"
        print("  event   kind=%s step=%d" % (kind, step))
        counts["other"] += 1
        return
    for v in event.summary.value:
        kind = v.WhichOneof("value")
        plugin = v.metadata.plugin_data.plugin_name if v.HasField("metadata") else ""
        if kind == "simple_value":
            print("  scalar  %-28s step=%-6d value=%.9g" % (v.tag, step, v.simple_value))
            counts["scalar"] += 1
        elif kind == "image":
            im = v.image
            check_image(v.tag, step, im.width, im.height, im.colorspace, im.encoded_image_string, errors)
            counts["image"] += 1
        elif kind == "audio":
            a = v.audio
            check_audio(v.tag, step, a.sample_rate, a.length_frames, a.num_channels,
                        a.encoded_audio_string, a.content_type, errors)
            counts["audio"] += 1
        elif kind == "tensor" and plugin == "scalars":
            value = tensor_util.make_ndarray(v.tensor)
            print("  scalar  %-28s step=%-6d value=%.9g" % (v.tag, step, float(value)))
            counts["scalar"] += 1
        elif kind == "tensor" and plugin == "images":
            arr = tensor_util.make_ndarray(v.tensor)  # [width, height, image_0, image_1, ...] strings
            w, h = int(arr[0]), int(arr[1])
            for blob in arr[2:]:
                check_image(v.tag, step, w, h, None, bytes(blob), errors)
                counts["image"] += 1
        elif kind == "tensor" and plugin == "audio":
            arr = tensor_util.make_ndarray(v.tensor)  # [k, 2]: (encoded clip, label)
            for row in arr.reshape(-1, arr.shape[-1] if arr.ndim > 1 else 1):
                check_audio(v.tag, step, None, None, None, bytes(row[0]), None, errors)
                counts["audio"] += 1
        else:
            print("  other   %-28s step=%-6d kind=%s plugin=%s" % (v.tag, step, kind, plugin or "-"))
            counts["other"] += 1


def check_file(path):
    print("file: %s" % path)
    errors = []
    try:
        records, framing_errors = verify_framing(path)
    except OSError as e:
        print("check_tensorboard: cannot open %s: %s" % (path, e), file=sys.stderr)
        return None
    errors.extend(framing_errors)
    for i, data in enumerate(records):
        try:
            event_pb2.Event().ParseFromString(data)
        except Exception as e:  # noqa: BLE001
            errors.append("record %d: data is not an Event proto: %s" % (i, e))

    # 1. tensorboard's plain reader: one Event per record, exactly as written.
    #    Old-style image/audio values keep their declared width/height and
    #    sample rate/length here, so check those against the encodings.
    raw_count = 0
    try:
        for event in LegacyEventFileLoader(path).Load():
            raw_count += 1
            for v in event.summary.value:
                kind = v.WhichOneof("value")
                if kind == "image":
                    im = v.image
                    check_image(v.tag, event.step, im.width, im.height, im.colorspace,
                                im.encoded_image_string, errors, quiet=True)
                elif kind == "audio":
                    a = v.audio
                    check_audio(v.tag, event.step, a.sample_rate, a.length_frames, a.num_channels,
                                a.encoded_audio_string, a.content_type, errors, quiet=True)
    except Exception as e:  # noqa: BLE001
        errors.append("LegacyEventFileLoader failed: %s: %s" % (type(e).__name__, e))
    if raw_count != len(records) and not framing_errors:
        errors.append("tensorboard read %d records but the file holds %d intact records" % (
            raw_count, len(records)))

    # 2. What TensorBoard shows: EventFileLoader, through its read-time compat
    #    layers (old simple_value / image / audio values become plugin tensors).
    counts = {"file_version": 0, "scalar": 0, "image": 0, "audio": 0, "other": 0}
    loaded = 0
    try:
        for event in EventFileLoader(path).Load():
            loaded += 1
            report_event(event, counts, errors)
    except Exception as e:  # noqa: BLE001
        errors.append("EventFileLoader failed: %s: %s" % (type(e).__name__, e))
    if records and counts["file_version"] == 0:
        print("  note: no file_version event (TensorBoard writers put one first)")

    print("  %d records, %d events: %d scalars, %d images, %d audio, %d other" % (
        len(records), loaded, counts["scalar"], counts["image"], counts["audio"], counts["other"]))
    for e in dict.fromkeys(errors):  # the same problem can be seen by both passes
        print("CORRUPT: %s: %s" % (path, e), file=sys.stderr)
    return not errors


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    status = 0
    for arg in argv[1:]:
        if not os.path.exists(arg):
            print("check_tensorboard: %s does not exist" % arg, file=sys.stderr)
            return 2
        files = find_event_files(arg)
        if not files:
            print("check_tensorboard: no event files (names containing 'tfevents') under %s" % arg, file=sys.stderr)
            return 2
        for path in files:
            ok = check_file(path)
            if ok is None:
                return 2
            if not ok:
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
