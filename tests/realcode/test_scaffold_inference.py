"""`recipe new --from-repo` on the real repositories (../shared/upstream bundles through a mirror): the inferred
faithful pins equal the curated recipes' exactly, dependent repositories are pinned at the project's commit date,
native build steps and tasks are found, and the field-by-field accuracy (bench/scaffold_accuracy.py) holds.
Inference only: nothing is built, so this takes seconds."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from support.scaffold_projects import PROJECTS, curated, curated_pins
from support.upstream import make_mirror, mirror_rule

from legacyrun.fetch.mirrors import Mirrors
from legacyrun.infer.accuracy import compare, score
from legacyrun.recipe.loader import parse_text
from legacyrun.recipe.models import Recipe
from legacyrun.run.runner import config_values, split_args
from legacyrun.share.scaffold import ScaffoldResult, scaffold_recipe


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mirror(tmp_path_factory.mktemp("scaffold-mirror"))


@pytest.fixture(scope="module")
def scaffolds(mirror: Path) -> dict[str, tuple[ScaffoldResult, Recipe]]:
    mirrors = Mirrors.from_sources([mirror_rule(mirror)])
    out = {}
    for name, url in PROJECTS.items():
        res = scaffold_recipe(name, url, mirrors=mirrors)
        out[name] = (res, parse_text(res.text, name))
    return out


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_faithful_pins_match_the_curated_recipe(scaffolds, name: str) -> None:
    res, recipe = scaffolds[name]
    faithful = recipe.env.profiles["faithful"]
    got = {k: str(getattr(faithful, k)) for k in ("python", "torch", "torchvision", "cuda")}
    want = curated_pins(name)
    assert {k: got[k] for k in ("python", "torch", "cuda")} == {k: want[k] for k in ("python", "torch", "cuda")}
    assert got["torchvision"] == want["torchvision"]
    # each pin carries its evidence on its line: FILE:LINE and the kind of statement
    for key in ("python", "torch", "cuda"):
        line = next(ln for ln in res.text.splitlines() if ln.startswith(f"      {key}: "))
        assert "  # " in line and ":" in line.split("  # ", 1)[1], line


def test_evidence_names_the_install_command(scaffolds) -> None:
    text = scaffolds["mask2former"][0].text
    assert "      torch: 1.9.0  # INSTALL.md:32 (install command)" in text
    assert "      python: '3.8'  # INSTALL.md:30 (install command)" in text
    mts = scaffolds["masktextspotter"][0].text
    assert "torch: 1.2.0  # README.md:22 (recommended)" in mts
    assert "the code needs torch >= 1.2 (maskrcnn_benchmark/" in mts  # the catalog's torch.bool floor
    fd = scaffolds["featdepth"][0].text
    assert "torch: 1.1.0  # requirements.txt:10 (named in the docs)" in fd
    assert "python: '3.7'  # README.md:38 (install command)" in fd


def test_detectron2_is_a_source_at_the_release_current_then(scaffolds) -> None:
    _, recipe = scaffolds["mask2former"]
    d2 = next(s for s in recipe.sources if s.name == "detectron2")
    want = next(s for s in curated("mask2former").sources if s.name == "detectron2")  # type: ignore[union-attr]
    assert d2.commit == want.commit == "d1e04565d3bec8719335b88be9e9b961bf3ec464"
    assert d2.note is not None and "v0.6" in d2.note and "INSTALL.md:36" in d2.note
    steps = recipe.env.profiles["faithful"].build
    assert [s.source for s in steps] == ["detectron2", "mask2former"]
    op = steps[1]
    assert op.cwd == "mask2former/modeling/pixel_decoder/ops"
    assert op.argv == ["python", "setup.py", "build", "install"]  # what make.sh runs, not `sh make.sh`
    assert op.cuda is True and op.cpu == "skip" and op.env == {}  # FORCE_CUDA comes from the plan
    # the modern profile builds the same trees through pip (setup.py develop/install leave nothing importable
    # with today's setuptools), as the curated recipe does
    cur = {b.name: b.argv for b in curated("mask2former").env.profiles["modern"].build}  # type: ignore[union-attr]
    modern = recipe.env.profiles["modern"].build
    assert modern[1].argv == cur["msdeformattn"]


def test_dependencies_that_are_notes_or_pypi(scaffolds) -> None:
    res, recipe = scaffolds["masktextspotter"]
    assert [s.name for s in recipe.sources] == ["masktextspotter"]
    assert "pycocotools" in recipe.env.profiles["faithful"].pip  # cocoapi's PythonAPI, from PyPI
    assert any(n.startswith("apex (README.md:59) left out") for n in res.notes)
    m2f = scaffolds["mask2former"][0]
    assert any(n.startswith("panopticapi (INSTALL.md:39) left out") for n in m2f.notes)


def test_tasks_and_launchers(scaffolds) -> None:
    _, m2f = scaffolds["mask2former"]
    assert m2f.tasks["train"].argv[:4] == [
        "python", "train_net.py", "--config-file", "configs/coco/panoptic-segmentation/maskformer2_R50_bs16_50ep.yaml"
    ]  # fmt: skip
    assert "--eval-only" in m2f.tasks["eval"].argv
    assert m2f.adapt is not None and m2f.adapt.reference_gpus == 8
    first = m2f.adapt.keys[0]
    assert (first.key, first.rule, first.reference) == ("--num-gpus", "gpus", 8)
    _, mts = scaffolds["masktextspotter"]
    assert mts.tasks["train"].argv == ["bash", "train.sh"]
    assert mts.tasks["finetune"].argv[3] == "--nproc_per_node={gpus}"
    _, fd = scaffolds["featdepth"]
    assert fd.tasks["train"].argv[-4:] == ["--config", "config/cfg_kitti_fm.py", "--work_dir", "{workspace}/work_dirs"]
    assert fd.adapt is not None and fd.adapt.reference_gpus == 1
    assert ("--local_rank", "launcher") in {(k.key, k.rule) for k in fd.adapt.keys}


def test_accuracy_table(scaffolds) -> None:
    """Field by field against the curated recipes; the floor only rises (bench/scaffold_accuracy.py prints it)."""
    for name in PROJECTS:
        cur = curated(name)
        if cur is None:
            continue
        rows = compare(scaffolds[name][1], cur)
        assert all(r.ok for r in rows if r.area in ("pins", "sources")), [r for r in rows if not r.ok]
        assert score(rows) >= 0.8, (name, score(rows))


def test_bundle_without_head_is_read_from_its_only_branch(scaffolds) -> None:
    # the FeatDepth bundle's HEAD names no branch; the scaffold takes its one branch
    assert scaffolds["featdepth"][0].commit == "f55c1015572f19e4cae2cf02129cf45cd10538c1"


def _smoke_of(recipe: Recipe, task: str) -> tuple[list[tuple[str, str, dict]], dict[str, str], list[str]]:
    smoke = recipe.tasks[task].smoke
    assert smoke is not None, task
    return [(d.generator, d.dest, dict(d.options)) for d in smoke.data], dict(smoke.env), list(smoke.args)


def test_mask2former_smoke_is_the_curated_one(scaffolds) -> None:
    """The documented COCO panoptic config has no generator; the ADE20K semantic sibling trains in the smoke run,
    with exactly the curated recipe's data and KEY VALUE arguments (detectron2's smoke args from the table)."""
    _, recipe = scaffolds["mask2former"]
    data, env, args = _smoke_of(recipe, "train")
    cdata, _cenv, cargs = _smoke_of(curated("mask2former"), "train")  # type: ignore[arg-type]
    assert data == cdata == [("ade20k-semseg", "detectron2/ADEChallengeData2016", {"images": 4, "size": 64})]
    assert env == {"DETECTRON2_DATASETS": "{smoke}/detectron2"}
    flags, _pairs = split_args(args)
    assert flags[:2] == ["--config-file", "configs/ade20k/semantic-segmentation/maskformer2_R50_bs16_160k.yaml"]
    assert config_values(args) == config_values(cargs)
    assert args[args.index("OUTPUT_DIR") + 1] == cargs[cargs.index("OUTPUT_DIR") + 1] == "{run_dir}/output"
    assert recipe.tasks["train"].env == {"DETECTRON2_DATASETS": "{workspace}/data/detectron2"}
    assert recipe.tasks["train"].datasets == ["coco"]
    coco = next(d for d in recipe.datasets if d.name == "coco")
    assert (coco.kind, coco.dest, coco.optional) == ("manual", "data/detectron2/coco", False)
    ade = next(d for d in recipe.datasets if d.name == "ade20k")
    assert ade.kind == "http" and ade.optional and ade.dest == "data/detectron2/ADEChallengeData2016"
    assert ade.urls == next(d for d in curated("mask2former").datasets if d.name == "ade20k").urls  # type: ignore[union-attr]


def test_mask2former_adapt_keys_read_from_the_config_chain(scaffolds) -> None:
    _, recipe = scaffolds["mask2former"]
    assert recipe.adapt is not None
    keys = {k.key: k for k in recipe.adapt.keys}
    cur = {k.key: k for k in curated("mask2former").adapt.keys}  # type: ignore[union-attr]
    for key in ("SOLVER.IMS_PER_BATCH", "SOLVER.BASE_LR", "DATALOADER.NUM_WORKERS"):
        got, want = keys[key], cur[key]
        assert (got.format, got.rule, got.reference, got.value, got.min) == (
            want.format, want.rule, want.reference, want.value, want.min
        ), key  # fmt: skip
        assert got.tasks == ["train"]
    norm = keys["MODEL.RESNETS.NORM"]
    assert (norm.format, norm.rule, len(norm.files)) == ("yaml", "syncbn", 7)


def test_masktextspotter_smoke_through_its_launch_script(scaffolds, mirror: Path) -> None:
    res, recipe = scaffolds["masktextspotter"]
    data, env, args = _smoke_of(recipe, "train")
    assert data == [("synthtext-chars", "maskrcnn_benchmark/synthtext", {"images": 4, "size": 128})]
    assert env == {"LEGACYRUN_DATASETS": "{smoke}/maskrcnn_benchmark"}
    assert split_args(args)[0][0] == "--skip-test"
    cargs = _smoke_of(curated("masktextspotter"), "train")[2]  # type: ignore[arg-type]
    got, want = config_values(args), config_values(cargs)
    assert got["SOLVER.MAX_ITER"] == "2" and got["MODEL.WEIGHT"] == ""
    assert {k: v for k, v in got.items() if k in want} == {k: v for k, v in want.items() if k in got}
    # the patches that make the data root and the arguments arrive match the real files exactly once
    git = f"--git-dir={mirror}/MhLiao/MaskTextSpotter.git"
    patches = {p.id: p for p in recipe.patches}
    for pid in ("data-dir", "train-args"):
        p = patches[pid]
        raw = subprocess.run(["git", git, "show", f"{res.commit}:{p.files[0]}"], capture_output=True, check=True)
        text = raw.stdout.decode()  # bytes: train.sh has CRLF line ends, which text mode would hide
        assert len(re.findall(p.find, text, re.M)) == 1, pid
    train_sh = re.sub(patches["train-args"].find, patches["train-args"].replace, text, flags=re.M)
    assert 'configs/pretrain.yaml "$@" #\r\n' in train_sh
    modern = curated("masktextspotter").env.profiles["modern"].build  # type: ignore[union-attr]
    assert recipe.env.profiles["modern"].build[0].argv == modern[0].argv
    assert recipe.tasks["finetune"].datasets == ["icdar2013", "icdar2015", "scut-eng-char", "synthtext", "total-text"]
    ic13 = next(d for d in recipe.datasets if d.name == "icdar2013")
    assert [str(link.url) for link in ic13.links] == [
        "https://drive.google.com/open?id=1sptDnAomQHFVZbjvnWt2uBvyeJ-gEl-A", "https://pan.baidu.com/s/18W2aFe_qOH8YQUDg4OMZdw"
    ]  # fmt: skip


def test_featdepth_stops_at_one_located_data_decision(scaffolds) -> None:
    res, recipe = scaffolds["featdepth"]
    assert recipe.tasks["train"].smoke is None
    assert [t for t in res.todos if t.startswith("config/")] == [
        "config/cfg_kitti_fm.py:14: 5 absolute paths of the authors' machine (in_path, gt_depth_path, "
        "depth_pretrained_path, pose_pretrained_path, extractor_pretrained_path); point them at the workspace's "
        "data/ and weights/ (a regex patch); for --smoke, kitti-stereo writes a kitti-raw layout"
    ]
    assert [(d.name, d.optional) for d in recipe.datasets] == [("kitti-raw", True)]
