"""Where a recipe file is: a reference found by name, path, source or bundle (not yet parsed), the built-in
folder, and where a recipe's patches live. The finding itself is legacyrun.share.registry's."""

from __future__ import annotations

import os
import re
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


# A git URL (http(s), git, ssh, file, or scp-like user@host:path): `up REF` scaffolds such a REF.
URL_RE = re.compile(r"^(?:https?|git|ssh|file)://|^[\w.-]+@[\w.-]+:")


def is_repository_ref(ref: str) -> bool:
    """A git URL, or a local directory that is a git work tree or bare repository (not a recipe file or name)."""
    if URL_RE.match(ref):
        return not ref.endswith((".yaml", ".yml", ".tar.gz"))
    path = Path(ref)
    return path.is_dir() and ((path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir()))


__all__ = ["SUFFIXES", "URL_RE", "RecipeRef", "builtin_dir", "is_repository_ref", "looks_like_path", "patches_dir_for"]
