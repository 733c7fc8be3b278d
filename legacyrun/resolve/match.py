"""Matching recipe pins (an exact version or a PEP 440 specifier) against candidate versions."""

from __future__ import annotations

from functools import lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from legacyrun.knowledge.base import version_key


@lru_cache(maxsize=512)
def _spec(pin: str) -> SpecifierSet | tuple[int, ...]:
    try:
        Version(pin)
        return version_key(pin)
    except InvalidVersion:
        pass
    try:
        return SpecifierSet(pin)
    except InvalidSpecifier:
        return version_key(pin)


@lru_cache(maxsize=4096)
def matches(value: str, pin: str | None) -> bool:
    """An exact pin matches as a prefix ('8' matches cuDNN '8.0.5', '11.1' matches '11.1'); else the specifier."""
    if pin is None:
        return True
    spec = _spec(pin.strip())
    if isinstance(spec, tuple):
        return version_key(value)[: len(spec)] == spec
    try:
        return spec.contains(Version(value), prereleases=True)
    except InvalidVersion:
        return False


def is_exact(pin: str | None) -> bool:
    return pin is not None and isinstance(_spec(pin.strip()), tuple)


__all__ = ["is_exact", "matches"]
