"""The smoke generators legacyrun ships, by the names recipes use, and writing one by name.

Apart from `core.py` because every generator module imports `core` for its types; the registry imports them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from legacyrun.errors import UsageError
from legacyrun.smoke import coco, kitti, pairs, semseg, text
from legacyrun.smoke.core import Generator, Option, OptionValue, SmokeResult, write

_REGISTRY: dict[str, Generator] = dict(
    sorted({gen.name: gen for module in (semseg, text, pairs, coco, kitti) for gen in module.GENERATORS}.items())
)


def generators() -> dict[str, Generator]:
    """Every generator legacyrun ships, by name (the names recipes use)."""
    return _REGISTRY


def get(name: str) -> Generator:
    gens = generators()
    if name not in gens:
        raise UsageError(f"smoke generator {name!r}: unknown (known: {', '.join(gens)})")
    return gens[name]


def generate(name: str, dest: Path, options: Mapping[str, object] | None = None) -> SmokeResult:
    """Write generator `name`'s dataset at `dest` (atomically), or find it already there with these options.

    An existing `dest` is replaced only when it is an earlier smoke output (it has the marker) or empty; any
    other directory is refused, so a mistyped destination never deletes real data.
    """
    return write(get(name), dest, options)


def parse_option_args(name: str, args: Iterable[str]) -> dict[str, OptionValue]:
    """`k=v` strings from the command line, typed by the generator's option table."""
    gen = get(name)
    out: dict[str, OptionValue] = {}
    for arg in args:
        key, sep, raw = arg.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"smoke generator {name}: option {arg!r}: expected KEY=VALUE")
        opt = gen.option(key)
        if opt is None:
            gen.resolve({key: raw})  # raises the same "unknown option" error as a recipe's options would
            continue
        out[key] = _from_text(opt, raw, f"smoke generator {name}: option {key!r}")
    return out


def _from_text(opt: Option, raw: str, where: str) -> OptionValue:
    if opt.kind == "bool":
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{where}: expected true or false, got {raw!r}")
    if opt.kind == "int":
        try:
            return int(raw.strip(), 10)
        except ValueError:
            raise UsageError(f"{where}: expected an integer, got {raw!r}") from None
    return raw


__all__ = ["generate", "generators", "get", "parse_option_args"]
