"""Patch kinds and target selection at the unit level: the catalog kind through a small fake of its API,
placeholder expansion, globs, `when` conditions and profile pins."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from patching.patchkit import Project

from legacyrun.errors import PatchError
from legacyrun.patching.engine import apply, list_patches, plan_patches
from legacyrun.patching.globs import select
from legacyrun.patching.kinds import expand_replacement
from legacyrun.patching.target import Target, pin_of, target_for_profile, when_holds
from legacyrun.recipe.models import When

CATALOG = """\
patches:
  - {id: fwd, kind: catalog, source: proj, rules: [py-data0-item, "set:thc"], files: ["**/*.py"], exclude: [tools/*]}
"""


@dataclass(frozen=True)
class FakeVersions:
    torch: str
    python: str | None = None
    cuda: str | None = None


def _fake_catalog(monkeypatch: pytest.MonkeyPatch, calls: list[tuple[object, ...]]) -> None:
    def apply_rules(
        root: Path, rule_ids: list[str], files: list[str], exclude: list[str], target: FakeVersions
    ) -> Mapping[str, tuple[str, str]]:
        calls.append((rule_ids, files, exclude, target))
        old = (root / "train.py").read_text()
        return {
            "train.py": (old, old.replace(".data[0]", ".item()")),
            "README.md": ("same", "same"),
            "datasets/untracked.py": ("a", "b"),  # the catalog walks the directory; untracked files stay
        }

    module = types.ModuleType("legacyrun.patching.catalog")
    module.apply_rules = apply_rules  # type: ignore[attr-defined]
    module.TargetVersions = FakeVersions  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "legacyrun.patching.catalog", module)


def test_catalog_kind_calls_the_catalog_api(project: Callable[..., Project], monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, ...]] = []
    _fake_catalog(monkeypatch, calls)
    p = project()
    loaded = p.write_recipe(CATALOG)
    target = Target(profile="modern", torch="2.1", python="3.11", cuda="12.1")
    result = apply(plan_patches(loaded, p.ws, target))
    assert result.sources[0].applied == ["fwd"]
    assert calls == [
        (["py-data0-item", "set:thc"], ["**/*.py"], ["tools/*"], FakeVersions(torch="2.1", python="3.11", cuda="12.1"))
    ]
    assert ".data[0]" not in (p.src / "train.py").read_text()
    assert "README.md" not in result.sources[0].diff  # unchanged files are not written
    assert "untracked" not in result.sources[0].diff
    # Another torch means another patch content hash: the catalog decides per version.
    other = plan_patches(loaded, p.ws, Target(profile="modern", torch="2.4"))
    assert other.sources[0].patches[0].hash != plan_patches(loaded, p.ws, target).sources[0].patches[0].hash


def test_catalog_missing_from_the_build(project: Callable[..., Project], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "legacyrun.patching.catalog", None)
    p = project()
    loaded = p.write_recipe(CATALOG)
    with pytest.raises(PatchError, match="catalog rules are not available in this build"):
        apply(plan_patches(loaded, p.ws, Target(profile="modern", torch="2.1")))
    assert (p.src / "train.py").read_text().count(".data[0]") == 2


def test_expand_replacement() -> None:
    values = {"gpus": "2", "data_root": r"C:\data", "workspace": "/ws"}
    assert expand_replacement(r"\1 {gpus} {data_root} {{gpus}} {other} ${HOME}", values) == (
        r"\1 2 C:\\data {gpus} {other} ${HOME}"
    )


def test_globs() -> None:
    paths = ["a.py", "pkg/b.py", "pkg/sub/c.py", "pkg/d.txt", "tools/e.py"]
    assert select(paths, ["*.py"]) == ["a.py", "pkg/b.py", "pkg/sub/c.py", "tools/e.py"]
    assert select(paths, ["pkg/*.py"]) == ["pkg/b.py"]
    assert select(paths, ["pkg/**/*.py"]) == ["pkg/b.py", "pkg/sub/c.py"]
    assert select(paths, ["**/*"], ["tools/*", "*.txt"]) == ["a.py", "pkg/b.py", "pkg/sub/c.py"]
    assert select(paths, ["[ab].py"]) == ["a.py", "pkg/b.py"]  # no "/": any depth, like .gitignore


def test_when_and_pins() -> None:
    t = Target(profile="modern", torch="2.1.0", python="3.11", cuda=None, gpus=1)
    assert when_holds(None, t)
    assert when_holds(When(profiles=["modern"], torch=">=1.10", gpus="==1"), t)
    assert not when_holds(When(torch="<1.2"), t)
    assert not when_holds(When(cuda=">=11"), t)  # unknown CUDA never satisfies a condition
    assert when_holds(When(python="3.11"), t)
    assert pin_of(">=2.1,<2.5") == "2.1"
    assert pin_of("1.9.0") == "1.9.0"
    assert pin_of("==1.4.*") == "1.4"
    assert pin_of(None) is None


def test_target_for_profile_and_list(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(CATALOG.replace("exclude: [tools/*]}", "exclude: [tools/*], when: {torch: '>=1.0'}}"))
    faithful = target_for_profile(loaded.recipe, None)
    assert faithful == Target(profile="faithful", torch="0.4.1", python="3.6", cuda="9.0")
    rows = list_patches(loaded, faithful)
    assert rows[0]["id"] == "fwd" and rows[0]["applies"] == "no"
    assert list_patches(loaded, target_for_profile(loaded.recipe, "modern"))[0]["applies"] == "yes"
