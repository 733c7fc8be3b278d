"""A minimal baseline JPEG encoder in pure Python (legacyrun depends on neither Pillow nor numpy).

Baseline sequential DCT, 8-bit, Huffman-coded with the example tables of ITU-T T.81 Annex K, JFIF 1.01
header, no chroma subsampling (4:4:4; every decoder reads it), quality fixed by the caller (IJG scaling of the
Annex K quantisation tables). Arithmetic is plain IEEE double with explicit round-half-up, so the bytes are the
same on every platform.
"""

from __future__ import annotations

import math
import struct

# ITU-T T.81 Annex K.1: the example quantisation tables, natural (row-major) order.
_Q_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_Q_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32  # fmt: skip

# Annex K.3: the example Huffman tables as (code counts per length 1..16, symbols in code order).
_DC_LUMA = ((0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0), tuple(range(12)))
_DC_CHROMA = ((0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0), tuple(range(12)))
_AC_LUMA = (
    (0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D),
    (
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
        0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0,
        0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28,
        0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
        0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
        0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
        0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
        0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5,
        0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2,
        0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
        0xF9, 0xFA,
    ),
)  # fmt: skip
_AC_CHROMA = (
    (0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77),
    (
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
        0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0,
        0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26,
        0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
        0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
        0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
        0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5,
        0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3,
        0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA,
        0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
        0xF9, 0xFA,
    ),
)  # fmt: skip

HuffTable = tuple[tuple[int, ...], tuple[int, ...]]
DEFAULT_QUALITY = 90


def _zigzag() -> tuple[int, ...]:
    """Natural index of the k-th coefficient in zig-zag order (T.81 figure 5), walked by anti-diagonals."""
    order: list[int] = []
    for s in range(15):
        cells = [(y, s - y) for y in range(8) if 0 <= s - y < 8]
        # Even diagonals run bottom-left to top-right (row decreasing), odd ones the other way.
        if s % 2 == 0:
            cells.reverse()
        order += [y * 8 + x for y, x in cells]
    return tuple(order)


ZIGZAG = _zigzag()
# cos((2x+1) u pi / 16) scaled by C(u)/2, so that a 1-D pass is one dot product per output.
_DCT = tuple(
    tuple((math.sqrt(0.5) if u == 0 else 1.0) * 0.5 * math.cos((2 * x + 1) * u * math.pi / 16) for x in range(8))
    for u in range(8)
)


def scaled_table(base: tuple[int, ...], quality: int) -> tuple[int, ...]:
    """IJG quality scaling of an Annex K table (quality 1..100)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality {quality}: expected 1..100")
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(255, max(1, (q * scale + 50) // 100)) for q in base)


def _codes(table: HuffTable) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes (T.81 Annex C): symbol -> (code, length)."""
    counts, symbols = table
    out: dict[int, tuple[int, int]] = {}
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(counts[length - 1]):
            out[symbols[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return out


class _Bits:
    """Entropy-coded segment writer with 0xFF byte stuffing."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, code: int, length: int) -> None:
        self.acc = (self.acc << length) | code
        self.n += length
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)
        self.acc &= (1 << self.n) - 1

    def flush(self) -> bytes:
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with 1-bits (T.81 F.1.2.3)
        return bytes(self.out)


def _round(v: float) -> int:
    return math.floor(v + 0.5)


def _fdct_quant(block: list[float], qtable: tuple[int, ...]) -> list[int]:
    """2-D DCT of a level-shifted 8x8 block, quantised, in zig-zag order."""
    rows = [[sum(c[x] * r[x] for x in range(8)) for c in _DCT] for r in (block[i * 8 : i * 8 + 8] for i in range(8))]
    coef = [0.0] * 64
    for u in range(8):
        col = [rows[y][u] for y in range(8)]
        for v, c in enumerate(_DCT):
            coef[v * 8 + u] = sum(c[y] * col[y] for y in range(8))
    return [_round(coef[z] / qtable[z]) for z in ZIGZAG]


def _magnitude(v: int) -> tuple[int, int]:
    size = abs(v).bit_length()
    return size, (v if v >= 0 else v + (1 << size) - 1)


def _encode_block(
    bits: _Bits, zz: list[int], pred: int, dc: dict[int, tuple[int, int]], ac: dict[int, tuple[int, int]]
) -> int:
    size, value = _magnitude(zz[0] - pred)
    bits.put(*dc[size])
    if size:
        bits.put(value, size)
    run = 0
    for k in range(1, 64):
        v = zz[k]
        if v == 0:
            run += 1
            continue
        while run > 15:
            bits.put(*ac[0xF0])  # ZRL: 16 zeros
            run -= 16
        size, value = _magnitude(v)
        bits.put(*ac[(run << 4) | size])
        bits.put(value, size)
        run = 0
    if run:
        bits.put(*ac[0x00])  # EOB
    return zz[0]


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def _dht(table_class: int, table_id: int, table: HuffTable) -> bytes:
    return bytes([(table_class << 4) | table_id, *table[0], *table[1]])


def encode_jpeg(width: int, height: int, pixels: bytes | bytearray, *, gray: bool = False, quality: int = 90) -> bytes:
    """Encode row-major 8-bit RGB (or grayscale with `gray=True`) pixels as a baseline JFIF JPEG."""
    ncomp = 1 if gray else 3
    if width <= 0 or height <= 0 or width > 65535 or height > 65535:
        raise ValueError(f"JPEG size {width}x{height}: sides must be 1..65535")
    if len(pixels) != width * height * ncomp:
        raise ValueError(f"JPEG data: {len(pixels)} bytes for {width}x{height}x{ncomp} (expected more or fewer)")
    qtabs = [scaled_table(_Q_LUMA, quality), scaled_table(_Q_CHROMA, quality)]
    planes = _planes(width, height, pixels, gray=gray)
    dc = [_codes(_DC_LUMA), _codes(_DC_CHROMA)]
    ac = [_codes(_AC_LUMA), _codes(_AC_CHROMA)]
    bits = _Bits()
    preds = [0] * ncomp
    for by in range(0, height, 8):
        for bx in range(0, width, 8):
            for c in range(ncomp):
                t = 0 if c == 0 else 1
                block = _block(planes[c], width, height, bx, by)
                preds[c] = _encode_block(bits, _fdct_quant(block, qtabs[t]), preds[c], dc[t], ac[t])
    out = bytearray(b"\xff\xd8")
    out += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    for i in range(1 if gray else 2):
        out += _segment(0xDB, bytes([i]) + bytes(qtabs[i][z] for z in ZIGZAG))
    comps = b"".join(bytes([c + 1, 0x11, 0 if c == 0 else 1]) for c in range(ncomp))
    out += _segment(0xC0, struct.pack(">BHHB", 8, height, width, ncomp) + comps)
    tables = [(0, 0, _DC_LUMA), (1, 0, _AC_LUMA)]
    if not gray:
        tables += [(0, 1, _DC_CHROMA), (1, 1, _AC_CHROMA)]
    out += _segment(0xC4, b"".join(_dht(tc, ti, tb) for tc, ti, tb in tables))
    sel = b"".join(bytes([c + 1, 0x00 if c == 0 else 0x11]) for c in range(ncomp))
    out += _segment(0xDA, bytes([ncomp]) + sel + b"\x00\x3f\x00")
    out += bits.flush()
    out += b"\xff\xd9"
    return bytes(out)


def _planes(width: int, height: int, pixels: bytes | bytearray, *, gray: bool) -> list[list[float]]:
    """Level-shifted component planes: Y only, or Y, Cb, Cr (JFIF full-range conversion)."""
    n = width * height
    if gray:
        return [[p - 128.0 for p in pixels]]
    y = [0.0] * n
    cb = [0.0] * n
    cr = [0.0] * n
    for i in range(n):
        r, g, b = pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]
        y[i] = 0.299 * r + 0.587 * g + 0.114 * b - 128.0
        cb[i] = -0.168736 * r - 0.331264 * g + 0.5 * b
        cr[i] = 0.5 * r - 0.418688 * g - 0.081312 * b
    return [y, cb, cr]


def _block(plane: list[float], width: int, height: int, bx: int, by: int) -> list[float]:
    """The 8x8 block at (bx, by), edge pixels repeated past the image border."""
    out: list[float] = []
    for dy in range(8):
        row = min(by + dy, height - 1) * width
        out += [plane[row + min(bx + dx, width - 1)] for dx in range(8)]
    return out


__all__ = ["DEFAULT_QUALITY", "ZIGZAG", "encode_jpeg", "scaled_table"]
