"""scan in a workspace after patch: a finding is auto-fixable by `legacyrun patch` only when a catalog patch of the
recipe selected for the target applies it; otherwise scan says "not selected for this target" or "outside the
recipe's rules". The legacy-style project (tests/support/legacy_project.py) in a real git repository, fetched and
patched by the real engine; its recipe's catalog patch selects only two of the rules that fire on it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from support.cli import run_inproc
from support.gitrepos import GitFactory
from support.http_server import FileServer
from support.legacy_project import make_legacy_project

from legacyrun import lock as lockmod
from legacyrun.fetch import fetch_code
from legacyrun.recipe.loader import LoadedRecipe, load_path
from legacyrun.resolution import HostInfo, Resolution
from legacyrun.usecases.patch import patch
from legacyrun.workspace import Workspace


def _workspace(loaded: LoadedRecipe, root: Path) -> Workspace:
    ws = Workspace.at(root)
    res = Resolution(
        recipe=loaded.recipe.name,
        recipe_hash=loaded.hash,
        profile="modern",
        python="3.11",
        torch="2.13.0",
        host=HostInfo(),
    )
    root.mkdir(parents=True)
    lockmod.write(ws.lockfile, lockmod.Lockfile(recipe=loaded.recipe.name, recipe_hash=loaded.hash, resolution=res))
    fetch_code(loaded, ws)
    return ws


def _verdicts(data: dict[str, object]) -> dict[str, tuple[str, str | None]]:
    findings = data["findings"]
    assert isinstance(findings, list)
    return {f["rule_id"]: (f["recipe"]["verdict"], f["recipe"]["patch"]) for f in findings}


@pytest.fixture
def project(
    tmp_path: Path, git_factory: GitFactory, http_server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[LoadedRecipe, Workspace]:
    proj = make_legacy_project(git_factory, http_server, tmp_path)
    data = yaml.safe_load(proj.recipe_path.read_text())
    # A second catalog patch that only the faithful profile selects: its rule is "not selected" for modern.
    data["patches"].append(
        {
            "id": "launcher",
            "kind": "catalog",
            "source": "toy",
            "rules": ["sh-torchrun"],
            "when": {"profiles": ["faithful"]},
        }
    )
    proj.recipe_path.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("LEGACYRUN_RECIPE_PATH", str(tmp_path))  # the lock names the recipe "toyproj"
    loaded = load_path(proj.recipe_path)
    return loaded, _workspace(loaded, tmp_path / "ws")


def test_scan_after_patch_promises_only_what_patch_does(project: tuple[LoadedRecipe, Workspace]) -> None:
    loaded, ws = project
    tree = ws.source_dir("toy")
    before = json.loads(run_inproc("scan", tree, "--json").stdout)
    assert before["recipe"] == {"name": "toyproj", "source": "toy", "profile": "modern", "target_from": "lock"}
    assert _verdicts(before) == {
        "py-data0-item": ("auto", "forward"),
        "py-variable-volatile": ("auto", "forward"),
        "py-distributed-local-rank": ("outside", None),
        "py-torch-save-zipfile-reverse": ("manual", None),
        "sh-torchrun": ("not-selected", "launcher"),
    }
    assert before["summary"]["auto_fixable"] == 2

    outcome = patch(loaded, ws)
    assert outcome.result is not None and outcome.result.sources[0].applied == ["forward"]

    res = run_inproc("scan", tree, "--json")
    assert res.exit_code == 0, res.stderr
    after = json.loads(res.stdout)
    verdicts = _verdicts(after)
    # Either patch applied it, or scan says why patch leaves it: nothing "auto" is left behind.
    assert "auto" not in {v for v, _ in verdicts.values()}
    assert verdicts == {
        "py-distributed-local-rank": ("outside", None),
        "py-torch-save-zipfile-reverse": ("manual", None),
        "sh-torchrun": ("not-selected", "launcher"),
    }
    assert after["summary"] == {
        "findings": 3,
        "files": 2,
        "auto_fixable": 0,
        "not_selected": 1,
        "outside_recipe": 1,
    }
    # The catalog itself still knows those two sites are fixable; only the recipe does not apply them.
    assert {f["rule_id"] for f in after["findings"] if f["auto_fixable"]} == {
        "py-distributed-local-rank",
        "sh-torchrun",
    }

    human = run_inproc("scan", tree)
    assert "py-distributed-local-rank [outside the recipe's rules]" in human.stdout
    assert "sh-torchrun [not selected for this target: patch launcher]" in human.stdout
    assert "[auto" not in human.stdout
    assert "0 auto-fixable by `legacyrun patch` (recipe toyproj, profile modern, torch 2.13.0" in human.stderr
    assert "1 not selected for this target, 1 outside the recipe's rules" in human.stderr

    # One file of the tree: paths map onto the source tree the same way.
    one = json.loads(run_inproc("scan", tree / "train.sh", "--json").stdout)
    assert _verdicts(one) == {"sh-torchrun": ("not-selected", "launcher")}


def test_untracked_files_and_recipe_option(project: tuple[LoadedRecipe, Workspace], tmp_path: Path) -> None:
    loaded, ws = project
    tree = ws.source_dir("toy")
    # An untracked file in the tree (an output, a dataset): patch never changes it, so scan does not promise it.
    (tree / "scratch.py").write_text("x = loss.data[0]\n")
    data = json.loads(run_inproc("scan", tree / "scratch.py", "--json").stdout)
    assert _verdicts(data) == {"py-data0-item": ("outside", None)}
    # A copy outside any workspace: plain scan, unless --recipe names the recipe.
    copy = tmp_path / "copy"
    shutil.copytree(tree, copy, ignore=shutil.ignore_patterns(".git"))
    plain = json.loads(run_inproc("scan", copy, "--json").stdout)
    assert "recipe" not in plain and plain["summary"]["auto_fixable"] == 5  # every fixable site, recipe or not
    judged = json.loads(run_inproc("scan", copy, "--recipe", str(loaded.path), "-w", ws.root, "--json").stdout)
    assert judged["recipe"]["source"] is None
    assert _verdicts(judged)["py-data0-item"] == ("auto", "forward")
    assert _verdicts(judged)["sh-torchrun"] == ("not-selected", "launcher")
