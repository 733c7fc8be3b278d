"""Finding recipes by name: built-in ones first, then folders on LEGACYRUN_RECIPE_PATH, then added sources.

RECIPE on the command line is a name, `SOURCE:NAME` (one origin explicitly: builtin, or an added source), a path
to a YAML file (anything with a '/' or a .yaml/.yml suffix), or an exported bundle (a path ending .tar.gz).
"""

from __future__ import annotations

import os
from pathlib import Path

from legacyrun.errors import UsageError
from legacyrun.recipe.loader import LoadedRecipe, load_path
from legacyrun.recipe.refs import SUFFIXES, RecipeRef, builtin_dir, looks_like_path
from legacyrun.share.bundle import find_bundle
from legacyrun.share.sources import find_qualified, source_search_dirs


def search_dirs() -> list[tuple[str, Path]]:
    """(origin, folder) pairs in priority order."""
    dirs: list[tuple[str, Path]] = [("builtin", builtin_dir())]
    for entry in os.environ.get("LEGACYRUN_RECIPE_PATH", "").split(os.pathsep):
        if entry.strip():
            dirs.append((f"path:{entry}", Path(entry).expanduser()))
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


def find(spec: str) -> RecipeRef:
    """Resolve a recipe name or path to a file (not parsed)."""
    if spec.endswith(".tar.gz"):
        return find_bundle(spec)
    if ":" in spec and not looks_like_path(spec):
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


__all__ = ["available", "find", "load", "search_dirs"]
