"""`list` with LEGACYRUN_RECIPE_PATH (built-in recipes shadow same-named ones), `--version` through
`python -m legacyrun`, and `show` of every built-in recipe in human and --json form."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.cli import run_cli, run_inproc

import legacyrun
from legacyrun.recipe.loader import load_path
from legacyrun.recipe.refs import builtin_dir

BUILTIN = sorted(builtin_dir().glob("*.yaml"))


def _write_recipe(folder: Path, name: str, title: str, repo_root: Path) -> Path:
    text = (repo_root / "recipes" / "pix2pix.yaml").read_text(encoding="utf-8")
    text = text.replace("name: pix2pix\n", f"name: {name}\n", 1)
    text = text.replace("title: ", f'title: "{title}"\n# was: ', 1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_path(path).recipe.title == title
    return path


def test_recipe_path_adds_a_folder_and_builtins_shadow(tmp_path: Path, repo_root: Path) -> None:
    first, second = tmp_path / "lab", tmp_path / "mine"
    _write_recipe(first, "labnet", "Lab network", repo_root)
    _write_recipe(first, "pix2pix", "A lab copy of pix2pix", repo_root)
    _write_recipe(second, "labnet", "Shadowed by the first folder", repo_root)
    _write_recipe(second, "solo", "Only in the second folder", repo_root)
    env = {"LEGACYRUN_RECIPE_PATH": os.pathsep.join([str(first), str(second)])}

    res = run_cli("list", "--json", env=env)
    assert res.exit_code == 0, res.stderr
    by_name = {r["name"]: r for r in json.loads(res.stdout)}
    assert {"pix2pix", "masktextspotter", "mask2former", "labnet", "solo"} <= set(by_name)
    assert by_name["pix2pix"]["origin"] == "builtin"
    assert Path(by_name["pix2pix"]["path"]).parent == builtin_dir()
    assert by_name["labnet"]["origin"] == f"path:{first}"
    assert by_name["solo"]["origin"] == f"path:{second}"

    human = run_cli("list", env=env)
    assert human.exit_code == 0, human.stderr
    assert "Lab network" in human.stdout
    assert "Only in the second folder" in human.stdout
    assert "A lab copy of pix2pix" not in human.stdout
    assert "Shadowed" not in human.stdout

    shown = run_cli("show", "labnet", "--json", env=env)
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["title"] == "Lab network"
    builtin = run_cli("show", "pix2pix", "--json", env=env)
    assert json.loads(builtin.stdout)["origin"] == "builtin"


def test_list_survives_a_broken_recipe_on_the_path(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    res = run_cli("list", env={"LEGACYRUN_RECIPE_PATH": str(folder)})
    assert res.exit_code == 0, res.stderr
    assert "broken" in res.stdout
    assert "invalid" in res.stdout
    shown = run_cli("show", "broken", env={"LEGACYRUN_RECIPE_PATH": str(folder)})
    assert shown.exit_code == 2
    assert shown.stderr.startswith(f"{folder / 'broken.yaml'}:1:7: (yaml): ")
    assert "Traceback" not in shown.stderr


def test_unknown_recipe_name_is_a_usage_error() -> None:
    res = run_inproc("show", "no-such-recipe")
    assert res.exit_code == 2
    assert "unknown recipe 'no-such-recipe'" in res.stderr
    assert "pix2pix" in res.stderr


def test_python_m_legacyrun_version() -> None:
    res = run_cli("--version")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == f"legacyrun {legacyrun.__version__}"


def test_help_lists_the_commands() -> None:
    res = run_cli("--help")
    assert res.exit_code == 0, res.stderr
    for command in ("list", "show", "recipe"):
        assert command in res.stdout


@pytest.mark.parametrize("path", BUILTIN, ids=lambda p: p.stem)
def test_show_builtin_human(path: Path) -> None:
    recipe = load_path(path).recipe
    res = run_inproc("show", path.stem)
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert recipe.name in out
    for src in recipe.sources:
        assert src.name in out
    for profile in recipe.env.profiles:
        assert profile in out
    for ds in recipe.datasets:
        assert ds.name in out
    for task in recipe.tasks:
        assert task in out
    if recipe.adapt:
        assert f"written for {recipe.adapt.reference_gpus} GPUs" in out


@pytest.mark.parametrize("path", BUILTIN, ids=lambda p: p.stem)
def test_show_builtin_json(path: Path) -> None:
    recipe = load_path(path).recipe
    res = run_inproc("show", path.stem, "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["name"] == recipe.name
    assert [(s["name"], s["commit"]) for s in data["sources"]] == [(s.name, s.commit) for s in recipe.sources]
    assert {"faithful", "modern"} <= set(data["profiles"])
    assert [d["name"] for d in data["datasets"]] == [d.name for d in recipe.datasets]
    assert [p["id"] for p in data["patches"]] == [p.id for p in recipe.patches]
    assert set(data["tasks"]) == set(recipe.tasks)
    assert len(data["recipe_hash"]) == 64


def test_show_by_path_equals_show_by_name(repo_root: Path) -> None:
    by_name = json.loads(run_inproc("show", "mask2former", "--json").stdout)
    by_path = json.loads(run_inproc("show", repo_root / "recipes" / "mask2former.yaml", "--json").stdout)
    assert by_name["recipe_hash"] == by_path["recipe_hash"]
