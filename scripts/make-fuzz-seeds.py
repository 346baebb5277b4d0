#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs into fuzz/corpus/TARGET/: small valid files of each
kind a reader meets (npy dtypes and shapes, TIFF layouts, image formats, audio and video
containers). Standard library and the ffmpeg CLI only; rerun after changing it."""
import io
import os
import struct
import subprocess
import tempfile
import wave
import zlib

ROOT = os.path.join(os.path.dirname(__file__), "..", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(descr, shape, data, fortran=False):
    h = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape)
    h = h.encode()
    pad = (64 - (10 + len(h) + 1) % 64) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data


def tiff(w, h, spp, bits, fmt, planar, data, big=False, photometric=None, desc=None):
    e = ">" if big else "<"
    out = bytearray(b"MM" if big else b"II")
    out += struct.pack(e + "HI", 42, 0)
    strips = [data] if planar == 1 else [data[i * len(data) // spp:(i + 1) * len(data) // spp]
                                         for i in range(spp)]
    offsets = []
    for s in strips:
        offsets.append(len(out))
        out += s
    if len(out) % 2:
        out += b"\0"
    photometric = photometric if photometric is not None else (2 if spp >= 3 else 1)
    entries = [(256, 4, [w]), (257, 4, [h]), (258, 3, [bits] * spp), (259, 3, [1]),
               (262, 3, [photometric])]
    if desc:
        entries.append((270, 2, desc.encode() + b"\0"))
    entries += [(273, 4, offsets), (277, 3, [spp]), (278, 4, [h]),
                (279, 4, [len(s) for s in strips]), (284, 3, [planar]), (339, 3, [fmt] * spp)]
    ifd_at = len(out)
    extra_at = ifd_at + 2 + 12 * len(entries) + 4
    ifd, extra = bytearray(struct.pack(e + "H", len(entries))), bytearray()
    for tag, kind, vals in entries:
        if kind == 2:
            raw = bytes(vals)
        else:
            raw = b"".join(struct.pack(e + ("H" if kind == 3 else "I"), v) for v in vals)
        ifd += struct.pack(e + "HHI", tag, kind, len(vals))
        if len(raw) <= 4:
            ifd += raw.ljust(4, b"\0")
        else:
            ifd += struct.pack(e + "I", extra_at + len(extra))
            extra += raw + (b"\0" if len(raw) % 2 else b"")
    ifd += struct.pack(e + "I", 0)
    out[4:8] = struct.pack(e + "I", ifd_at)
    return bytes(out + ifd + extra)


def png(w, h, rows):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def ffmpeg(args, suffix):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "out" + suffix)
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"] + args + [p],
                       check=True)
        return open(p, "rb").read()


ramp = bytes(range(48))
put("npy", "u8_stack", npy("'|u1'", "(3, 4, 4)", ramp))
put("npy", "u8_rgb", npy("'|u1'", "(1, 4, 4, 3)", bytes(range(48))))
put("npy", "u16_be", npy("'>u2'", "(2, 2, 3)", struct.pack(">12H", *range(0, 1200, 100))))
put("npy", "f32", npy("'<f4'", "(1, 2, 2)", struct.pack("<4f", -1.0, 0.0, 0.5, float("nan"))))
put("npy", "f64_be", npy("'>f8'", "(2, 2)", struct.pack(">4d", 1, 2, 3, 4)))
put("npy", "i16", npy("'<i2'", "(1, 2, 2)", struct.pack("<4h", -5, 0, 5, 10)))
put("npy", "bool", npy("'|b1'", "(2, 2)", bytes([0, 1, 1, 0])))
put("npy", "rgba", npy("'|u1'", "(1, 1, 2, 4)", bytes(range(8))))

put("tiff", "gray8", tiff(4, 3, 1, 8, 1, 1, bytes(range(12))))
put("tiff", "gray16_be", tiff(2, 2, 1, 16, 1, 1, struct.pack(">4H", 1, 2, 3, 400), big=True))
put("tiff", "float32", tiff(2, 2, 1, 32, 3, 1, struct.pack("<4f", -1, 0, 1, 2)))
put("tiff", "rgb_planar", tiff(2, 2, 3, 8, 1, 2, bytes(range(12))))
put("tiff", "int32", tiff(2, 1, 1, 32, 2, 1, struct.pack("<2i", -7, 7)))
put("tiff", "imagej", tiff(2, 2, 1, 8, 1, 1, bytes(4),
                           desc="ImageJ=1.54f\nimages=1\nchannels=1\n"))
put("tiff", "lzw", ffmpeg(["-f", "lavfi", "-i", "testsrc=size=16x12:rate=1", "-frames:v", "1",
                           "-compression_algo", "lzw"], ".tif"))

put("image", "png", b"\0" + png(3, 2, [bytes([0, 128, 255]), bytes([1, 2, 3])]))
put("image", "jpg", b"\x01" + ffmpeg(["-f", "lavfi", "-i", "testsrc=size=16x16:rate=1",
                                       "-frames:v", "1"], ".jpg"))
put("image", "bmp", b"\x02" + ffmpeg(["-f", "lavfi", "-i", "testsrc=size=8x8:rate=1",
                                       "-frames:v", "1"], ".bmp"))
put("image", "tif", b"\x04" + tiff(2, 2, 1, 8, 1, 1, bytes([1, 2, 3, 4])))

buf = io.BytesIO()
with wave.open(buf, "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", (i * 397) % 20000 - 10000) for i in range(800)))
put("audio", "wav", buf.getvalue())
put("audio", "mp3", ffmpeg(["-f", "lavfi", "-i", "sine=frequency=300:duration=0.2"], ".mp3"))
put("audio", "ogg", ffmpeg(["-f", "lavfi", "-i", "sine=frequency=300:duration=0.2",
                            "-c:a", "libvorbis"], ".ogg"))

put("video", "h264_mp4", ffmpeg(["-f", "lavfi", "-i", "testsrc=size=32x24:rate=5",
                                 "-frames:v", "4", "-pix_fmt", "yuv420p", "-g", "2"], ".mp4"))
put("video", "ffv1_mkv", ffmpeg(["-f", "lavfi", "-i", "testsrc=size=16x16:rate=5",
                                 "-frames:v", "3", "-c:v", "ffv1"], ".mkv"))
put("video", "mjpeg_avi", ffmpeg(["-f", "lavfi", "-i", "testsrc=size=16x16:rate=5",
                                  "-frames:v", "3", "-c:v", "mjpeg"], ".avi"))
