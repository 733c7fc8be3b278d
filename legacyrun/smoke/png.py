"""PNG writer in pure Python: 8-bit grayscale, RGB and palette images.

The deflate stream is made of *stored* blocks rather than `zlib.compress` output: compressed bytes depend on
the zlib build (zlib-ng in some Pythons), and smoke data must be byte-identical on every machine. The images
are tiny, so the missing compression costs a few kilobytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {"L": (0, 1), "RGB": (2, 3), "P": (3, 1)}  # mode -> (PNG colour type, bytes per pixel)
_STORED_MAX = 65535


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def stored_zlib(data: bytes) -> bytes:
    """A zlib stream of stored deflate blocks: the same bytes from every zlib implementation."""
    out = bytearray(b"\x78\x01")
    if not data:
        out += b"\x01\x00\x00\xff\xff"
    for start in range(0, len(data), _STORED_MAX):
        block = data[start : start + _STORED_MAX]
        final = 1 if start + _STORED_MAX >= len(data) else 0
        out += struct.pack("<BHH", final, len(block), len(block) ^ 0xFFFF) + block
    out += struct.pack(">I", zlib.adler32(data) & 0xFFFFFFFF)
    return bytes(out)


def encode_png(
    width: int,
    height: int,
    pixels: bytes | bytearray,
    *,
    mode: str = "RGB",
    palette: Sequence[tuple[int, int, int]] | None = None,
) -> bytes:
    """Encode row-major 8-bit `pixels` (mode L: 1 byte, RGB: 3 bytes, P: 1 palette index per pixel)."""
    if mode not in _COLOR_TYPES:
        raise ValueError(f"PNG mode {mode!r}: expected one of {', '.join(_COLOR_TYPES)}")
    color_type, bpp = _COLOR_TYPES[mode]
    if width <= 0 or height <= 0:
        raise ValueError(f"PNG size {width}x{height}: both sides must be positive")
    if len(pixels) != width * height * bpp:
        raise ValueError(f"PNG data: {len(pixels)} bytes for {width}x{height} {mode} (expected {width * height * bpp})")
    if mode == "P":
        if not palette or len(palette) > 256:
            raise ValueError("PNG mode P needs a palette of 1..256 colours")
        if max(pixels, default=0) >= len(palette):
            raise ValueError(f"PNG mode P: index {max(pixels)} outside the {len(palette)}-colour palette")
    stride = width * bpp
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type None: simplest, and the output does not depend on a filter heuristic
        raw += pixels[y * stride : (y + 1) * stride]
    out = bytearray(_SIGNATURE)
    out += _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
    if mode == "P":
        assert palette is not None
        out += _chunk(b"PLTE", b"".join(bytes(c) for c in palette))
    out += _chunk(b"IDAT", stored_zlib(bytes(raw)))
    out += _chunk(b"IEND", b"")
    return bytes(out)


__all__ = ["encode_png", "stored_zlib"]
