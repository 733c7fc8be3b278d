"""The real upstream dataset loaders read the smoke data: MaskTextSpotter's SynthText and ICDAR datasets and
FeatDepth's KITTI raw dataset, loaded from their bundles in ../shared/upstream at test time (never copied here).

Their heavy imports (maskrcnn_benchmark's structures, scipy.misc) are stubbed: what is tested is the loaders' own
path logic and ground-truth parsing, run unchanged on the generated files.
"""

from __future__ import annotations

from pathlib import Path

from support.smoke_data import FEATDEPTH_COMMIT, MTS_COMMIT, run_decoder, upstream_files

from legacyrun.smoke import generate

_MTS_RUN = r"""
import importlib.util, json, sys, types
from pathlib import Path

src, root, kind = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

class _Recorder:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs, self.fields = args, kwargs, {}
    def add_field(self, name, value):
        self.fields[name] = value

pkg = "maskrcnn_benchmark.structures"
for name in ("maskrcnn_benchmark", pkg, pkg + ".bounding_box", pkg + ".segmentation_mask"):
    sys.modules[name] = types.ModuleType(name)
sys.modules[pkg + ".bounding_box"].BoxList = _Recorder
for cls in ("SegmentationMask", "SegmentationCharMask", "CharPolygons"):
    setattr(sys.modules[pkg + ".segmentation_mask"], cls, _Recorder)

spec = importlib.util.spec_from_file_location("upstream_" + kind, src)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
if kind == "synthtext":
    ds = mod.SynthtextDataset(True, str(root / "train_list.txt"), str(root / "train_images"), str(root / "train_gts"))
else:
    ds = mod.IcdarDataset(False, str(root / "train_images"), str(root / "train_gts"))
out = []
for i in range(len(ds)):
    img, target, path = ds[i]
    chars = target.fields["char_masks"]
    out.append({
        "image": Path(path).name,
        "size": list(img.size),
        "boxes": target.args[0].tolist(),
        "words": chars.kwargs["words"],
        "use_char_ann": chars.kwargs["use_char_ann"],
        "chars": [[[int(v) for v in cb] for cb in word] for word in chars.args[0]],
    })
print(json.dumps(out))
"""


def _gt_words(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text().splitlines()]


def test_masktextspotter_synthtext_loader_reads_words_and_characters(decoder: Path, tmp_path: Path) -> None:
    path = "maskrcnn_benchmark/data/datasets/synthtext.py"
    code = upstream_files(tmp_path, "MhLiao+MaskTextSpotter", MTS_COMMIT, [path])[path]
    (tmp_path / "synthtext.py").write_text(code)
    root = generate("synthtext-chars", tmp_path / "synthtext").dest
    got = run_decoder(_MTS_RUN, str(tmp_path / "synthtext.py"), str(root), "synthtext", python=str(decoder))
    assert [g["image"] for g in got] == (root / "train_list.txt").read_text().split()
    classes = "_0123456789abcdefghijklmnopqrstuvwxyz"
    for item in got:
        expected = _gt_words(root / "train_gts" / f"{item['image']}.txt")
        assert item["size"] == [128, 128] and item["use_char_ann"] is True
        assert item["words"] == [parts[8] for parts in expected]
        for k, (parts, boxes, chars) in enumerate(zip(expected, item["boxes"], item["chars"], strict=True)):
            quad = [int(v) for v in parts[:8]]
            assert boxes[:4] == [min(quad[::2]) - 1, min(quad[1::2]) - 1, max(quad[::2]) - 1, max(quad[1::2]) - 1]
            word = parts[8]
            assert len(chars) == len(word)  # one character box per character, classes as the loader maps them
            assert [classes[cb[8]] for cb in chars] == list(word.lower())
            assert all(cb[9] == k for cb in chars)


def test_masktextspotter_icdar_loader_finds_and_parses_the_gts(decoder: Path, tmp_path: Path) -> None:
    path = "maskrcnn_benchmark/data/datasets/icdar.py"
    code = upstream_files(tmp_path, "MhLiao+MaskTextSpotter", MTS_COMMIT, [path])[path]
    (tmp_path / "icdar.py").write_text(code)
    root = generate("icdar-words", tmp_path / "icdar2015").dest
    got = run_decoder(_MTS_RUN, str(tmp_path / "icdar.py"), str(root), "icdar", python=str(decoder))
    assert sorted(g["image"] for g in got) == [f"img_{i}.jpg" for i in range(1, 5)]
    for item in got:
        expected = _gt_words(root / "train_gts" / f"gt_{item['image'][:-4]}.txt")
        assert item["words"] == [p[8] for p in expected if p[8] != "###"]  # ### regions are skipped
        assert len(item["boxes"]) == len(item["words"])


_FEATDEPTH_RUN = r"""
import json, sys, types
from pathlib import Path
import numpy as np
import PIL.Image

# What a modern stack lacks and the recipe patches: Pillow 10 dropped ANTIALIAS, numpy 2 dropped np.int,
# SciPy dropped scipy.misc (imported, used only for velodyne depth resizing).
if not hasattr(PIL.Image, "ANTIALIAS"):
    PIL.Image.ANTIALIAS = PIL.Image.LANCZOS
if not hasattr(np, "int"):
    np.int = int
for name in ("scipy", "scipy.misc"):
    sys.modules.setdefault(name, types.ModuleType(name))

pkg, root = Path(sys.argv[1]), Path(sys.argv[2])
sys.path.insert(0, str(pkg.parent))
from fdds.kitti_dataset import KITTIRAWDataset
from fdds.kitti_utils import generate_depth_map

split = root / "splits" / "smoke"
train = KITTIRAWDataset(str(root), split.joinpath("train_files.txt").read_text().splitlines(), 32, 96,
                        [0, -1, 1, "s"], is_train=True, img_ext=".jpg")
item = train[0]
val = KITTIRAWDataset(str(root), split.joinpath("val_files.txt").read_text().splitlines(), 32, 96, [0],
                      is_train=False, img_ext=".jpg", gt_depth_path=str(root / "gt_depths.npz"))
vitem = val[len(val) - 1]
folder = val.filenames[0].split()[0]
velo = root / folder / "velodyne_points" / "data" / "0000000001.bin"
depth = generate_depth_map(str(root / folder.split("/")[0]), str(velo), 2)
print(json.dumps({
    "train": len(train), "val": len(val),
    "keys": sorted(str(k) for k in item),
    "color": list(item[("color", 0, 0)].shape), "stereo": list(item[("color", "s", 0)].shape),
    "gt_depth": list(vitem["gt_depth"].shape),
    "velo_depth_shape": list(depth.shape), "velo_points_in_image": int((depth > 0).sum()),
    "velo_depth_max": float(depth.max()),
}))
"""


def test_featdepth_kitti_dataset_reads_the_sequences(decoder: Path, tmp_path: Path) -> None:
    paths = [f"mono/datasets/{n}.py" for n in ("kitti_dataset", "mono_dataset", "kitti_utils")]
    files = upstream_files(tmp_path, "sconlyshootery+FeatDepth", FEATDEPTH_COMMIT, paths)
    pkg = tmp_path / "fdds"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for path, code in files.items():
        if path.endswith("mono_dataset.py"):
            # A stray parenthesis upstream: a SyntaxError at this commit (a FeatDepth recipe must patch it).
            code = code.replace("hue=self.hue))", "hue=self.hue)")
        (pkg / Path(path).name).write_text(code)
    root = generate("kitti-stereo", tmp_path / "kitti_raw").dest
    got = run_decoder(_FEATDEPTH_RUN, str(pkg), str(root), python=str(decoder))
    assert got["train"] == 6 and got["val"] == 3
    assert "('color', 's', 0)" in got["keys"] and "('color', -1, 0)" in got["keys"] and "stereo_T" in got["keys"]
    assert got["color"] == got["stereo"] == [3, 32, 96]
    assert got["gt_depth"] == [48, 160]
    assert got["velo_depth_shape"] == [48, 160]
    assert got["velo_points_in_image"] > 20 and 3.0 < got["velo_depth_max"] < 80.0
