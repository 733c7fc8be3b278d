"""The `resolve` and `lock` use cases: the pins for a host, written to (or checked against) legacyrun.lock.

Resolving is `legacyrun.resolve`'s; writing and checking the lock is `legacyrun.resolve.locking`'s. These
functions are the verbs the CLI calls, each returning a result that owns its JSON.
"""

from __future__ import annotations

from collections.abc import Mapping

from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.resolution import HostInfo, Resolution
from legacyrun.resolve.engine import resolve as resolve_pins
from legacyrun.resolve.locking import LockCheck, LockResult, check_lock, write_lock
from legacyrun.workspace import Workspace


def resolve(
    loaded: LoadedRecipe, host: HostInfo, *, profile: str | None = None, pins: Mapping[str, str] | None = None
) -> Resolution:
    """`legacyrun resolve`: the recipe's pins for `host`, with a reason for each."""
    return resolve_pins(loaded, host, profile=profile, pins=pins)


def lock(
    loaded: LoadedRecipe,
    ws: Workspace,
    host: HostInfo,
    *,
    profile: str | None = None,
    pins: Mapping[str, str] | None = None,
) -> LockResult:
    """`legacyrun lock`: resolve for `host` and write <workspace>/legacyrun.lock (kept entries survive)."""
    return write_lock(loaded, resolve(loaded, host, profile=profile, pins=pins), ws)


def check(
    loaded: LoadedRecipe,
    ws: Workspace,
    *,
    host: HostInfo | None = None,
    pins: Mapping[str, str] | None = None,
) -> LockCheck:
    """`legacyrun lock --check`: LockError unless the lock is current (see `resolve.locking.check_lock`)."""
    return check_lock(loaded, ws, host=host, pins=pins)


__all__ = ["check", "lock", "resolve"]
