"""Applying rules to text and to a tree: `apply_rules` reads files and returns (old, new) pairs; it never writes."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from legacyrun.errors import PatchError
from legacyrun.patching.catalog.model import Rule, TargetVersions, expand_rule_ids
from legacyrun.patching.catalog.textops import ensure_cpp_include, ensure_python_import

SiteCheck = Callable[[str, int, str], bool]

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".mypy_cache", ".pytest_cache", ".tox"})
MAX_BYTES = 4 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def transforms() -> dict[str, Callable[[str, TargetVersions | None], str]]:
    from legacyrun.patching.catalog import codemods, transforms_native, transforms_py

    return {**transforms_py.TRANSFORMS, **transforms_native.TRANSFORMS, **codemods.TRANSFORMS}


@functools.lru_cache(maxsize=1)
def site_checks() -> dict[str, SiteCheck]:
    """Per-rule checks of whether one detected site is something the transform will fix."""
    from legacyrun.patching.catalog import transforms_native as n
    from legacyrun.patching.catalog import transforms_py as p

    return {
        "py-torch-six": p.six_site_fixable,
        "py-scipy-misc-math": p.scipy_site_fixable,
        "py-scalar-first-overloads": p.scalar_first_site_fixable,
        "cpp-thcstate": n.thcstate_site_fixable,
        "cuda-atomicadd-double": n.atomic_add_site_fixable,
    }


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)


def rule_candidates(rule: Rule, text: str) -> bool:
    """Cheap test that the rule may have a site in text (file guard, keywords, then the detect regex)."""
    if rule.requires_re is not None and not rule.requires_re.search(text):
        return False
    if not any(k in text for k in rule.keywords):
        return False
    return rule.detect_re.search(text) is not None


def apply_rule_text(rule: Rule, text: str, target: TargetVersions | None) -> str:
    """One rule over one file's text (already known to match the rule's file globs)."""
    if not rule.auto_fixable or not rule_candidates(rule, text):
        return text
    new = text
    for find, repl in rule.rewrites:
        new = _compiled(find).sub(repl, new)
    fn = transforms().get(rule.id)
    if fn is not None:
        new = fn(new, target)
    if new != text and rule.ensure_import:
        new = ensure_python_import(new, rule.ensure_import)
    if new != text and rule.ensure_include:
        new = ensure_cpp_include(new, rule.ensure_include)
    return new


def apply_text(rules: list[Rule], relpath: str, text: str, target: TargetVersions | None) -> str:
    """All `rules` (those whose file globs match relpath) in order over one file's text."""
    # The rules are written for "\n"; a file that uses "\r\n" throughout is converted and converted back. Files
    # with mixed endings are left as they are (a round trip would change lines no rule touched).
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    work = text.replace("\r\n", "\n") if crlf else text
    new = work
    for rule in rules:
        if rule.matches_file(relpath):
            new = apply_rule_text(rule, new, target)
    if new == work:
        return text
    return new.replace("\n", "\r\n") if crlf else new


def _glob_match(relpath: str, globs: list[str]) -> bool:
    name = relpath.rsplit("/", 1)[-1]
    for g in globs:
        g = g.strip().lstrip("/")
        if g.endswith("/"):
            g += "**"
        variants = {g, g.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(relpath, v) for v in variants) or ("/" not in g and fnmatch.fnmatchcase(name, g)):
            return True
        if relpath.startswith(g.rstrip("*").rstrip("/") + "/") and g.endswith("**"):
            return True
    return False


def walk_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(posix relpath, path) of regular files under root, sorted, skipping VCS/cache dirs and virtualenvs."""
    if root.is_file():
        yield root.name, root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS
            and not os.path.islink(os.path.join(dirpath, d))
            and not os.path.exists(os.path.join(dirpath, d, "pyvenv.cfg"))
        )
        rel_dir = os.path.relpath(dirpath, root)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            yield prefix + name, Path(path)


def read_text(path: Path) -> str | None:
    """The file as text, or None for binary, huge or undecodable files."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def apply_rules(
    root: Path, rule_ids: list[str], files: list[str], exclude: list[str], target: TargetVersions
) -> dict[str, tuple[str, str]]:
    """Run the auto-fixable rules among `rule_ids` (ids or `set:` names) that apply to `target` over the tree.

    `files` globs restrict the files (empty: all), `exclude` globs remove some. Returns {relpath: (old, new)} for
    changed files only, sorted by path; reads only. Deterministic, and idempotent: applying to the result again
    changes nothing.
    """
    root = Path(root)
    if not root.exists():
        raise PatchError(f"{root}: no such directory to patch")
    rules = [r for r in expand_rule_ids(rule_ids) if r.auto_fixable and r.applies_to(target)]
    out: dict[str, tuple[str, str]] = {}
    if not rules:
        return out
    for rel, path in walk_files(root):
        if files and not _glob_match(rel, files):
            continue
        if exclude and _glob_match(rel, exclude):
            continue
        if not any(r.matches_file(rel) for r in rules):
            continue
        old = read_text(path)
        if old is None:
            continue
        new = apply_text(rules, rel, old, target)
        if new != old:
            out[rel] = (old, new)
    return out


__all__ = [
    "MAX_BYTES",
    "SKIP_DIRS",
    "apply_rule_text",
    "apply_rules",
    "apply_text",
    "read_text",
    "site_checks",
    "walk_files",
]
