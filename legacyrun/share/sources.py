"""Recipe sources a user adds with `legacyrun recipe add`: a git repository of recipes, an HTTP URL of one recipe
YAML or of a .tar.gz of recipes, or a local directory.

The registry of sources is one JSON file in config_dir() (written atomically, under a file lock so two processes
cannot lose each other's edits). git and http sources are copied into cache_dir()/sources/<name>/ (they can be
fetched again at any time: `recipe update`); a local directory is referenced in place. Recipes are the *.yaml
files at the top of a source or in its recipes/ folder; `legacyrun.share.registry.search_dirs()` lists those
folders after the built-in ones and LEGACYRUN_RECIPE_PATH, highest priority first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from legacyrun import gitcli
from legacyrun.errors import FetchError, RecipeError, UsageError
from legacyrun.fsutil import atomic_write_bytes, atomic_write_text
from legacyrun.recipe.loader import parse_text
from legacyrun.recipe.refs import RecipeRef, builtin_dir
from legacyrun.share.bundle import safe_extract_tar
from legacyrun.userdirs import cache_dir, config_dir

SourceKind = Literal["git", "http", "dir"]
KINDS: tuple[str, ...] = ("git", "http", "dir")
REGISTRY_VERSION = 1
RECIPE_SUFFIXES = (".yaml", ".yml")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
_HTTP_TIMEOUT = 60.0


@dataclass(frozen=True)
class RecipeSource:
    """One registered source. `revision` is the git commit or the sha256 of the download last fetched."""

    name: str
    kind: SourceKind
    location: str
    priority: int = 0
    revision: str | None = None

    @property
    def local_root(self) -> Path:
        """Where its files are on this machine."""
        if self.kind == "dir":
            return Path(self.location)
        return sources_cache_dir() / self.name

    def recipe_dirs(self) -> list[Path]:
        """Folders holding its recipes: the top level, then recipes/ (an earlier one shadows a later one)."""
        root = self.local_root
        return [d for d in (root, root / "recipes") if d.is_dir()]

    def recipe_names(self) -> list[str]:
        names: set[str] = set()
        for folder in self.recipe_dirs():
            names.update(p.stem for p in folder.iterdir() if p.suffix in RECIPE_SUFFIXES and p.is_file())
        return sorted(names)


@dataclass(frozen=True)
class SourceStatus:
    """A source as shown by `recipe sources`, `add` and `update`."""

    source: RecipeSource
    recipes: list[str] = field(default_factory=list)
    changed: bool = False
    previous_revision: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            **asdict(self.source),
            "path": str(self.source.local_root),
            "recipes": self.recipes,
            "changed": self.changed,
            "previous_revision": self.previous_revision,
        }


# --- where things live ----------------------------------------------------------------------------------------


def registry_file() -> Path:
    return config_dir() / "sources.json"


def sources_cache_dir() -> Path:
    return cache_dir() / "sources"


@contextmanager
def _registry_lock() -> Iterator[None]:
    from filelock import FileLock

    config_dir().mkdir(parents=True, exist_ok=True)
    with FileLock(str(config_dir() / ".sources.lock")):
        yield


def _raw_order() -> list[RecipeSource]:
    """Sources in the order they were added (what the file holds); a damaged file is a one-line error."""
    path = registry_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the recipe source registry: {exc}") from None
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"{path}: not a legacyrun source registry (no 'sources' list)")
    out: list[RecipeSource] = []
    for i, entry in enumerate(entries):
        try:
            out.append(RecipeSource(**entry))
        except TypeError as exc:
            raise UsageError(f"{path}: sources[{i}]: {exc}") from None
    return out


def load_sources() -> list[RecipeSource]:
    """Registered sources, highest priority first (ties: the order they were added)."""
    return sorted(_raw_order(), key=lambda s: -s.priority)  # sorted() is stable: ties keep insertion order


def _save(sources: list[RecipeSource]) -> None:
    data = {"version": REGISTRY_VERSION, "sources": [asdict(s) for s in sources]}
    atomic_write_text(registry_file(), json.dumps(data, indent=2, sort_keys=True) + "\n")


def get_source(name: str) -> RecipeSource:
    for src in load_sources():
        if src.name == name:
            return src
    known = ", ".join(s.name for s in load_sources()) or "none"
    raise UsageError(f"unknown recipe source {name!r} (registered: {known})", hint="see `legacyrun recipe sources`")


def source_search_dirs() -> list[tuple[str, Path]]:
    """(origin, folder) pairs for the registry, highest priority first; origin is `source:<name>`."""
    dirs: list[tuple[str, Path]] = []
    for src in load_sources():
        dirs.extend((f"source:{src.name}", folder) for folder in src.recipe_dirs())
    return dirs


def find_qualified(spec: str) -> RecipeRef:
    """`SOURCE:NAME`: the recipe NAME from exactly that origin (`builtin:NAME` for a built-in one)."""
    source_name, _, recipe = spec.partition(":")
    if not recipe:
        raise UsageError(f"{spec!r}: expected SOURCE:NAME")
    if source_name == "builtin":
        origin, folders = "builtin", [builtin_dir()]
    else:
        src = get_source(source_name)
        origin, folders = f"source:{src.name}", src.recipe_dirs()
    for folder in folders:
        for suffix in RECIPE_SUFFIXES:
            path = folder / f"{recipe}{suffix}"
            if path.is_file():
                return RecipeRef(recipe, path, origin)
    names = ", ".join(
        sorted({p.stem for f in folders for p in f.iterdir() if p.suffix in RECIPE_SUFFIXES and p.is_file()})
    )
    raise UsageError(f"recipe source {source_name!r} has no recipe {recipe!r} (it has: {names or 'none'})")


# --- classifying what the user typed --------------------------------------------------------------------------


def guess_kind(location: str) -> SourceKind:
    """dir for an existing local folder, http for a URL of a .yaml/.yml/.tar.gz/.tgz file, git otherwise."""
    parsed = urlparse(location)
    if parsed.scheme in ("http", "https"):
        if parsed.path.endswith((*RECIPE_SUFFIXES, *_ARCHIVE_SUFFIXES)):
            return "http"
        return "git"
    if parsed.scheme in ("git", "ssh", "file") or re.match(r"^[\w.-]+@[\w.-]+:", location):
        return "git"
    path = Path(location).expanduser()
    if path.is_dir():
        return "dir"
    raise UsageError(f"recipe source not found: {location} (not a directory, git URL or http(s) URL)")


def default_name(location: str) -> str:
    """A name from the last path segment: https://host/lab/recipes.git -> recipes."""
    tail = urlparse(location).path if "://" in location else location.rsplit(":", maxsplit=1)[-1]
    tail = tail.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".git", *_ARCHIVE_SUFFIXES, *RECIPE_SUFFIXES):
        if tail.endswith(suffix):
            tail = tail[: -len(suffix)]
            break
    name = re.sub(r"[^a-z0-9_.-]+", "-", tail.lower()).strip("-._")
    return name or "recipes"


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name) or name == "builtin":
        raise UsageError(
            f"invalid source name {name!r}: use lower-case letters, digits, '.', '_' or '-' (not 'builtin')"
        )


# --- fetching -------------------------------------------------------------------------------------------------


def _remote_head(url: str) -> str:
    out = gitcli.git(["ls-remote", url, "HEAD"]).strip()
    if not out:
        raise FetchError(f"git repository {url} has no HEAD (empty repository?)")
    return out.split()[0]


def _fresh_dir(name: str) -> Path:
    """A temp folder beside the final place, so the last rename is atomic on one filesystem."""
    base = sources_cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{name}.", dir=base))


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace `final` by `tmp`; readers see the old tree or the new one."""
    old: Path | None = None
    if final.exists():
        old = final.with_name(f".{final.name}.old.{os.getpid()}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fetch_git(src: RecipeSource) -> str:
    tmp = _fresh_dir(src.name)
    try:
        try:
            gitcli.clone(src.location, tmp / "repo")
        except FetchError as exc:
            raise FetchError(f"cannot clone recipe source {src.location}: {exc.message}") from None
        revision = gitcli.git(["rev-parse", "HEAD"], cwd=tmp / "repo").strip()
        _swap_in(tmp / "repo", src.local_root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return revision


def _download(url: str) -> bytes:
    import requests

    try:
        resp = requests.get(url, timeout=_HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise FetchError(f"cannot reach {url}: {type(exc).__name__}") from None
    if resp.status_code != 200:
        raise FetchError(f"cannot download {url}: HTTP {resp.status_code}")
    return resp.content


def _validate_recipes(folder: Path, display: str) -> list[str]:
    """Every recipe file in a downloaded source must validate (the user asked for exactly this content)."""
    names = []
    for sub in (folder, folder / "recipes"):
        if not sub.is_dir():
            continue
        for path in sorted(sub.iterdir()):
            if path.suffix in RECIPE_SUFFIXES and path.is_file():
                rel = path.relative_to(folder).as_posix()
                try:
                    text = path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    raise RecipeError([f"{display}!{rel}:1:1: (file): not UTF-8 text"]) from None
                parse_text(text, f"{display}!{rel}")
                names.append(path.stem)
    if not names:
        raise RecipeError([f"{display}:1:1: (source): no recipe *.yaml at its top level or in recipes/"])
    return names


def _fetch_http(src: RecipeSource) -> str:
    data = _download(src.location)
    digest = hashlib.sha256(data).hexdigest()
    tmp = _fresh_dir(src.name)
    try:
        tree = tmp / "tree"
        tree.mkdir()
        path_part = urlparse(src.location).path
        if path_part.endswith(_ARCHIVE_SUFFIXES):
            archive = tmp / "download.tar.gz"
            atomic_write_bytes(archive, data)
            safe_extract_tar(archive, tree, display=src.location)
            entries = [p for p in tree.iterdir() if not p.name.startswith(".")]
            # A tarball usually wraps everything in one top folder (lab-recipes-1.0/); look inside it.
            if len(entries) == 1 and entries[0].is_dir():
                os.replace(entries[0], tmp / "inner")
                tree.rmdir()
                tree = tmp / "inner"
        else:
            filename = path_part.rstrip("/").rsplit("/", 1)[-1]
            atomic_write_bytes(tree / filename, data)
        _validate_recipes(tree, src.location)
        _swap_in(tree, src.local_root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return digest


# --- the operations behind the commands -----------------------------------------------------------------------


def _status(src: RecipeSource, *, changed: bool = False, previous: str | None = None) -> SourceStatus:
    return SourceStatus(source=src, recipes=src.recipe_names(), changed=changed, previous_revision=previous)


def add_source(
    location: str, *, name: str | None = None, priority: int = 0, kind: SourceKind | None = None
) -> SourceStatus:
    """Register a source and fetch it (git clone / download); a duplicate name or an unreachable URL fails."""
    kind = kind or guess_kind(location)
    if kind not in KINDS:
        raise UsageError(f"unknown source kind {kind!r} (one of: {', '.join(KINDS)})")
    if kind == "dir":
        path = Path(location).expanduser()
        if not path.is_dir():
            raise UsageError(f"recipe source directory not found: {location}")
        location = str(path.resolve())
    name = name or default_name(location)
    _check_name(name)
    with _registry_lock():
        existing = _raw_order()
        for other in existing:
            if other.name == name:
                raise UsageError(
                    f"a recipe source named {name!r} already exists ({other.location})",
                    hint="pick another with --name, or `legacyrun recipe remove` it first",
                )
        src = RecipeSource(name=name, kind=kind, location=location, priority=priority)
        revision = None
        if kind == "git":
            revision = _fetch_git(src)
        elif kind == "http":
            revision = _fetch_http(src)
        elif not src.recipe_names():
            raise UsageError(f"no recipe *.yaml in {location} or its recipes/ folder")
        src = replace(src, revision=revision)
        _save([*existing, src])
    return _status(src, changed=True)


def list_sources() -> list[SourceStatus]:
    return [_status(s) for s in load_sources()]


def update_sources(name: str | None = None) -> list[SourceStatus]:
    """Fetch git and http sources again (all, or the one named); a directory source is always current."""
    targets = [get_source(name)] if name else load_sources()
    results: list[SourceStatus] = []
    with _registry_lock():
        for src in targets:
            previous = src.revision
            if src.kind == "git":
                # ls-remote first: an unchanged repository costs one round trip and no clone.
                head = _remote_head(src.location)
                revision = head if head == previous and src.local_root.is_dir() else _fetch_git(src)
            elif src.kind == "http":
                revision = _fetch_http(src)
            else:
                revision = None
            new = replace(src, revision=revision)
            results.append(_status(new, changed=revision != previous, previous=previous))
            _save([new if s.name == src.name else s for s in _raw_order()])
    return results


def remove_source(name: str) -> RecipeSource:
    """Unregister a source and delete its fetched copy (a directory source's files are left alone)."""
    with _registry_lock():
        src = get_source(name)
        _save([s for s in _raw_order() if s.name != name])
    if src.kind != "dir":
        shutil.rmtree(src.local_root, ignore_errors=True)
    return src


__all__ = [
    "KINDS",
    "RecipeSource",
    "SourceKind",
    "SourceStatus",
    "add_source",
    "default_name",
    "find_qualified",
    "get_source",
    "guess_kind",
    "list_sources",
    "load_sources",
    "registry_file",
    "remove_source",
    "source_search_dirs",
    "sources_cache_dir",
    "update_sources",
]
