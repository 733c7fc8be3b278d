"""coco-instances: COCO 2017 instance segmentation (images and instances_*.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from legacyrun.smoke.core import SEED, Generator, Option, OptionValue, Output
from legacyrun.smoke.raster import Canvas, Rng, polygon_area, random_shape

# The 80 COCO thing categories with their dataset ids (not contiguous) and supercategories. Loaders with
# built-in COCO metadata (detectron2's coco_2017_*, mmdet's CocoDataset) check the names and ids against theirs.
_SUPER: tuple[tuple[str, tuple[tuple[int, str], ...]], ...] = (
    ("person", ((1, "person"),)),
    ("vehicle", ((2, "bicycle"), (3, "car"), (4, "motorcycle"), (5, "airplane"), (6, "bus"), (7, "train"),
                 (8, "truck"), (9, "boat"))),
    ("outdoor", ((10, "traffic light"), (11, "fire hydrant"), (13, "stop sign"), (14, "parking meter"),
                 (15, "bench"))),
    ("animal", ((16, "bird"), (17, "cat"), (18, "dog"), (19, "horse"), (20, "sheep"), (21, "cow"),
                (22, "elephant"), (23, "bear"), (24, "zebra"), (25, "giraffe"))),
    ("accessory", ((27, "backpack"), (28, "umbrella"), (31, "handbag"), (32, "tie"), (33, "suitcase"))),
    ("sports", ((34, "frisbee"), (35, "skis"), (36, "snowboard"), (37, "sports ball"), (38, "kite"),
                (39, "baseball bat"), (40, "baseball glove"), (41, "skateboard"), (42, "surfboard"),
                (43, "tennis racket"))),
    ("kitchen", ((44, "bottle"), (46, "wine glass"), (47, "cup"), (48, "fork"), (49, "knife"), (50, "spoon"),
                 (51, "bowl"))),
    ("food", ((52, "banana"), (53, "apple"), (54, "sandwich"), (55, "orange"), (56, "broccoli"), (57, "carrot"),
              (58, "hot dog"), (59, "pizza"), (60, "donut"), (61, "cake"))),
    ("furniture", ((62, "chair"), (63, "couch"), (64, "potted plant"), (65, "bed"), (67, "dining table"),
                   (70, "toilet"))),
    ("electronic", ((72, "tv"), (73, "laptop"), (74, "mouse"), (75, "remote"), (76, "keyboard"),
                    (77, "cell phone"))),
    ("appliance", ((78, "microwave"), (79, "oven"), (80, "toaster"), (81, "sink"), (82, "refrigerator"))),
    ("indoor", ((84, "book"), (85, "clock"), (86, "vase"), (87, "scissors"), (88, "teddy bear"),
                (89, "hair drier"), (90, "toothbrush"))),
)  # fmt: skip
CATEGORIES: tuple[dict[str, Any], ...] = tuple(
    {"id": cid, "name": name, "supercategory": sup} for sup, cats in _SUPER for cid, name in cats
)
_SPLITS = ("train", "val")


def _category_color(cid: int) -> tuple[int, int, int]:
    return ((cid * 53 + 17) % 200 + 40, (cid * 97 + 61) % 200 + 40, (cid * 23 + 149) % 200 + 40)


def _write(out: Output, opts: Mapping[str, OptionValue]) -> None:
    """Layout (`dest` is the coco directory, e.g. datasets/coco)::

        train2017/000000000001.jpg ...          RGB, size x size
        val2017/000000000005.jpg ...            (image ids are unique across both splits)
        annotations/instances_train2017.json    info, licenses, images, annotations, categories (the 80 COCO
        annotations/instances_val2017.json      categories with their real ids); each annotation has a
                                                polygon segmentation, bbox [x, y, w, h], area, iscrowd 0

    Every image has 1..`objects` instances (rectangles, ellipses, triangles) painted in their category's
    colour; later shapes are drawn over earlier ones, as occlusion, and the polygons are kept whole.
    """
    size, count, seed, objects = int(opts["size"]), int(opts["images"]), int(opts["seed"]), int(opts["objects"])
    image_id = 0
    ann_id = 0
    for split_no, split in enumerate(_SPLITS):
        images: list[dict[str, Any]] = []
        anns: list[dict[str, Any]] = []
        for i in range(1, count + 1):
            image_id += 1
            rng = Rng(seed, split_no, i)
            canvas = Canvas(size, size, 3)
            canvas.background(rng)
            name = f"{image_id:012d}.jpg"
            for _ in range(rng.between(1, objects)):
                cat = CATEGORIES[rng.below(len(CATEGORIES))]
                shape = random_shape(rng, size, size)
                canvas.fill_polygon(shape, _category_color(cat["id"]))
                xs = [p[0] for p in shape]
                ys = [p[1] for p in shape]
                ann_id += 1
                anns.append(
                    {
                        "id": ann_id,
                        "image_id": image_id,
                        "category_id": cat["id"],
                        "segmentation": [[round(float(v), 2) for p in shape for v in p]],
                        "area": round(polygon_area(shape), 2),
                        "bbox": [
                            round(float(min(xs)), 2),
                            round(float(min(ys)), 2),
                            round(float(max(xs) - min(xs)), 2),
                            round(float(max(ys) - min(ys)), 2),
                        ],
                        "iscrowd": 0,
                    }
                )
            images.append(
                {
                    "id": image_id,
                    "file_name": name,
                    "width": size,
                    "height": size,
                    "license": 1,
                    "date_captured": "2026-01-01 00:00:00",
                }
            )
            out.file(f"{split}2017/{name}", canvas.jpeg())
        out.json(
            f"annotations/instances_{split}2017.json",
            {
                "info": {
                    "description": "legacyrun smoke data in the COCO 2017 instances format",
                    "version": "1.0",
                    "year": 2026,
                    "contributor": "legacyrun",
                    "url": "",
                    "date_created": "2026-01-01",
                },
                "licenses": [{"id": 1, "name": "CC0 1.0", "url": "https://creativecommons.org/publicdomain/zero/1.0/"}],
                "images": images,
                "annotations": anns,
                "categories": list(CATEGORIES),
            },
        )


GENERATORS = (
    Generator(
        name="coco-instances",
        imitates="COCO 2017 instance segmentation (train2017, val2017, annotations/instances_*.json)",
        summary="{train,val}2017/*.jpg and annotations/instances_{train,val}2017.json with polygon instances",
        options=(
            Option("images", 4, "Images per split (train, val).", minimum=1, maximum=10000),
            Option("size", 64, "Width and height of each image in pixels.", minimum=16, maximum=2048),
            Option("objects", 3, "Most instances per image (at least one).", minimum=1, maximum=50),
            SEED,
        ),
        write=_write,
    ),
)

__all__ = ["CATEGORIES", "GENERATORS"]
