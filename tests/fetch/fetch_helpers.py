"""Small builders shared by the fetch tests: a recipe file around given sources and datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from legacyrun.recipe.loader import LoadedRecipe, load_path

DUMMY_COMMIT = "0" * 40


def write_recipe(
    path: Path,
    *,
    sources: list[dict[str, Any]] | None = None,
    datasets: list[dict[str, Any]] | None = None,
    name: str = "demo",
) -> Path:
    data = {
        "schema_version": 1,
        "name": name,
        "title": "Demo",
        "sources": sources or [{"name": "demo", "url": "https://example.invalid/demo.git", "commit": DUMMY_COMMIT}],
        "env": {
            "profiles": {
                "faithful": {"python": "3.6", "torch": "0.4.1"},
                "modern": {"python": "3.11", "torch": ">=2.1"},
            }
        },
        "datasets": datasets or [],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def recipe(tmp: Path, **kw: Any) -> LoadedRecipe:
    return load_path(write_recipe(tmp / "recipe.yaml", **kw))


def make_lock(ws_root: Path, loaded: LoadedRecipe) -> None:
    """A minimal valid lockfile, so fetch has one to record content ids into."""
    from legacyrun import lock as lockmod
    from legacyrun.resolution import HostInfo, Resolution

    res = Resolution(
        recipe=loaded.recipe.name,
        recipe_hash=loaded.hash,
        profile="modern",
        python="3.11",
        torch="2.1.0",
        host=HostInfo(),
    )
    lk = lockmod.Lockfile(recipe=loaded.recipe.name, recipe_hash=loaded.hash, resolution=res, patches={"p1": "abc"})
    ws_root.mkdir(parents=True, exist_ok=True)
    lockmod.write(ws_root / "legacyrun.lock", lk)
