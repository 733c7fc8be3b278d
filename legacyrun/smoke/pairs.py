"""aligned-pairs: pix2pix's aligned dataset (facades, maps, edges2shoes...): A and B side by side in one image."""

from __future__ import annotations

from collections.abc import Mapping

from legacyrun.smoke.core import SEED, Generator, Option, OptionValue, Output
from legacyrun.smoke.raster import Canvas, Rng, random_shape
from legacyrun.smoke.semseg import class_color

_SPLITS = ("train", "val", "test")


def _write(out: Output, opts: Mapping[str, OptionValue]) -> None:
    """Layout (`dest` is the dataset directory passed as --dataroot, e.g. datasets/facades)::

        train/1.jpg ...   RGB, (2*size) x size: A (flat-coloured label map) on the left half,
        val/1.jpg ...     B (the same shapes, textured, as a "photo") on the right half
        test/1.jpg ...

    pix2pix's AlignedDataset splits each image at w/2 into A and B, as here.
    """
    size, count, seed = int(opts["size"]), int(opts["images"]), int(opts["seed"])
    for split_no, split in enumerate(_SPLITS):
        for i in range(1, count + 1):
            rng = Rng(seed, split_no, i)
            a = Canvas(size, size, 3, (20, 20, 120))
            b = Canvas(size, size, 3)
            b.background(rng)
            for _ in range(rng.between(2, 5)):
                k = rng.between(1, 12)
                shape = random_shape(rng, size, size)
                a.fill_polygon(shape, class_color(k))
                b.fill_polygon(shape, tuple(max(0, c - 40) for c in class_color(k)))
            pair = Canvas(2 * size, size, 3)
            for y in range(size):
                row = y * 2 * size * 3
                pair.data[row : row + size * 3] = a.data[y * size * 3 : (y + 1) * size * 3]
                pair.data[row + size * 3 : row + 2 * size * 3] = b.data[y * size * 3 : (y + 1) * size * 3]
            out.file(f"{split}/{i}.jpg", pair.jpeg())


GENERATORS = (
    Generator(
        name="aligned-pairs",
        imitates="pix2pix aligned A|B image pairs (facades-style)",
        summary="{train,val,test}/N.jpg, each (2*size) x size with A on the left and B on the right",
        options=(
            Option("images", 4, "Images per split (train, val, test).", minimum=1, maximum=10000),
            Option("size", 64, "Height, and width of each half, in pixels.", minimum=16, maximum=2048),
            SEED,
        ),
        write=_write,
    ),
)

__all__ = ["GENERATORS"]
