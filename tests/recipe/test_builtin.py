"""Built-in recipes validate; the checked-in JSON Schema is current; show --json carries the commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import run_inproc

from legacyrun.recipe.loader import load_path
from legacyrun.recipe.refs import builtin_dir
from legacyrun.recipe.schema import schema_text
from legacyrun.share.registry import available

BUILTIN = sorted(builtin_dir().glob("*.yaml"))


def test_there_are_builtin_recipes() -> None:
    assert {r.name for r in available()} >= {"pix2pix"}


@pytest.mark.parametrize("path", BUILTIN, ids=lambda p: p.stem)
def test_builtin_recipe_validates(path: Path) -> None:
    loaded = load_path(path)
    assert loaded.recipe.name == path.stem
    assert {"faithful", "modern"} <= set(loaded.recipe.env.profiles)


def test_schema_file_is_current(repo_root: Path) -> None:
    checked_in = (repo_root / "recipes" / "schema" / "recipe.schema.json").read_text(encoding="utf-8")
    assert checked_in == schema_text(), "run: legacyrun recipe schema -o recipes/schema/recipe.schema.json"


def test_show_json_carries_pinned_commit() -> None:
    res = run_inproc("show", "pix2pix", "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["sources"][0]["commit"] == "a24e24d67d88f75869f447690f7d994fe7d42e2d"
