"""Finding recipes by name: built-in ones first, then folders on LEGACYRUN_RECIPE_PATH, then added sources.

RECIPE on the command line is a name, `SOURCE:NAME` (one origin explicitly: builtin, or an added source), a path
to a YAML file (anything with a '/' or a .yaml/.yml suffix), or an exported bundle (a path ending .tar.gz).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from legacyrun.errors import UsageError
from legacyrun.recipe.loader import LoadedRecipe, load_path
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


def search_dirs() -> list[tuple[str, Path]]:
    """(origin, folder) pairs in priority order."""
    dirs: list[tuple[str, Path]] = [("builtin", builtin_dir())]
    for entry in os.environ.get("LEGACYRUN_RECIPE_PATH", "").split(os.pathsep):
        if entry.strip():
            dirs.append((f"path:{entry}", Path(entry).expanduser()))
    from legacyrun.recipe.sources import source_search_dirs

    dirs.extend(source_search_dirs())
    return dirs


def available() -> list[RecipeRef]:
    """Every recipe file visible by name; an earlier folder shadows a later one of the same name."""
    seen: dict[str, RecipeRef] = {}
    for origin, folder in search_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in SUFFIXES and path.is_file() and path.stem not in seen:
                seen[path.stem] = RecipeRef(path.stem, path, origin)
    return sorted(seen.values(), key=lambda r: r.name)


def looks_like_path(spec: str) -> bool:
    return "/" in spec or os.sep in spec or spec.endswith(SUFFIXES)


def find(spec: str) -> RecipeRef:
    """Resolve a recipe name or path to a file (not parsed)."""
    if spec.endswith(".tar.gz"):
        from legacyrun.recipe.bundle import find_bundle

        return find_bundle(spec)
    if ":" in spec and not looks_like_path(spec):
        from legacyrun.recipe.sources import find_qualified

        return find_qualified(spec)
    if looks_like_path(spec):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise UsageError(f"recipe file not found: {spec}")
        return RecipeRef(path.stem, path, "path")
    for ref in available():
        if ref.name == spec:
            return ref
    names = ", ".join(r.name for r in available()) or "none"
    raise UsageError(f"unknown recipe {spec!r} (available: {names})", hint="pass a path to a recipe YAML file")


def load(spec: str) -> LoadedRecipe:
    """Find and validate a recipe."""
    ref = find(spec)
    return load_path(ref.path, origin=ref.origin)


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


__all__ = ["RecipeRef", "available", "builtin_dir", "find", "load", "looks_like_path", "patches_dir_for", "search_dirs"]
