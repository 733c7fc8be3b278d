"""`recipe new --from-repo` on a legacy-style repository the test makes with git: pins from requirements,
setup.py and the README, CUDA extension build steps, nproc_per_node adaptation, the catalog scan's patches,
and TODO lines; the result validates."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from support.cli import run_inproc

from legacyrun.errors import FetchError, UsageError
from legacyrun.recipe.loader import load_path
from legacyrun.share import scaffold
from legacyrun.share.scaffold import scaffold_recipe

README = """# DetNet: a 2019 detector

## Requirements
- Python 3.6
- PyTorch 1.1 (newer versions are untested)
- CUDA 9.0, cuDNN v7
- GCC 5.4
"""

TRAIN = """import torch
from torch.autograd import Variable


def train(model, loader, criterion, optimizer):
    for images, targets in loader:
        images = Variable(images.cuda(), volatile=True)
        loss = criterion(model(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print("loss", loss.data[0])
"""

SETUP_EXT = """from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CUDAExtension

setup(
    name="roi_align",
    ext_modules=[CUDAExtension("roi_align_cuda", ["roi_align.cpp", "roi_align_kernel.cu"])],
    cmdclass={"build_ext": BuildExtension},
)
"""


@pytest.fixture
def legacy_repo(make_git_repo: Callable):
    repo = make_git_repo("DetNet")
    repo.write("README.md", README)
    repo.write("requirements.txt", "torch==1.1.0\ntorchvision==0.3.0\nnumpy==1.16.4  # pinned\nopencv-python>=3.4\n")
    repo.write("tools/train.py", TRAIN)
    repo.write("tools/test.py", "import torch\n")
    repo.write("lib/roi_align/setup.py", SETUP_EXT)
    repo.write("lib/nms/make.sh", "cd src && nvcc -c nms_kernel.cu -arch=sm_52\npython build.py\n")
    repo.write(
        "scripts/dist_train.sh",
        "#!/bin/sh\npython -m torch.distributed.launch --nproc_per_node=8 tools/train.py --cfg $1\n",
    )
    first = repo.commit("release")
    repo.write("NEWS", "later work\n")
    head = repo.commit("later")
    return repo, first, head


def test_recipe_new_from_repo(legacy_repo, tmp_path: Path) -> None:
    repo, first, head = legacy_repo
    out = tmp_path / "detnet.yaml"
    res = run_inproc("recipe", "new", "detnet", "--from-repo", repo.url, "--commit", first, "-o", str(out), "--json")
    assert res.exit_code == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["commit"] == first

    loaded = load_path(out)  # it validates
    r = loaded.recipe
    assert r.sources[0].url == repo.url
    assert r.sources[0].commit == first
    assert r.sources[0].name == "detnet"
    faithful = r.env.profiles["faithful"]
    assert (faithful.python, faithful.torch, faithful.torchvision) == ("3.6", "1.1.0", "0.3.0")
    assert (faithful.cuda, faithful.cudnn, faithful.gcc) == ("9.0", "7", "5")
    assert faithful.pip == ["numpy==1.16.4", "opencv-python>=3.4"]
    assert r.env.profiles["modern"].pip == ["numpy", "opencv-python"]
    steps = {s.name: s for s in faithful.build}
    # a CUDAExtension below the top is built in place; legacyrun sets FORCE_CUDA on a CUDA plan (cuda: true)
    assert steps["roi-align"].argv == ["python", "setup.py", "build", "install"]
    assert steps["roi-align"].cwd == "lib/roi_align"
    assert steps["roi-align"].env == {} and steps["roi-align"].cuda is True
    assert steps["nms"].argv == ["sh", "make.sh"]  # a make.sh without `python setup.py` runs as it is
    assert r.adapt is not None
    assert r.adapt.reference_gpus == 8
    assert r.adapt.keys[0].files == ["scripts/dist_train.sh"]
    assert r.tasks["train"].argv == ["bash", "scripts/dist_train.sh"]
    assert r.tasks["test"].argv == ["python", "tools/test.py"]
    assert r.title == "DetNet: a 2019 detector"

    text = out.read_text()
    assert text.startswith("# Scaffolded by `legacyrun recipe new detnet")
    assert "# pretrained weights were not inferred" in text
    assert "# TODO: lib/nms/make.sh:1: make.sh runs no `python setup.py`" in text
    assert "      torch: 1.1.0  # requirements.txt:1 (install command)\n" in text

    # Without --commit: HEAD; an existing file is not overwritten.
    res = run_inproc("recipe", "new", "detnet", "--from-repo", repo.url, "-o", str(out))
    assert res.exit_code == 2
    assert "exists" in res.stderr
    assert scaffold_recipe("detnet", repo.url).commit == head


def test_catalog_scan_becomes_a_catalog_patch(legacy_repo) -> None:
    try:
        from legacyrun.patching.catalog import scan
    except ImportError:
        pytest.skip("legacyrun.patching.catalog is not on this branch yet (the catalog issue adds it)")

    repo, first, _ = legacy_repo
    result = scaffold_recipe("detnet", repo.url, commit=first)
    assert result.catalog_available
    modern = [f for f in result.findings if f["profile"] == "modern"]
    assert any(f["path"] == "tools/train.py" for f in modern), "scan flags loss.data[0] / volatile=True"
    recipe = yaml.safe_load(result.text)
    by_id = {p["id"]: p for p in recipe.get("patches", []) if p["kind"] == "catalog"}
    for profile, patch_id in (("modern", "forward-ports"), ("faithful", "faithful-fixes")):
        expected = sorted({f["rule_id"] for f in result.findings if f["profile"] == profile and f["auto_fixable"]})
        if expected:
            assert by_id[patch_id]["rules"] == expected
            assert by_id[patch_id]["when"] == {"profiles": [profile]}
            assert result.catalog_rules[profile] == expected
        else:
            assert patch_id not in by_id
    assert "forward-ports" in by_id
    assert "py-data0-item" in by_id["forward-ports"]["rules"]
    assert scan is not None


@dataclass
class _Finding:
    path: Path
    line: int
    rule_id: str
    auto_fixable: bool
    what_breaks: str
    fix: str


def test_scan_contract_wiring(legacy_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scaffold's side of the catalog contract `scan(root) -> list[Finding]`, with a stand-in catalog whose
    scan is a plain regex over the tree (the real catalog test above runs once the catalog lands)."""
    repo, first, _ = legacy_repo

    def scan(root: Path, target: object = None) -> list[_Finding]:
        out = []
        for path in sorted(root.rglob("*.py")):
            for i, line in enumerate(path.read_text().splitlines(), 1):
                if ".data[0]" in line:
                    out.append(_Finding(path, i, "py-data0-item", True, "IndexError on 0-dim", ".item()"))
                if "volatile=" in line:
                    out.append(_Finding(path, i, "py-variable-volatile", False, "eval builds a graph\n", "no_grad"))
        return out

    monkeypatch.setattr(scaffold, "scan", scan)
    # The stand-in knows no versions: one untargeted scan, for the modern profile.
    monkeypatch.setattr(scaffold, "_targets", lambda pins: [("modern", None)])
    result = scaffold_recipe("detnet", repo.url, commit=first)
    loaded_patch = yaml.safe_load(result.text)["patches"][0]
    assert loaded_patch["kind"] == "catalog"
    assert loaded_patch["rules"] == ["py-data0-item"]
    assert loaded_patch["when"] == {"profiles": ["modern"]}
    assert any(n.startswith("TODO: tools/train.py:7: py-variable-volatile") for n in result.notes)
    assert (
        "# TODO: tools/train.py:7: py-variable-volatile needs a hand-made patch: eval builds a graph\n" in result.text
    )


def test_scaffold_errors(legacy_repo, tmp_path: Path) -> None:
    repo, _, _ = legacy_repo
    with pytest.raises(UsageError, match="is not in"):
        scaffold_recipe("detnet", repo.url, commit="f" * 40)
    with pytest.raises(FetchError, match="cannot clone"):
        scaffold_recipe("detnet", (tmp_path / "nothing").as_uri())
    with pytest.raises(UsageError, match="invalid recipe name"):
        scaffold_recipe("Det Net", repo.url)


def test_bare_repo_still_validates(make_git_repo: Callable) -> None:
    repo = make_git_repo("empty-ish")
    repo.write("main.py", "print('hi')\n")
    repo.commit()
    result = scaffold_recipe("bare", repo.url)
    load_ok = yaml.safe_load(result.text)
    # nothing in the tree names a version: the torch release current at the commit's date, and why
    torch = load_ok["env"]["profiles"]["faithful"]["torch"]
    assert any(
        n.startswith(f"faithful.torch {torch}: commit date {result.date} (commit date): torch {torch}")
        for n in result.notes
    )
    assert any("no train/test entry point" in n for n in result.todos)


def test_environment_yml_and_setup_py_pins(make_git_repo: Callable) -> None:
    repo = make_git_repo("condaproj")
    repo.write(
        "environment.yml",
        "name: proj\nchannels: [pytorch]\ndependencies:\n  - python=3.7\n  - pytorch::pytorch=1.4.0\n"
        "  - torchvision==0.5.0\n  - cudatoolkit=10.1\n  - pip\n  - pip:\n    - tqdm==4.31.1\n",
    )
    repo.write(
        "setup.py",
        "from setuptools import setup\nsetup(name='proj', python_requires='>=3.6',\n"
        "      install_requires=['yacs>=0.1.6', \"torch>=1.0\"])\n",
    )
    repo.write("README.md", "# Proj\nTested with PyTorch 1.3 and CUDA 9.2.\n")
    repo.commit()
    result = scaffold_recipe("proj", repo.url)
    faithful = yaml.safe_load(result.text)["env"]["profiles"]["faithful"]
    # environment.yml is the most exact; setup.py and the README only fill what it left open.
    assert (faithful["python"], faithful["torch"], faithful["torchvision"], faithful["cuda"]) == (
        "3.7",
        "1.4.0",
        "0.5.0",
        "10.1",
    )
    assert faithful["pip"] == ["tqdm==4.31.1", "yacs>=0.1.6"]
    assert any(n.startswith("faithful.torch 1.4.0: environment.yml:") for n in result.notes)
