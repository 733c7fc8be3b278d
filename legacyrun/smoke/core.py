"""Smoke generators: their types, option checking, and the atomic, idempotent write of a generated dataset.

The generators themselves and the registry by name are in `registry.py` (they import this module).

A generator writes through an `Output` into a temporary directory beside the destination; only a complete
dataset is renamed into place, with a marker file (`.legacyrun-smoke.json`) that records the generator, its
version, the resolved options and a content hash. Generating again with the same options finds the marker and
writes nothing.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from legacyrun.errors import UsageError

OptionValue = int | str | bool
MARKER = ".legacyrun-smoke.json"


@dataclass(frozen=True)
class Option:
    """One generator option: its type is the type of its default."""

    name: str
    default: OptionValue
    help: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None

    @property
    def kind(self) -> str:
        return "bool" if isinstance(self.default, bool) else "int" if isinstance(self.default, int) else "str"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.kind, "default": self.default, "help": self.help}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out


SEED = Option("seed", 0, "Seed of the deterministic random numbers (same seed, same bytes).", minimum=0)


class Output:
    """Where a generator writes: relative POSIX paths under one root; records every file and its digest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.digests: dict[str, str] = {}

    def file(self, rel: str, data: bytes) -> None:
        path = PurePosixPath(rel)
        if path.is_absolute() or ".." in path.parts or rel in self.digests or rel == MARKER:
            raise ValueError(f"smoke output path {rel!r}: must be new, relative and inside the destination")
        target = self.root.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.digests[rel] = hashlib.sha256(data).hexdigest()

    def text(self, rel: str, text: str) -> None:
        self.file(rel, text.encode("utf-8"))

    def json(self, rel: str, data: Any) -> None:
        # Compact and key-sorted: deterministic, and close to how the real annotation files are written.
        self.text(rel, json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


WriteFn = Callable[[Output, Mapping[str, OptionValue]], None]


@dataclass(frozen=True)
class Generator:
    """A smoke generator: a name (the recipe contract), what it imitates, its options and its writer.

    `version` goes into the marker's options hash: bump it when the bytes a generator writes change, so that
    existing smoke outputs are regenerated.
    """

    name: str
    imitates: str
    summary: str
    options: tuple[Option, ...]
    write: WriteFn = field(repr=False)
    version: int = 1

    @property
    def layout(self) -> str:
        """The on-disk layout, as its writer's docstring documents it."""
        return inspect.cleandoc(self.write.__doc__ or "")

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def resolve(self, given: Mapping[str, object]) -> dict[str, OptionValue]:
        """Defaults plus `given`, every value checked; a one-line UsageError naming the option otherwise."""
        known = ", ".join(o.name for o in self.options)
        out: dict[str, OptionValue] = {o.name: o.default for o in self.options}
        for key in sorted(given):
            opt = self.option(key)
            where = f"smoke generator {self.name}: option {key!r}"
            if opt is None:
                raise UsageError(f"{where}: unknown option (known: {known})")
            out[key] = _check(opt, given[key], where)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "imitates": self.imitates,
            "summary": self.summary,
            "version": self.version,
            "options": [o.to_dict() for o in self.options],
            "layout": self.layout,
        }


def _check(opt: Option, value: object, where: str) -> OptionValue:
    kind = opt.kind
    # bool is an int in Python: check it first, and never accept it for an int option (or the reverse).
    if kind == "bool":
        if not isinstance(value, bool):
            raise UsageError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{where}: expected an integer, got {value!r}")
        if opt.minimum is not None and value < opt.minimum:
            raise UsageError(f"{where}: {value} is below the minimum {opt.minimum}")
        if opt.maximum is not None and value > opt.maximum:
            raise UsageError(f"{where}: {value} is above the maximum {opt.maximum}")
        return value
    if not isinstance(value, str):
        raise UsageError(f"{where}: expected a string, got {value!r}")
    if opt.choices is not None and value not in opt.choices:
        raise UsageError(f"{where}: {value!r} is not one of {', '.join(opt.choices)}")
    return value


@dataclass(frozen=True)
class SmokeResult:
    """What `generate` wrote (or found already written): for the run's provenance."""

    generator: str
    version: int
    dest: Path
    options: dict[str, OptionValue]
    options_hash: str
    files: tuple[str, ...]
    sha256: str
    reused: bool

    @property
    def count(self) -> int:
        return len(self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator,
            "version": self.version,
            "dest": str(self.dest),
            "options": dict(self.options),
            "options_hash": self.options_hash,
            "files": list(self.files),
            "count": self.count,
            "sha256": self.sha256,
            "reused": self.reused,
        }


def content_hash(digests: Mapping[str, str]) -> str:
    """One sha256 over (path, file sha256) pairs in path order: names and bytes, not timestamps."""
    h = hashlib.sha256()
    for rel in sorted(digests):
        h.update(f"{rel}\0{digests[rel]}\n".encode())
    return h.hexdigest()


def options_hash(gen: Generator, options: Mapping[str, OptionValue]) -> str:
    doc = {"generator": gen.name, "version": gen.version, "options": dict(options)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


# --- writing ----------------------------------------------------------------------------------------------------


def read_marker(dest: Path) -> dict[str, Any] | None:
    """The marker of a complete smoke output at `dest`, or None (absent or unreadable)."""
    try:
        data = json.loads((dest / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write(gen: Generator, dest: Path, options: Mapping[str, object] | None = None) -> SmokeResult:
    """Write `gen`'s dataset at `dest` (atomically), or find it already there with these options.

    An existing `dest` is replaced only when it is an earlier smoke output (it has the marker) or empty; any
    other directory is refused, so a mistyped destination never deletes real data.
    """
    resolved = gen.resolve(options or {})
    ohash = options_hash(gen, resolved)
    dest = Path(dest)
    marker = read_marker(dest)
    if marker is not None and marker.get("options_hash") == ohash and _complete(dest, marker):
        return SmokeResult(
            generator=gen.name,
            version=gen.version,
            dest=dest,
            options=resolved,
            options_hash=ohash,
            files=tuple(marker["files"]),
            sha256=str(marker["sha256"]),
            reused=True,
        )
    if dest.exists() and (not dest.is_dir() or (marker is None and any(dest.iterdir()))):
        raise UsageError(
            f"{dest}: exists and is not a smoke output of legacyrun (no {MARKER}); refusing to replace it",
            hint="choose an empty or new destination directory",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.smoke-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        out = Output(tmp)
        gen.write(out, resolved)
        files = tuple(sorted(out.digests))
        sha = content_hash(out.digests)
        record = {
            "generator": gen.name,
            "version": gen.version,
            "options": resolved,
            "options_hash": ohash,
            "files": list(files),
            "sha256": sha,
        }
        (tmp / MARKER).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _swap_in(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SmokeResult(
        generator=gen.name,
        version=gen.version,
        dest=dest,
        options=resolved,
        options_hash=ohash,
        files=files,
        sha256=sha,
        reused=False,
    )


def _complete(dest: Path, marker: Mapping[str, Any]) -> bool:
    files = marker.get("files")
    return isinstance(files, list) and all(isinstance(f, str) and (dest / f).is_file() for f in files)


def _swap_in(tmp: Path, dest: Path) -> None:
    """Rename the finished tree into place; an older smoke output is moved aside first, then deleted."""
    if not dest.exists():
        os.replace(tmp, dest)
        return
    old = dest.parent / f".{dest.name}.smoke-old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except BaseException:
        os.replace(old, dest)  # put the previous complete output back
        raise
    shutil.rmtree(old, ignore_errors=True)


__all__ = [
    "MARKER",
    "SEED",
    "Generator",
    "Option",
    "OptionValue",
    "Output",
    "SmokeResult",
    "content_hash",
    "options_hash",
    "read_marker",
    "write",
]
