"""Each generator's on-disk layout with its default options, and its images read by real decoders."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.smoke_data import run_decoder

from legacyrun.smoke import generate
from legacyrun.smoke.coco import CATEGORIES
from legacyrun.smoke.text import CHAR_CLASSES


def _files(root: Path, pattern: str = "*") -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(pattern) if p.is_file())


def test_ade20k_layout(generated: dict[str, Path]) -> None:
    root = generated["ade20k-semseg"]
    for split, prefix in (("training", "ADE_train"), ("validation", "ADE_val")):
        stems = [f"{prefix}_{i:08d}" for i in range(1, 5)]
        assert _files(root / "images" / split) == [f"{s}.jpg" for s in stems]
        assert _files(root / "annotations" / split) == [f"{s}.png" for s in stems]
        assert _files(root / "annotations_detectron2" / split) == [f"{s}.png" for s in stems]


_ADE_LABELS = r"""
import json, sys
from pathlib import Path
import numpy as np
from PIL import Image
root = Path(sys.argv[1]); out = []
for p in sorted((root / "annotations").rglob("*.png")):
    a = np.array(Image.open(p))
    d = np.array(Image.open(root / "annotations_detectron2" / p.relative_to(root / "annotations")))
    img = Image.open(root / "images" / p.relative_to(root / "annotations").with_suffix(".jpg"))
    out.append({"mode": Image.open(p).mode, "dtype": str(a.dtype), "shape": list(a.shape), "img": list(img.size),
                "labels": sorted(int(v) for v in np.unique(a)),
                "shift_ok": bool(((a == 0) == (d == 255)).all() and (d[a > 0] == a[a > 0] - 1).all())})
print(json.dumps(out))
"""


def test_ade20k_labels_read_by_pil(decoder: Path, generated: dict[str, Path]) -> None:
    got = run_decoder(_ADE_LABELS, str(generated["ade20k-semseg"]), python=str(decoder))
    assert len(got) == 8
    for item in got:
        assert item["mode"] == "L" and item["dtype"] == "uint8" and item["shape"] == [64, 64]
        assert item["img"] == [64, 64]
        assert item["labels"][0] == 0 and len(item["labels"]) >= 2  # background "other" and some classes
        assert all(0 <= v <= 150 for v in item["labels"])
        assert item["shift_ok"]


def _word_lines(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]


def test_synthtext_layout(generated: dict[str, Path]) -> None:
    root = generated["synthtext-chars"]
    names = (root / "train_list.txt").read_text().split()
    assert names == [f"synth_{i:05d}.jpg" for i in range(1, 5)]
    assert _files(root / "train_images") == names
    assert _files(root / "train_gts") == [f"{n}.txt" for n in names]
    for name in names:
        lines = _word_lines(root / "train_gts" / f"{name}.txt")
        assert lines
        for parts in lines:
            assert len(parts) % 9 == 0
            word, chars = parts[8], parts[17::9]
            assert "".join(chars) == word and all(c.lower() in CHAR_CLASSES[1:] for c in chars)
            coords = [int(v) for k, v in enumerate(parts) if k % 9 != 8]
            assert min(coords) >= 1 and max(coords) <= 128


def test_icdar_layout(generated: dict[str, Path], tmp_path: Path) -> None:
    root = generated["icdar-words"]
    assert _files(root / "train_images") == [f"img_{i}.jpg" for i in range(1, 5)]
    assert _files(root / "train_gts") == [f"gt_img_{i}.txt" for i in range(1, 5)]
    assert _files(root / "test_images") == ["img_1.jpg", "img_2.jpg"]
    assert not (root / "test_gts").exists()
    for i in range(1, 5):
        lines = _word_lines(root / "train_gts" / f"gt_img_{i}.txt")
        assert all(len(parts) == 9 for parts in lines)
        assert lines[-1][8] == "###" and any(parts[8] != "###" for parts in lines)
    other = generate("icdar-words", tmp_path / "ic13", {"test_gts": True, "dontcare": False, "images": 1})
    assert "test_gts/gt_img_1.txt" in other.files
    assert all("###" not in (tmp_path / "ic13" / f).read_text() for f in other.files if f.endswith(".txt"))


def test_coco_layout_and_json(generated: dict[str, Path]) -> None:
    root = generated["coco-instances"]
    assert len(CATEGORIES) == 80 and len({c["id"] for c in CATEGORIES}) == 80
    seen_images: set[int] = set()
    seen_anns: set[int] = set()
    for split in ("train", "val"):
        doc = json.loads((root / "annotations" / f"instances_{split}2017.json").read_text())
        assert set(doc) == {"info", "licenses", "images", "annotations", "categories"}
        assert doc["categories"] == list(CATEGORIES)
        cat_ids = {c["id"] for c in doc["categories"]}
        images = {im["id"]: im for im in doc["images"]}
        assert len(images) == 4 and not seen_images & set(images)
        seen_images |= set(images)
        assert _files(root / f"{split}2017") == sorted(im["file_name"] for im in images.values())
        per_image = dict.fromkeys(images, 0)
        for ann in doc["annotations"]:
            assert ann["id"] not in seen_anns
            seen_anns.add(ann["id"])
            assert ann["image_id"] in images and ann["category_id"] in cat_ids and ann["iscrowd"] == 0
            per_image[ann["image_id"]] += 1
            (poly,) = ann["segmentation"]
            assert len(poly) >= 6 and len(poly) % 2 == 0
            xs, ys = poly[0::2], poly[1::2]
            x, y, w, h = ann["bbox"]
            assert (x, y) == (min(xs), min(ys)) and w > 0 and h > 0
            assert abs(x + w - max(xs)) < 0.02 and abs(y + h - max(ys)) < 0.02
            assert 0 < ann["area"] <= w * h + 0.01
            im = images[ann["image_id"]]
            assert max(xs) <= im["width"] and max(ys) <= im["height"]
        assert all(n >= 1 for n in per_image.values())  # detectron2 drops images without instances


_COCO_API = r"""
import json, sys
from pycocotools.coco import COCO
c = COCO(sys.argv[1])
print(json.dumps({"images": len(c.getImgIds()), "anns": len(c.getAnnIds()), "cats": len(c.getCatIds()),
                  "mask_pixels": [int(c.annToMask(a).sum()) for a in c.loadAnns(c.getAnnIds())]}))
"""


def test_coco_json_loads_in_pycocotools(decoder: Path, generated: dict[str, Path]) -> None:
    # The session torch venv has pycocotools; a SMOKE_DECODER_PYTHON without it skips (the structural test ran).
    probe = subprocess.run([str(decoder), "-c", "import pycocotools"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"pycocotools is not importable by {decoder} (see SMOKE_DECODER_PYTHON)")
    got = run_decoder(
        _COCO_API, str(generated["coco-instances"] / "annotations" / "instances_val2017.json"), python=str(decoder)
    )
    assert got["images"] == 4 and got["cats"] == 80 and all(n > 0 for n in got["mask_pixels"])


def test_aligned_pairs_layout(generated: dict[str, Path]) -> None:
    root = generated["aligned-pairs"]
    for split in ("train", "val", "test"):
        assert _files(root / split) == [f"{i}.jpg" for i in range(1, 5)]


def test_kitti_layout(generated: dict[str, Path]) -> None:
    root = generated["kitti-stereo"]
    drive = "2011_09_26/2011_09_26_drive_0001_sync"
    for cam in ("image_02", "image_03"):
        assert _files(root / drive / cam / "data") == [f"{f:010d}.jpg" for f in range(5)]
        assert len((root / drive / cam / "timestamps.txt").read_text().splitlines()) == 5
    assert _files(root / drive / "velodyne_points" / "data") == [f"{f:010d}.bin" for f in range(5)]
    assert (root / drive / "velodyne_points" / "data" / "0000000000.bin").stat().st_size == 512 * 16
    train = (root / "splits/smoke/train_files.txt").read_text().splitlines()
    assert train[:2] == [f"{drive} 1 l", f"{drive} 1 r"] and len(train) == 6
    val = (root / "splits/smoke/val_files.txt").read_text().splitlines()
    assert val == [f"{drive} {f:010d} l" for f in (1, 2, 3)]
    assert (root / "splits/smoke/test_files.txt").read_text().splitlines() == val
    for line in train + val:
        folder, frame, side = line.split()
        assert (root / folder / f"image_0{2 if side == 'l' else 3}" / "data" / f"{int(frame):010d}.jpg").is_file()
    calib = {}
    for line in (root / "2011_09_26" / "calib_cam_to_cam.txt").read_text().splitlines():
        key, value = line.split(":", 1)
        calib[key] = value.strip()
    assert [float(v) for v in calib["S_rect_02"].split()] == [160.0, 48.0]
    assert len(calib["P_rect_03"].split()) == 12 and len(calib["R_rect_00"].split()) == 9
    for name in ("calib_velo_to_cam.txt", "calib_imu_to_velo.txt"):
        keys = [line.split(":", 1)[0] for line in (root / "2011_09_26" / name).read_text().splitlines()]
        assert {"calib_time", "R", "T"} <= set(keys)


def test_kitti_png_and_more_drives(tmp_path: Path) -> None:
    result = generate("kitti-stereo", tmp_path / "k", {"drives": 2, "frames": 3, "ext": "png", "velodyne": False})
    assert "2011_09_26/2011_09_26_drive_0002_sync/image_03/data/0000000002.png" in result.files
    assert not any("velodyne" in f for f in result.files)
    train = (tmp_path / "k/splits/smoke/train_files.txt").read_text().splitlines()
    assert len(train) == 4 and train[-1] == "2011_09_26/2011_09_26_drive_0002_sync 1 r"


_KITTI_NPZ = r"""
import json, sys
import numpy as np
data = np.load(sys.argv[1], allow_pickle=True, fix_imports=True, encoding="latin1")["data"]
print(json.dumps({"shape": list(data.shape), "dtype": str(data.dtype), "first": list(data[0].shape),
                  "min": float(data.min()), "max": float(data.max()), "valid": float((data > 0).mean())}))
"""


def test_kitti_gt_depths_load_with_numpy(decoder: Path, generated: dict[str, Path]) -> None:
    got = run_decoder(_KITTI_NPZ, str(generated["kitti-stereo"] / "gt_depths.npz"), python=str(decoder))
    assert got["shape"] == [3, 48, 160] and got["dtype"] == "float32" and got["first"] == [48, 160]
    assert got["min"] == 0.0 and 1.0 < got["max"] <= 80.0 and 0.2 < got["valid"] < 0.9


_DECODE_ALL = r"""
import json, sys
from pathlib import Path
from PIL import Image
try:
    import cv2
except ImportError:
    cv2 = None
out = {}
for root in sys.argv[1:]:
    for p in sorted(Path(root).rglob("*")):
        if p.suffix in (".jpg", ".png"):
            with Image.open(p) as im:
                im.verify()
            with Image.open(p) as im:
                im.load()
                info = {"format": im.format, "mode": im.mode, "size": list(im.size)}
            if cv2 is not None:
                info["cv2"] = cv2.imread(str(p), cv2.IMREAD_UNCHANGED) is not None
            out[str(p)] = info
print(json.dumps(out))
"""

_SIZES = {
    "ade20k-semseg": [64, 64],
    "aligned-pairs": [128, 64],
    "coco-instances": [64, 64],
    "icdar-words": [128, 128],
    "kitti-stereo": [160, 48],
    "synthtext-chars": [128, 128],
}


def test_every_image_decodes(decoder: Path, generated: dict[str, Path]) -> None:
    got = run_decoder(_DECODE_ALL, *map(str, generated.values()), python=str(decoder))
    for name, root in generated.items():
        images = {k: v for k, v in got.items() if k.startswith(str(root) + "/")}
        assert images, name
        for path, info in images.items():
            assert info["format"] == ("JPEG" if path.endswith(".jpg") else "PNG"), path
            assert info["mode"] == ("RGB" if path.endswith(".jpg") else "L"), path
            assert info["size"] == _SIZES[name], path
            assert info.get("cv2", True), path
