"""The one registry of catalog transforms: `@transform("name", site_check=...)` registers a function under the
name a rule gives in rules.yaml (`transform:`, with its keyword arguments under `params:`).

A transform is `fn(text, target, **params) -> new text`. A site check `check(text, offset, line) -> bool` says
whether one site that the rule's `detect` found is one the transform will fix; scan reports the others as
manual, and the engine runs the transform only where scan reports an auto-fixable site.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from legacyrun.errors import PatchError

Transform = Callable[..., str]
SiteCheck = Callable[[str, int, str], bool]
F = TypeVar("F", bound=Transform)


@dataclass(frozen=True)
class Registered:
    """One registered transform."""

    name: str
    fn: Transform
    site_check: SiteCheck | None = None


_REGISTRY: dict[str, Registered] = {}


def transform(name: str, *, site_check: SiteCheck | None = None) -> Callable[[F], F]:
    """Register the decorated function as the transform `name` (each name once)."""

    def register(fn: F) -> F:
        if name in _REGISTRY:
            raise PatchError(f"catalog transform {name!r} is registered twice")
        _REGISTRY[name] = Registered(name, fn, site_check)
        return fn

    return register


def registry() -> Mapping[str, Registered]:
    """Every transform registered so far (the engine imports the modules that register them)."""
    return _REGISTRY


__all__ = ["Registered", "SiteCheck", "Transform", "registry", "transform"]
