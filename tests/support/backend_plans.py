"""Backend test helpers: a tiny recipe, Resolution objects made directly, and a BuildPlan factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from legacyrun.backends.base import BuildPlan
from legacyrun.recipe.loader import load_path
from legacyrun.resolution import GpuInfo, HostInfo, Resolution
from legacyrun.workspace import Workspace

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def recipe_data(profiles: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    base = {"python": "3.11", "torch": "2.13.0"}
    profs = {"faithful": dict(base), "modern": dict(base)}
    profs.update(profiles or {})
    return {
        "schema_version": 1,
        "name": "tinyproj",
        "title": "A tiny project for backend tests",
        "sources": [{"name": "proj", "url": "https://example.invalid/proj.git", "commit": COMMIT}],
        "env": {"profiles": profs},
    }


def resolution(**kw: Any) -> Resolution:
    host = kw.pop("host", HostInfo())
    fields: dict[str, Any] = {
        "recipe": "tinyproj",
        "recipe_hash": "0" * 64,
        "profile": "modern",
        "python": "3.11",
        "torch": "2.13.0",
        "host": host,
    }
    fields.update(kw)
    return Resolution(**fields)


def gpu_host(cuda_max: str) -> HostInfo:
    return HostInfo(
        gpus=[GpuInfo(name="NVIDIA A100", compute_capability="8.0")], driver="470.57.02", cuda_driver_max=cuda_max
    )


PlanFactory = Callable[..., BuildPlan]


def plan_factory(tmp_path: Path) -> PlanFactory:
    """make_plan(res, profiles=..., workspace=..., **plan fields) -> BuildPlan with a recipe file on disk."""

    def factory(
        res: Resolution,
        *,
        profiles: dict[str, dict[str, Any]] | None = None,
        workspace: Path | None = None,
        **kw: Any,
    ) -> BuildPlan:
        recipe_file = tmp_path / "recipes" / "tinyproj.yaml"
        recipe_file.parent.mkdir(parents=True, exist_ok=True)
        recipe_file.write_text(yaml.safe_dump(recipe_data(profiles), sort_keys=False), encoding="utf-8")
        loaded = load_path(recipe_file)
        ws = Workspace.at(workspace or tmp_path / "ws")
        fields: dict[str, Any] = {"commits": {"proj": COMMIT}, "patch_hash": None}
        fields.update(kw)
        return BuildPlan(recipe=loaded, resolution=res, workspace=ws, profile=res.profile, **fields)

    return factory


__all__ = ["COMMIT", "PlanFactory", "gpu_host", "plan_factory", "recipe_data", "resolution"]
