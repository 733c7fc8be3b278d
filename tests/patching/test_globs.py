"""One glob dialect everywhere: the same table of (pattern, path, expected) runs through every user of globs:
regex patches, catalog patches (`files` and `exclude`), catalog rule globs (scan), adapt `files` and the
dataset `list` step. A user that matched with fnmatch or pathlib would fail some rows (`csrc/**/*` vs
`csrc/nms.h` is the one the real MaskTextSpotter recipe tripped on)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from legacyrun.fetch.post import run_post_steps
from legacyrun.patching.catalog import TargetVersions, apply_rules, scan
from legacyrun.patching.catalog.engine import file_matches
from legacyrun.patching.catalog.model import rules_by_id
from legacyrun.patching.globs import matches, select
from legacyrun.patching.kinds import regex_changes
from legacyrun.recipe.models import PostStep, RegexPatch

# (pattern, path, expected): git's `**` semantics.
GLOB_CASES: list[tuple[str, str, bool]] = [
    ("csrc/**/*", "csrc/nms.h", True),  # `**/` matches zero directories
    ("csrc/**/*", "csrc/cuda/nms.cu", True),
    ("csrc/**/*", "csrc", False),
    ("csrc/**/*", "other/csrc/nms.h", False),
    ("maskrcnn_benchmark/csrc/**/*.cu", "maskrcnn_benchmark/csrc/nms.cu", True),
    ("maskrcnn_benchmark/csrc/**/*.cu", "maskrcnn_benchmark/csrc/cuda/a/b/nms.cu", True),
    ("maskrcnn_benchmark/csrc/**/*.cu", "maskrcnn_benchmark/csrc/cuda/nms.h", False),
    ("**/*.py", "train.py", True),
    ("**/*.py", "a/b/train.py", True),
    ("**/*.py", "train.pyc", False),
    ("*.py", "train.py", True),  # no '/': the file name at any depth (gitignore)
    ("*.py", "models/net.py", True),
    ("tools/*.py", "tools/train.py", True),
    ("tools/*.py", "tools/sub/train.py", False),  # `*` stays inside one segment
    ("tools/*.py", "x/tools/train.py", False),
    ("/setup.py", "setup.py", True),  # a leading '/' anchors at the root
    ("/setup.py", "third_party/setup.py", False),
    ("setup.py", "third_party/setup.py", True),
    ("a/**/b.txt", "a/b.txt", True),
    ("a/**/b.txt", "a/x/y/b.txt", True),
    ("a/**/b.txt", "ab.txt", False),
    ("docs/**", "docs/index.md", True),
    ("docs/**", "docs/a/b.md", True),
    ("docs/**", "docs", False),
    ("docs/", "docs/a/b.md", True),  # a trailing '/' means the folder's contents
    ("a**b.py", "axb.py", True),  # `**` inside a segment is a plain `*`
    ("a**b.py", "a/x/b.py", False),
    ("model?.py", "model1.py", True),
    ("model?.py", "model12.py", False),
    ("model[0-9].py", "model3.py", True),
    ("model[!0-9].py", "model3.py", False),
    ("model[!0-9].py", "modelx.py", True),
    ("a[/]b", "a/b", False),  # a set never matches '/'
    ("**/*", "anything/at/all.bin", True),
]

IDS = [f"{p}~{path}" for p, path, _ in GLOB_CASES]


@pytest.mark.parametrize(("pattern", "path", "expected"), GLOB_CASES, ids=IDS)
def test_globs_module(pattern: str, path: str, expected: bool) -> None:
    assert matches(path, [pattern]) is expected
    assert (select([path], [pattern]) == [path]) is expected
    assert select([path], ["**/*"], exclude=[pattern]) == ([] if expected else [path])


@pytest.mark.parametrize(("pattern", "path", "expected"), GLOB_CASES, ids=IDS)
def test_catalog_rule_globs(pattern: str, path: str, expected: bool) -> None:
    """Rule `files` globs (used by scan and by apply) and Rule.matches_file agree with the table."""
    base = rules_by_id()["py-data0-item"]
    rule = dataclasses.replace(base, files=(pattern,))
    assert rule.matches_file(path) is expected
    assert file_matches(rule, path) is expected


LEGACY = "import torch\nx = torch.zeros(1)\nprint(x.data[0])\n"
TARGET = TargetVersions(torch="2.1", python="3.11")


def _tree(root: Path, paths: list[str]) -> None:
    for rel in paths:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(LEGACY)


@pytest.mark.parametrize(("pattern", "path", "expected"), GLOB_CASES, ids=IDS)
def test_catalog_patch_files_and_exclude(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str, path: str, expected: bool
) -> None:
    """A catalog patch's `files` and `exclude` (apply_rules), on a real tree holding one file at `path`.

    The rule's own globs are widened to every file, so only the patch's globs decide."""
    if path in ("csrc", "docs"):
        pytest.skip("a bare folder name is not a file in a tree")
    from legacyrun.patching.catalog import engine

    wide = dataclasses.replace(rules_by_id()["py-data0-item"], files=("*",))
    monkeypatch.setattr(engine, "expand_rule_ids", lambda ids: [wide])
    _tree(tmp_path, [path])
    assert (path in apply_rules(tmp_path, ["py-data0-item"], [pattern], [], TARGET)) is expected
    assert (path in apply_rules(tmp_path, ["py-data0-item"], ["**/*"], [pattern], TARGET)) is (not expected)


@pytest.mark.parametrize(("pattern", "path", "expected"), GLOB_CASES, ids=IDS)
def test_regex_patch_files(tmp_path: Path, pattern: str, path: str, expected: bool) -> None:
    if path in ("csrc", "docs"):
        pytest.skip("a bare folder name is not a file in a tree")
    _tree(tmp_path, [path])
    patch = RegexPatch(id="p", kind="regex", source="s", files=[pattern], find=r"\.data\[0\]", replace=".item()")
    if expected:
        assert list(regex_changes(patch, tmp_path, [path], {})) == [path]
    else:
        with pytest.raises(Exception, match="expected at least 1 match"):
            regex_changes(patch, tmp_path, [path], {})


@pytest.mark.parametrize(("pattern", "path", "expected"), GLOB_CASES, ids=IDS)
def test_dataset_list_step(tmp_path: Path, pattern: str, path: str, expected: bool) -> None:
    if path in ("csrc", "docs"):
        pytest.skip("a bare folder name is not a file in a tree")
    _tree(tmp_path / "root", [path])
    step = PostStep.model_validate({"list": {"root": "root", "glob": pattern, "output": "list.txt"}})
    run_post_steps(tmp_path, [step], dataset="d")
    assert (tmp_path / "list.txt").read_text().splitlines() == ([path] if expected else [])


def test_scan_uses_the_same_globs(tmp_path: Path) -> None:
    """scan's rule globs: a `csrc/**/*` rule glob finds csrc/nms.h (through file_matches, checked above)."""
    _tree(tmp_path, ["csrc/nms.py", "csrc/cuda/x.py"])
    found = {f.path for f in scan(tmp_path, TARGET, rule_ids=["py-data0-item"])}
    assert found == {"csrc/nms.py", "csrc/cuda/x.py"}
