"""Where a recipe file is: a reference found by name, path, source or bundle (not yet parsed), the built-in
folder, and where a recipe's patches live. The finding itself is legacyrun.share.registry's."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from legacyrun.resources import data_root

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class RecipeRef:
    """A recipe file found by the registry, not yet parsed."""

    name: str
    path: Path
    origin: str  # "builtin", "path:<dir>", ...


def builtin_dir() -> Path:
    return data_root("recipes")


def looks_like_path(spec: str) -> bool:
    return "/" in spec or os.sep in spec or spec.endswith(SUFFIXES)


def patches_dir_for(recipe_path: Path, name: str) -> Path:
    """patches/<name>/ for a recipe: beside the recipe's folder (recipes/../patches), else next to the file."""
    candidates = [
        recipe_path.resolve().parent.parent / "patches" / name,
        recipe_path.resolve().parent / "patches" / name,
        data_root("patches") / name,
    ]
    for cand in candidates:
        if cand.is_dir():
            return cand
    return candidates[0]


__all__ = ["SUFFIXES", "RecipeRef", "builtin_dir", "looks_like_path", "patches_dir_for"]
