"""Just enough raster drawing for smoke images: a deterministic RNG, a canvas, polygon fill, encoders."""

from __future__ import annotations

import math
from collections.abc import Sequence

from legacyrun.smoke.jpeg import DEFAULT_QUALITY, encode_jpeg
from legacyrun.smoke.png import encode_png

Point = tuple[float, float]
_MASK64 = (1 << 64) - 1


class Rng:
    """SplitMix64: a few lines, and the same numbers on every Python version (`random` makes no such promise
    for its integer helpers across releases)."""

    def __init__(self, seed: int, *stream: int) -> None:
        state = seed & _MASK64
        for s in stream:  # independent streams per (seed, split, index): adding a sample does not shift others
            state = self._mix((state ^ (s * 0x9E3779B97F4A7C15)) & _MASK64)
        self.state = state

    @staticmethod
    def _mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        return self._mix(self.state)

    def below(self, n: int) -> int:
        """An integer in [0, n)."""
        if n <= 0:
            raise ValueError("Rng.below needs n > 0")
        return self.next() % n

    def between(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi] (both included)."""
        return lo + self.below(hi - lo + 1)

    def unit(self) -> float:
        """A float in [0, 1)."""
        return (self.next() >> 11) / float(1 << 53)

    def choice(self, items: Sequence[str]) -> str:
        return items[self.below(len(items))]

    def color(self) -> tuple[int, int, int]:
        return (self.between(20, 235), self.between(20, 235), self.between(20, 235))


class Canvas:
    """An 8-bit image with 1 (labels, gray) or 3 (RGB) channels, row-major."""

    def __init__(self, width: int, height: int, channels: int = 3, fill: int | Sequence[int] = 0) -> None:
        self.width = width
        self.height = height
        self.channels = channels
        value = _pixel(fill, channels)
        self.data = bytearray(value * (width * height))

    def set(self, x: int, y: int, value: int | Sequence[int]) -> None:
        i = (y * self.width + x) * self.channels
        self.data[i : i + self.channels] = _pixel(value, self.channels)

    def get(self, x: int, y: int) -> tuple[int, ...]:
        i = (y * self.width + x) * self.channels
        return tuple(self.data[i : i + self.channels])

    def background(self, rng: Rng) -> None:
        """A smooth two-colour gradient with a little noise: texture for a network to look at."""
        a, b = rng.color(), rng.color()
        for y in range(self.height):
            for x in range(self.width):
                t = (x + y) / max(1, self.width + self.height - 2)
                noise = rng.below(9) - 4
                px = [_clip(a[c] + (b[c] - a[c]) * t + noise) for c in range(3)]
                self.set(x, y, px[0] if self.channels == 1 else px)

    def fill_rect(self, x0: int, y0: int, x1: int, y1: int, value: int | Sequence[int]) -> None:
        """Fill pixels x0 <= x < x1, y0 <= y < y1 (clipped to the canvas)."""
        px = _pixel(value, self.channels)
        x0, x1 = max(0, x0), min(self.width, x1)
        for y in range(max(0, y0), min(self.height, y1)):
            if x1 > x0:
                i = (y * self.width + x0) * self.channels
                self.data[i : i + (x1 - x0) * self.channels] = px * (x1 - x0)

    def fill_polygon(self, points: Sequence[Point], value: int | Sequence[int]) -> int:
        """Fill a polygon (even-odd rule, sampled at pixel centres); returns the number of pixels set."""
        px = _pixel(value, self.channels)
        n = len(points)
        count = 0
        for y in range(self.height):
            cy = y + 0.5
            xs: list[float] = []
            for i in range(n):
                (xa, ya), (xb, yb) = points[i], points[(i + 1) % n]
                if (ya <= cy < yb) or (yb <= cy < ya):
                    xs.append(xa + (cy - ya) * (xb - xa) / (yb - ya))
            xs.sort()
            for k in range(0, len(xs) - 1, 2):
                start = max(0, math.ceil(xs[k] - 0.5))
                stop = min(self.width, math.ceil(xs[k + 1] - 0.5))
                if stop > start:
                    i = (y * self.width + start) * self.channels
                    self.data[i : i + (stop - start) * self.channels] = px * (stop - start)
                    count += stop - start
        return count

    def jpeg(self, quality: int = DEFAULT_QUALITY) -> bytes:
        return encode_jpeg(self.width, self.height, self.data, gray=self.channels == 1, quality=quality)

    def png(self, palette: Sequence[tuple[int, int, int]] | None = None) -> bytes:
        mode = "RGB" if self.channels == 3 else ("P" if palette else "L")
        return encode_png(self.width, self.height, self.data, mode=mode, palette=palette)


def ellipse(cx: float, cy: float, rx: float, ry: float, sides: int = 16) -> list[Point]:
    """An ellipse as a polygon, so that drawing and the polygon annotation are the same shape."""
    return [
        (round(cx + rx * math.cos(2 * math.pi * k / sides), 2), round(cy + ry * math.sin(2 * math.pi * k / sides), 2))
        for k in range(sides)
    ]


def rectangle(x0: float, y0: float, x1: float, y1: float) -> list[Point]:
    """Corners clockwise from the top left (the ICDAR order)."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def polygon_area(points: Sequence[Point]) -> float:
    """Shoelace area."""
    n = len(points)
    return abs(sum(points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1] for i in range(n))) / 2


def random_shape(rng: Rng, width: int, height: int) -> list[Point]:
    """A rectangle, an ellipse or a triangle of a sensible size somewhere on a width x height canvas."""
    w = rng.between(max(4, width // 6), max(5, width // 2))
    h = rng.between(max(4, height // 6), max(5, height // 2))
    x0 = rng.between(0, max(0, width - w))
    y0 = rng.between(0, max(0, height - h))
    kind = rng.below(3)
    if kind == 0:
        return rectangle(x0, y0, x0 + w, y0 + h)
    if kind == 1:
        return ellipse(x0 + w / 2, y0 + h / 2, w / 2, h / 2)
    return [(x0 + w / 2, y0), (x0 + w, y0 + h), (x0, y0 + h)]


def _pixel(value: int | Sequence[int], channels: int) -> bytes:
    if isinstance(value, int):
        return bytes([value] * channels)
    if channels == 1:
        # A colour on a one-channel canvas is drawn as its luma.
        r, g, b = value[0], value[1], value[2]
        return bytes([_clip(0.299 * r + 0.587 * g + 0.114 * b)])
    return bytes(value[:channels])


def _clip(v: float) -> int:
    return min(255, max(0, math.floor(v + 0.5)))


__all__ = ["Canvas", "Point", "Rng", "ellipse", "polygon_area", "random_shape", "rectangle"]
