"""What patches are selected for: the profile, the torch/python/CUDA versions and the GPU count.

A small value of its own (rather than the resolver's Resolution) so that `legacyrun patch` works before or without
a resolve step: pins then come from the recipe profile (an exact version, or the lower bound of a specifier).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from legacyrun import lock as lockfile
from legacyrun.errors import UsageError
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.recipe.models import Recipe, When
from legacyrun.resolution import Resolution

if TYPE_CHECKING:
    from legacyrun.recipe.loader import LoadedRecipe
    from legacyrun.workspace import Workspace


@dataclass(frozen=True)
class Target:
    """The environment patches are chosen for; None means unknown (a `when` on it then does not hold)."""

    profile: str
    torch: str
    python: str | None = None
    cuda: str | None = None
    gpus: int | None = None
    gpu_memory_gb: float | None = None  # the smallest selected GPU's memory; None when unknown (CPU, sm_XY)


def host_memory_gb(res: Resolution) -> float | None:
    """Memory of the smallest GPU the resolution's host has, in GB (nvidia-smi's MiB / 1024, one decimal)."""
    known = [g.memory_mib for g in res.host.gpus if g.memory_mib]
    return mib_to_gb(min(known)) if known else None


def mib_to_gb(mib: int | None) -> float | None:
    return None if mib is None else round(mib / 1024, 1)


def target_from_resolution(res: Resolution, gpus: int | None = None, memory_gb: float | None = None) -> Target:
    """The target of a resolution; `gpus` overrides the host's GPU count (e.g. from --gpus) and `memory_gb` its
    GPU memory (from the selected devices)."""
    count = gpus if gpus is not None else (res.gpu_count or None)
    memory = memory_gb if memory_gb is not None else (host_memory_gb(res) if count else None)
    return Target(
        profile=res.profile, torch=res.torch, python=res.python, cuda=res.cuda, gpus=count, gpu_memory_gb=memory
    )


def pin_of(spec: str | None) -> str | None:
    """An exact version as is; for a specifier the lowest version it names with >=, ==, ~= (or its only bound)."""
    if spec is None:
        return None
    try:
        return str(Version(spec))
    except InvalidVersion:
        pass
    lows: list[Version] = []
    others: list[Version] = []
    for item in SpecifierSet(spec):
        raw = item.version.rstrip(".*").rstrip(".")
        try:
            ver = Version(raw)
        except InvalidVersion:
            continue
        (lows if item.operator in (">=", "==", "~=", "===", ">") else others).append(ver)
    chosen = min(lows) if lows else (min(others) if others else None)
    return None if chosen is None else str(chosen)


def target_for_profile(recipe: Recipe, profile: str | None, gpus: int | None = None) -> Target:
    """A target from the recipe alone: the named profile (default: the first of `prefer`) and its pins."""
    name = profile or recipe.env.prefer[0]
    if name not in recipe.env.profiles:
        known = ", ".join(sorted(recipe.env.profiles))
        raise UsageError(f"recipe {recipe.name} has no profile {name!r} (profiles: {known})")
    prof = recipe.env.profiles[name]
    torch = pin_of(prof.torch)
    assert torch is not None  # a profile always names torch
    return Target(profile=name, torch=torch, python=pin_of(prof.python), cuda=pin_of(prof.cuda), gpus=gpus)


def choose_target(loaded: LoadedRecipe, ws: Workspace, profile: str | None, gpus: int | None) -> tuple[Target, str]:
    """The target of `legacyrun patch` and `scan`: the lock's resolution (when the lock is this recipe's and of the
    asked profile), else the recipe profile's pins; with where it came from ("lock" or "recipe profile")."""
    lock = lockfile.read_optional(ws.lockfile)
    if lock is not None and lock.recipe == loaded.recipe.name and profile in (None, lock.resolution.profile):
        return target_from_resolution(lock.resolution, gpus), "lock"
    return target_for_profile(loaded.recipe, profile, gpus), "recipe profile"


def _satisfies(version: str | int | None, spec: str) -> bool:
    if version is None:
        return False
    try:
        Version(spec)
        spec = f"=={spec}"
    except InvalidVersion:
        pass
    return SpecifierSet(spec).contains(Version(str(version)), prereleases=True)


def when_holds(when: When | None, target: Target) -> bool:
    """Every key given in `when` holds for the target; an unknown value (None) never satisfies a condition."""
    if when is None:
        return True
    if when.profiles is not None and target.profile not in when.profiles:
        return False
    if when.device is not None and when.device != ("cuda" if target.cuda else "cpu"):
        return False
    checks: list[tuple[str | None, str | int | None]] = [
        (when.torch, target.torch),
        (when.python, target.python),
        (when.cuda, target.cuda),
        (when.gpus, target.gpus),
    ]
    return all(spec is None or _satisfies(value, spec) for spec, value in checks)


__all__ = ["Target", "choose_target", "pin_of", "target_for_profile", "target_from_resolution", "when_holds"]
