"""ade20k-semseg: ADE20K (SceneParsing, ADEChallengeData2016) for semantic segmentation."""

from __future__ import annotations

from collections.abc import Mapping

from legacyrun.smoke.core import SEED, Generator, Option, OptionValue, Output
from legacyrun.smoke.raster import Canvas, Rng, random_shape

ADE_CLASSES = 150
IGNORE = 255
_SPLITS = (("training", "ADE_train"), ("validation", "ADE_val"))


def class_color(k: int) -> tuple[int, int, int]:
    """A fixed colour per class id, so that image content and labels agree (a network can learn it)."""
    return ((k * 67 + 31) % 200 + 30, (k * 131 + 7) % 200 + 30, (k * 29 + 101) % 200 + 30)


def _write(out: Output, opts: Mapping[str, OptionValue]) -> None:
    """Layout (`dest` is the ADEChallengeData2016 directory itself)::

        images/training/ADE_train_00000001.jpg ...        RGB, size x size
        images/validation/ADE_val_00000001.jpg ...
        annotations/training/ADE_train_00000001.png ...   8-bit gray labels 0..150 (0 = "other")
        annotations/validation/ADE_val_00000001.png ...
        annotations_detectron2/{training,validation}/*.png  the same labels shifted as Mask2Former's
                                                          prepare_ade20k_sem_seg.py writes them: 0 -> 255
                                                          (ignore), k -> k-1

    Each image is a textured background (label 0) with 2..5 shapes (rectangles, ellipses, triangles) painted
    with their class's colour; objectInfo150.txt and sceneCategories.txt are not written (the loaders of
    detectron2 and Mask2Former do not read them).
    """
    size, count, seed = int(opts["size"]), int(opts["images"]), int(opts["seed"])
    for split_no, (split, prefix) in enumerate(_SPLITS):
        for i in range(1, count + 1):
            rng = Rng(seed, split_no, i)
            image = Canvas(size, size, 3)
            image.background(rng)
            labels = Canvas(size, size, 1, 0)
            for _ in range(rng.between(2, 5)):
                k = rng.between(1, ADE_CLASSES)
                shape = random_shape(rng, size, size)
                image.fill_polygon(shape, class_color(k))
                labels.fill_polygon(shape, k)
            shifted = Canvas(size, size, 1)
            shifted.data = bytearray(IGNORE if v == 0 else v - 1 for v in labels.data)
            name = f"{prefix}_{i:08d}"
            out.file(f"images/{split}/{name}.jpg", image.jpeg())
            out.file(f"annotations/{split}/{name}.png", labels.png())
            out.file(f"annotations_detectron2/{split}/{name}.png", shifted.png())


GENERATORS = (
    Generator(
        name="ade20k-semseg",
        imitates="ADE20K SceneParsing (ADEChallengeData2016), detectron2/Mask2Former layout",
        summary=(
            "images/{training,validation}/ADE_*.jpg, annotations/ (labels 0..150) and annotations_detectron2/ "
            "(0 -> 255, k -> k-1)"
        ),
        options=(
            Option("images", 4, "Images per split (training, validation).", minimum=1, maximum=10000),
            Option("size", 64, "Width and height of each image in pixels.", minimum=16, maximum=2048),
            SEED,
        ),
        write=_write,
    ),
)

__all__ = ["ADE_CLASSES", "GENERATORS", "IGNORE", "class_color"]
