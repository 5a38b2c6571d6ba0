#!/usr/bin/env python3
"""pngstat.py FILE: what a screenshot holds, for tests that check a page drew
something: "WIDTH HEIGHT INKED COLOURS", INKED the percentage of pixels that
are not (near) white, COLOURS how many distinct colours there are. Reads
8-bit RGB or RGBA PNGs (what Chromium writes) with the standard library."""
import struct
import sys
import zlib


def rows(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise SystemExit(f"{path}: not an 8-bit RGB(A) PNG")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, out = zlib.decompress(idat), w * bpp, None, []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i] if prev else 0
            c = prev[i - bpp] if prev and i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        out.append(bytes(line))
    return w, h, bpp, out


w, h, bpp, lines = rows(sys.argv[1])
inked, colours = 0, set()
for line in lines:
    for x in range(0, w * bpp, bpp):
        px = line[x:x + 3]
        colours.add(bytes(px))
        if min(px) < 240:
            inked += 1
print(w, h, round(100.0 * inked / (w * h), 2), len(colours))
