"""The OpenMMLab window: a recipe that builds mmcv-full gets torch x CUDA pairs from OpenMMLab's wheel matrix.

mmcv-full is built here from its sdist, so any torch would compile; but within the torch range OpenMMLab released
wheels for, a pair they never built is a combination nobody tested (torch 1.11 + CUDA 11.1 exists on the conda
channel, not in mmcv's matrix). Beyond that range (the modern profile) the build is ours and the reasons say so.
The mmdet / mmsegmentation sources' own mmcv-full windows (asserted at import) are checked against the pin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from legacyrun.errors import ResolveError
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import MmcvSeries, version_key
from legacyrun.recipe.models import Profile, Recipe

T = TypeVar("T", str, str | None)
MMCV = "mmcv-full"
_PIP_PIN = re.compile(r"^\s*mmcv[-_]full\s*==\s*([0-9][0-9a-z.]*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class MmcvWindow:
    """The mmcv-full release a recipe builds and the wheel matrix of its series."""

    version: str
    series: MmcvSeries

    def applies(self, torch: str) -> bool:
        """Inside the torch range OpenMMLab built wheels for (a newer torch is a forward port)."""
        return version_key(torch)[:2] <= version_key(self.series.newest_torch())[:2]

    def admits(self, torch: str, cuda: str | None) -> bool:
        return not self.applies(torch) or self.series.has_wheel(torch, cuda)

    def keep(self, torch: str, cudas: list[T], lines: list[str]) -> list[T]:
        """The CUDA variants (None: CPU) of `torch` in the matrix; a line in `lines` for each one left out."""
        kept: list[T] = []
        for cuda in cudas:
            if self.admits(torch, cuda):
                kept.append(cuda)
            else:
                variant = f"cu{cuda.replace('.', '')}" if cuda else "cpu"
                lines.append(f"mmcv-full {self.version} has no wheel for torch {torch}+{variant} (OpenMMLab's matrix)")
        return kept


def keep(window: MmcvWindow | None, torch: str, cudas: list[T], lines: list[str]) -> list[T]:
    """`window.keep`, or every variant when the recipe builds no mmcv-full."""
    return cudas if window is None else window.keep(torch, cudas, lines)


def mmcv_version(recipe: Recipe, prof: Profile) -> str | None:
    """The mmcv-full release: a package-index source named mmcv-full, or an `mmcv-full==X` pip line."""
    for source in recipe.sources:
        if source.pypi is not None and canonicalize_name(source.pypi.name) == MMCV:
            return source.pypi.version
    for line in prof.pip:
        m = _PIP_PIN.match(line)
        if m:
            return m.group(1)
    return None


def window_for(recipe: Recipe, prof: Profile) -> MmcvWindow | None:
    version = mmcv_version(recipe, prof)
    series = kb().mmcv_for(version) if version else None
    return MmcvWindow(version, series) if version and series else None


def reasons(recipe: Recipe, prof: Profile, torch: str, cuda: str | None) -> list[str]:
    """Why the plan's mmcv-full, torch and CUDA agree (one line per fact); a codebase that rejects the pinned
    mmcv-full is a ResolveError (the recipe is wrong, no host fixes it)."""
    version = mmcv_version(recipe, prof)
    if version is None:
        return []
    out: list[str] = []
    for source in recipe.sources:
        req = kb().mmcv_requirement(canonicalize_name(source.pypi.name), source.pypi.version) if source.pypi else None
        if req is None:
            continue
        if version not in SpecifierSet(req.mmcv_full, prereleases=True):
            raise ResolveError(
                f"{req.package} {source.pypi.version if source.pypi else ''} asserts mmcv-full {req.mmcv_full} at "
                f"import; the recipe builds mmcv-full {version} ({req.source})"
            )
        out.append(f"{req.package} accepts mmcv-full {req.mmcv_full}: {version} fits ({req.source})")
    window = window_for(recipe, prof)
    if window is None:
        out.append(f"mmcv-full {version}: its wheel matrix is not in the knowledge base")
        return out
    variant = f"cu{cuda.replace('.', '')}" if cuda else "cpu"
    span = window.series.torch_span()
    if window.applies(torch):
        out.append(
            f"mmcv-full {version}: OpenMMLab published wheels for torch {torch} + {variant} (matrix torch {span}, "
            f"{window.series.source}); built here from the sdist with MMCV_WITH_OPS=1"
        )
    else:
        out.append(
            f"mmcv-full {version}: no published wheel for torch {torch} (matrix torch {span}); a source build with "
            "the recipe's forward-port patches"
        )
    return out


__all__ = ["MMCV", "MmcvWindow", "keep", "mmcv_version", "reasons", "window_for"]
