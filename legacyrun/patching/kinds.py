"""The patch kinds: each turns a recipe patch into new file contents (regex, catalog) or a diff to apply.

regex and catalog compute every changed file in memory first and read nothing but the tree; the engine then
writes and commits them. diff patches are applied by `git apply` itself (all hunks or none, three-way fallback).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from legacyrun.errors import PatchError
from legacyrun.patching.globs import select
from legacyrun.patching.target import Target
from legacyrun.recipe.models import CatalogPatch, DiffPatch, RegexPatch

Changes = dict[str, tuple[str, str]]  # relpath -> (old text, new text), changed files only

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(gpus|data_root|workspace)\}")


def expand_replacement(template: str, values: Mapping[str, str]) -> str:
    """Expand {gpus}, {data_root} and {workspace} in a regex replacement; `{{` and `}}` give a literal brace.

    Any other brace is left as it is (so `{0}`, `${HOME}` or a dict literal need no escaping). The values are
    inserted literally: backslashes in them are doubled so `re` does not read them as group references.
    """

    def sub(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values[match.group(1)].replace("\\", "\\\\")

    return _PLACEHOLDER.sub(sub, template)


def _read(root: Path, rel: str) -> str | None:
    """Text of a tracked file, or None for binary/undecodable files (which text rules never touch)."""
    path = root / rel
    if path.is_symlink():  # writing through it could change a file outside the tree
        return None
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def regex_changes(patch: RegexPatch, root: Path, tracked: list[str], values: Mapping[str, str]) -> Changes:
    """Apply a sed-style rule in memory; the total count must equal `count` (or be at least 1 when unset)."""
    pattern = re.compile(patch.find, re.MULTILINE)
    replacement = expand_replacement(patch.replace, values)
    files = select(tracked, patch.files)
    changes: Changes = {}
    per_file: list[tuple[str, int]] = []
    for rel in files:
        old = _read(root, rel)
        if old is None:
            continue
        try:
            new, n = pattern.subn(replacement, old)
        except (re.error, IndexError) as exc:
            raise PatchError(f"patch {patch.id}: {rel}: bad replacement {patch.replace!r}: {exc}") from None
        if n:
            per_file.append((rel, n))
            if new != old:
                changes[rel] = (old, new)
    total = sum(n for _, n in per_file)
    expected = patch.count
    if (expected is None and total == 0) or (expected is not None and total != expected):
        where = ", ".join(f"{rel}: {n}" for rel, n in per_file) or f"no match in {len(files)} file(s) {patch.files}"
        want = "at least 1" if expected is None else str(expected)
        raise PatchError(
            f"patch {patch.id}: expected {want} match(es) of {patch.find!r}, found {total} ({where})",
            hint="the source drifted from what the recipe expects; nothing of this patch was applied",
        )
    return changes


CatalogApply = Callable[..., Mapping[str, tuple[str, str]]]


def _catalog_api() -> tuple[CatalogApply, Callable[..., object]]:
    # Imported by name at run time: the catalog package is built separately and may be absent from a build.
    import importlib

    try:
        module = importlib.import_module("legacyrun.patching.catalog")
        return module.apply_rules, module.TargetVersions
    except (ImportError, AttributeError):
        raise PatchError("catalog rules are not available in this build") from None


def catalog_changes(patch: CatalogPatch, root: Path, target: Target, tracked: list[str]) -> Changes:
    """Ask the catalog for the new contents of the files its rules change (the catalog reads, never writes).

    Only tracked files are kept: the catalog walks the directory, which may hold datasets and outputs."""
    apply_rules, target_versions = _catalog_api()
    versions = target_versions(torch=target.torch, python=target.python, cuda=target.cuda)
    try:
        result = apply_rules(root, list(patch.rules), list(patch.files), list(patch.exclude), versions)
    except PatchError:
        raise
    except (KeyError, ValueError) as exc:
        raise PatchError(f"patch {patch.id}: catalog: {exc}") from None
    keep = set(tracked)
    return {
        rel: (old, new)
        for rel, (old, new) in sorted(result.items())
        if old != new and rel in keep and not (root / rel).is_symlink()
    }


def diff_file(patch: DiffPatch, patches_dir: Path) -> Path:
    path = patches_dir / patch.file
    if not path.is_file():
        raise PatchError(f"patch {patch.id}: diff file not found: {path}")
    return path


def content_hash(patch: RegexPatch | DiffPatch | CatalogPatch, extra: Mapping[str, str]) -> str:
    """Hash of what a patch does: its definition, the diff text (diff kind) and the values it expands.

    It is computed without reading the source tree, so deciding that a re-run is a no-op stays cheap.
    """
    payload = {"patch": patch.model_dump(mode="json"), **extra}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = [
    "Changes",
    "catalog_changes",
    "content_hash",
    "diff_file",
    "expand_replacement",
    "regex_changes",
]
