"""docs/recipes.md stays true: its full example validates and uses every key of the format, and every key and
every allowed value of the enumerations is explained somewhere in the document."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from legacyrun.recipe import models
from legacyrun.recipe.loader import parse_text

MODELS: list[type[BaseModel]] = [
    models.Recipe,
    models.Source,
    models.Env,
    models.Profile,
    models.BuildStep,
    models.Dataset,
    models.ManualLink,
    models.PostStep,
    models.MoveStep,
    models.ListStep,
    models.RunStep,
    models.RegexPatch,
    models.DiffPatch,
    models.CatalogPatch,
    models.When,
    models.Adapt,
    models.AdaptKey,
    models.Task,
]


def _doc(repo_root: Path) -> str:
    return (repo_root / "docs" / "recipes.md").read_text(encoding="utf-8")


def _example(repo_root: Path) -> str:
    doc = _doc(repo_root)
    section = doc.split("## A full example", 1)[1]
    m = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert m, "docs/recipes.md: no ```yaml block after '## A full example'"
    return m.group(1)


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def test_full_example_validates(repo_root: Path) -> None:
    recipe = parse_text(_example(repo_root), "docs/recipes.md")
    assert recipe.name == "tinyseg"
    assert {p.kind for p in recipe.patches} == {"regex", "diff", "catalog"}
    assert {d.kind for d in recipe.datasets} >= {"http", "torrent", "manual"}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_full_example_uses_every_key(model: type[BaseModel], repo_root: Path) -> None:
    example = _example(repo_root)
    missing = [k for k in _keys(model) if not re.search(rf"(^|[\s{{,]){re.escape(k)}:", example, re.M)]
    assert not missing, f"the example in docs/recipes.md never uses {model.__name__} keys {missing}"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_key_is_explained(model: type[BaseModel], repo_root: Path) -> None:
    reference = _doc(repo_root).split("## Field reference", 1)[1]
    missing = [k for k in _keys(model) if f"`{k}`" not in reference and f"{k}:" not in reference]
    assert not missing, f"docs/recipes.md's field reference does not explain {model.__name__} keys {missing}"


def test_every_enumeration_value_is_explained(repo_root: Path) -> None:
    reference = _doc(repo_root).split("## Field reference", 1)[1]
    for model in MODELS:
        for name, field in model.model_fields.items():
            args = typing.get_args(field.annotation)
            if typing.get_origin(field.annotation) is typing.Literal and isinstance(args[0], str):
                for value in args:
                    assert f"`{value}`" in reference, f"{model.__name__}.{name} value {value!r} is not explained"
