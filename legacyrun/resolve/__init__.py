"""Resolution of a recipe profile against a host (see model.py for the contract).

Public entry points: `resolve(loaded, host, profile=..., pins=...)` here, `legacyrun.host.probe_host / assumed_host /
host_from_flags` for the host, and `legacyrun.locking` for the lockfile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from legacyrun.resolve.model import GpuInfo, HostInfo, Resolution

if TYPE_CHECKING:
    from legacyrun.recipe.loader import LoadedRecipe


def resolve(
    loaded: LoadedRecipe, host: HostInfo, *, profile: str | None = None, pins: Mapping[str, str] | None = None
) -> Resolution:
    """Complete pins for `loaded` on `host`, with --pin overrides (see legacyrun.resolve.engine)."""
    from legacyrun.resolve.engine import resolve as _resolve

    return _resolve(loaded, host, profile=profile, pins=pins)


def probe_host(**kwargs: Any) -> HostInfo:
    """This machine (see legacyrun.host.probe_host)."""
    from legacyrun.host import probe_host as _probe

    return _probe(**kwargs)


def assumed_host(gpu: str | None = None, driver: str | None = None, *, cpu: bool = False) -> HostInfo:
    """A host planned for with --gpu/--driver/--cpu values (see legacyrun.host.assumed_host)."""
    from legacyrun.host import assumed_host as _assumed

    return _assumed(gpu, driver, cpu=cpu)


__all__ = ["GpuInfo", "HostInfo", "Resolution", "assumed_host", "probe_host", "resolve"]
