"""Applying rules to text and to a tree: `apply_rules` reads files and returns (old, new) pairs; it never writes."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from legacyrun.errors import PatchError
from legacyrun.patching.catalog import codemods, transforms_native, transforms_py, transforms_regex  # noqa: F401
from legacyrun.patching.catalog.model import Rule, TargetVersions, expand_rule_ids
from legacyrun.patching.catalog.registry import Registered, registry
from legacyrun.patching.globs import matches

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".mypy_cache", ".pytest_cache", ".tox"})
MAX_BYTES = 4 * 1024 * 1024


def transforms() -> Mapping[str, Registered]:
    """Every registered transform, by the name rules give in `transform:`.

    The transform modules register theirs when imported; this module imports them all (above), unused otherwise.
    """
    return registry()


def transform_of(rule: Rule) -> Registered | None:
    """The transform the rule names (None for detect-only rules)."""
    if rule.transform is None:
        return None
    found = registry().get(rule.transform)
    if found is None:
        raise PatchError(f"catalog rule {rule.id}: no transform named {rule.transform!r} is registered")
    return found


def sites(rule: Rule, text: str) -> Iterator[tuple[int, int, str, bool]]:
    """The rule's detected sites in text: (offset, line start offset, line text, auto-fixable).

    The file guard and the literal keywords run first: a substring test is far cheaper than a regex pass.
    """
    if rule.requires_re is not None and not rule.requires_re.search(text):
        return
    if not any(k in text for k in rule.keywords):
        return
    spec = transform_of(rule)
    check = spec.site_check if spec is not None else None
    for m in rule.detect_re.finditer(text):
        pos = m.start()
        ls = text.rfind("\n", 0, pos) + 1
        le = text.find("\n", pos)
        line = text[ls : le if le >= 0 else len(text)].rstrip("\r")
        auto = rule.auto_fixable and not (rule.manual_re is not None and rule.manual_re.search(line))
        if auto and check is not None:
            auto = check(text, pos, line)
        yield pos, ls, line, auto


def apply_rule_text(rule: Rule, text: str, target: TargetVersions | None) -> str:
    """One rule over one file's text (already known to match the rule's file globs).

    The transform runs only where scan would report an auto-fixable site, so apply and scan agree.
    """
    if not rule.auto_fixable or not any(auto for *_, auto in sites(rule, text)):
        return text
    spec = transform_of(rule)
    return text if spec is None else spec.fn(text, target, **rule.params)


def apply_text(rules: list[Rule], relpath: str, text: str, target: TargetVersions | None) -> str:
    """All `rules` (those whose file globs match relpath) in order over one file's text."""
    # The rules are written for "\n"; a file that uses "\r\n" throughout is converted and converted back. Files
    # with mixed endings are left as they are (a round trip would change lines no rule touched).
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    work = text.replace("\r\n", "\n") if crlf else text
    new = work
    for rule in rules:
        if file_matches(rule, relpath) and (target is None or rule.applies_to(target)):
            new = apply_rule_text(rule, new, target)
    if new == work:
        return text
    return new.replace("\n", "\r\n") if crlf else new


def file_matches(rule: Rule, relpath: str) -> bool:
    """rule.matches_file, with a fast path where the rule's globs are all plain `*.ext` patterns."""
    plain = _plain_exts(rule.files)
    if plain is not None:
        name = relpath.rsplit("/", 1)[-1]
        dot = name.rfind(".")
        return dot > 0 and name[dot:] in plain
    return _cached_match(rule.files, relpath)


@functools.lru_cache(maxsize=65536)
def _cached_match(rule_globs: tuple[str, ...], relpath: str) -> bool:
    return matches(relpath, rule_globs)


@functools.lru_cache(maxsize=1024)
def _plain_exts(globs: tuple[str, ...]) -> frozenset[str] | None:
    """{'.py', '.cu'} when every glob is `*.ext` with a plain extension, else None."""
    exts = set()
    for g in globs:
        if not (g.startswith("*.") and not any(c in g[2:] for c in "*?[/")):
            return None
        exts.add(g[1:])
    return frozenset(exts)


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
        if files and not matches(rel, files):
            continue
        if exclude and matches(rel, exclude):
            continue
        if not any(file_matches(r, rel) for r in rules):
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
    "transform_of",
    "transforms",
    "walk_files",
]
