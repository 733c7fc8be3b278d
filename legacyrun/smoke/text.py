"""synthtext-chars and icdar-words: scene-text datasets as MaskTextSpotter's loaders read them.

The ground-truth formats follow `maskrcnn_benchmark/data/datasets/{synthtext,icdar}.py` of MaskTextSpotter
(commit 7109132): one word per line, comma-separated.

- SynthText (`line.strip().split(',')`, groups of 9 values): the word quadrilateral and the word, then for each
  character its quadrilateral and the character::

      x1,y1,x2,y2,x3,y3,x4,y4,WORD,cx1,cy1,cx2,cy2,cx3,cy3,cx4,cy4,C,...

- ICDAR (`line.strip().split(',', 8)`): the quadrilateral and the word, `###` for "do not care"::

      x1,y1,x2,y2,x3,y3,x4,y4,WORD

Corners run clockwise from the top left; coordinates are integers inside the image, at least 1 (the loader
subtracts 1). Characters come from the loader's classes `0-9a-z` (words keep their case; it lowercases).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from legacyrun.smoke.core import SEED, Generator, Option, OptionValue, Output
from legacyrun.smoke.raster import Canvas, Rng

# Words from the smoke vocabulary: characters the loaders know (their char2num lowercases).
WORDS = (
    "smoke", "Legacy", "RUN", "test", "mask", "Text", "spot", "2026", "data", "CPU", "train", "word",
    "char", "box", "icdar", "Synth", "ok", "go", "A1", "zebra", "quick", "fox", "lab", "pin",
)  # fmt: skip
CHAR_CLASSES = "_0123456789abcdefghijklmnopqrstuvwxyz"


def _glyph(ch: str) -> tuple[int, ...]:
    """A 3x5 on/off pattern per character: visibly different blobs without a font."""
    digest = hashlib.sha256(ch.lower().encode()).digest()
    bits = int.from_bytes(digest[:2], "big")
    cells = tuple((bits >> k) & 1 for k in range(15))
    return cells if any(cells) else (1,) * 15


def _draw_char(canvas: Canvas, x0: int, y0: int, w: int, h: int, ch: str, color: tuple[int, int, int]) -> None:
    canvas.fill_rect(x0, y0, x0 + w, y0 + h, color)
    # Lighter cells where the glyph pattern is off: the character's identity shows in the pixels.
    light = tuple(min(255, c + 110) for c in color)
    cells = _glyph(ch)
    for row in range(5):
        for col in range(3):
            if not cells[row * 3 + col]:
                cx0, cx1 = x0 + 1 + (w - 2) * col // 3, x0 + 1 + (w - 2) * (col + 1) // 3
                cy0, cy1 = y0 + 1 + (h - 2) * row // 5, y0 + 1 + (h - 2) * (row + 1) // 5
                canvas.fill_rect(cx0, cy0, cx1, cy1, light)


Quad = tuple[int, int, int, int, int, int, int, int]


def _quad(x0: int, y0: int, x1: int, y1: int) -> Quad:
    return (x0, y0, x1, y0, x1, y1, x0, y1)


def _scene(
    rng: Rng, width: int, height: int, max_words: int
) -> tuple[Canvas, list[tuple[str, Quad, list[tuple[str, Quad]]]]]:
    """An image with words on separate rows; returns (image, [(word, word quad, [(char, char quad)])])."""
    canvas = Canvas(width, height, 3)
    canvas.background(rng)
    ch = max(8, height // 8)
    cw = max(5, ch * 2 // 3)
    gap = 1
    rows = max(1, (height - 4) // (ch + 6))
    words: list[tuple[str, Quad, list[tuple[str, Quad]]]] = []
    for row in range(min(rows, rng.between(1, max_words))):
        word = rng.choice(WORDS)
        fit = max(1, (width - 6) // (cw + gap))
        word = word[:fit]
        span = len(word) * (cw + gap) - gap
        x = rng.between(2, max(2, width - span - 3))
        y = 2 + row * (ch + 6) + rng.below(3)
        if y + ch + 2 > height - 10:  # the bottom strip is kept for icdar-words' ### region
            break
        color = (rng.between(0, 80), rng.between(0, 80), rng.between(0, 80))
        chars: list[tuple[str, Quad]] = []
        for k, c in enumerate(word):
            cx = x + k * (cw + gap)
            _draw_char(canvas, cx, y, cw, ch, c, color)
            chars.append((c, _quad(cx + 1, y + 1, cx + cw, y + ch)))  # 1-based, inclusive corners
        words.append((word, _quad(x, y, x + span + 1, y + ch + 1), chars))
    return canvas, words


def _csv(values: tuple[int, ...]) -> str:
    return ",".join(str(v) for v in values)


def _write_synthtext(out: Output, opts: Mapping[str, OptionValue]) -> None:
    """Layout (`dest` is the synthtext directory of MaskTextSpotter's paths_catalog)::

    train_images/synth_00001.jpg ...         RGB, size x size, words drawn as per-character blobs
    train_gts/synth_00001.jpg.txt ...        one line per word: word quad, word, then per character its
                                             quad and the character (groups of 9, comma-separated)
    train_list.txt                           image names, one per line (SynthtextDataset's list_file)
    """
    size, count, seed, max_words = int(opts["size"]), int(opts["images"]), int(opts["seed"]), int(opts["words"])
    names = []
    for i in range(1, count + 1):
        rng = Rng(seed, 0, i)
        canvas, words = _scene(rng, size, size, max_words)
        name = f"synth_{i:05d}.jpg"
        names.append(name)
        lines = []
        for word, quad, chars in words:
            parts = [_csv(quad), word] + [f"{_csv(q)},{c}" for c, q in chars]
            lines.append(",".join(parts))
        out.file(f"train_images/{name}", canvas.jpeg())
        out.text(f"train_gts/{name}.txt", "".join(line + "\n" for line in lines))
    out.text("train_list.txt", "".join(n + "\n" for n in names))


def _write_icdar(out: Output, opts: Mapping[str, OptionValue]) -> None:
    """Layout (`dest` is an icdar2013 or icdar2015 directory of MaskTextSpotter's paths_catalog)::

    train_images/img_1.jpg ...               RGB, size x size
    train_gts/gt_img_1.txt ...               one line per word: x1,y1,...,x4,y4,word (ICDAR 2015 naming,
                                             which IcdarDataset finds as gt_<image stem>.txt); with
                                             dontcare, one more `###` region per image
    test_images/img_1.jpg ...                test_images images (no ground truth, as in ICDAR 2015)
    test_gts/gt_img_1.txt ...                only with test_gts=true (the icdar_2013_test entry lists it)
    """
    size, seed, max_words = int(opts["size"]), int(opts["seed"]), int(opts["words"])
    for split_no, (split, count, with_gt) in enumerate(
        (("train", int(opts["images"]), True), ("test", int(opts["test_images"]), bool(opts["test_gts"])))
    ):
        for i in range(1, count + 1):
            rng = Rng(seed, split_no, i)
            canvas, words = _scene(rng, size, size, max_words)
            lines = [f"{_csv(quad)},{word}" for word, quad, _ in words]
            if opts["dontcare"]:
                # A small smudge the annotators could not read: drawn, and marked ### so loaders skip it.
                x, y = rng.between(1, size - 10), size - 8
                canvas.fill_rect(x, y, x + 8, y + 5, (90, 90, 90))
                lines.append(f"{_csv(_quad(x + 1, y + 1, x + 8, y + 5))},###")
            out.file(f"{split}_images/img_{i}.jpg", canvas.jpeg())
            if with_gt:
                out.text(f"{split}_gts/gt_img_{i}.txt", "".join(line + "\n" for line in lines))


_SIZE = Option("size", 128, "Width and height of each image in pixels.", minimum=48, maximum=2048)
_WORDS = Option("words", 3, "Most words per image (at least one; fewer when the image is small).", minimum=1)

GENERATORS = (
    Generator(
        name="synthtext-chars",
        imitates="SynthText with character boxes, MaskTextSpotter layout",
        summary="train_images/*.jpg, train_gts/*.jpg.txt (word and per-character quads), train_list.txt",
        options=(Option("images", 4, "Training images.", minimum=1, maximum=10000), _SIZE, _WORDS, SEED),
        write=_write_synthtext,
    ),
    Generator(
        name="icdar-words",
        imitates="ICDAR 2013/2015 incidental scene text, MaskTextSpotter layout",
        summary="train_images/img_N.jpg, train_gts/gt_img_N.txt (quad,word; ### = do not care), test_images/",
        options=(
            Option("images", 4, "Training images.", minimum=1, maximum=10000),
            Option("test_images", 2, "Test images.", minimum=0, maximum=10000),
            Option("test_gts", False, "Also write test_gts/ (ICDAR 2013 style)."),
            Option("dontcare", True, "Add one ### (do not care) region per image, as the real data has."),
            _SIZE,
            _WORDS,
            SEED,
        ),
        write=_write_icdar,
    ),
)

__all__ = ["CHAR_CLASSES", "GENERATORS", "WORDS"]
