"""A plain-data summary of a recipe, for `legacyrun show` (human table or --json)."""

from __future__ import annotations

from typing import Any

from legacyrun.recipe.loader import LoadedRecipe


def summarize(loaded: LoadedRecipe) -> dict[str, Any]:
    """Sources and commits, pins per profile, datasets with sizes and kinds, patches, tasks."""
    r = loaded.recipe
    return {
        "name": r.name,
        "title": r.title,
        "homepage": r.homepage,
        "paper": r.paper,
        "license": r.license,
        "path": str(loaded.path),
        "origin": loaded.origin,
        "recipe_hash": loaded.hash,
        "sources": [
            {
                "name": s.name,
                "url": s.url,
                "commit": s.commit,
                "pypi": s.pypi.model_dump() if s.pypi else None,
                "submodules": s.submodules,
            }
            for s in r.sources
        ],
        "profiles": {
            name: {
                "python": p.python,
                "torch": p.torch,
                "torchvision": p.torchvision,
                "cuda": p.cuda,
                "cudnn": p.cudnn,
                "gcc": p.gcc,
                "pip": list(p.pip),
                "conda": list(p.conda),
                "apt": list(p.apt),
                "build": [" ".join(step.argv) for step in p.build],
            }
            for name, p in r.env.profiles.items()
        },
        "datasets": [
            {
                "name": d.name,
                "kind": d.kind,
                "role": d.role,
                "size": d.size,
                "dest": d.dest,
                "sha256": d.sha256,
                "urls": list(d.urls),
                "optional": d.optional,
            }
            for d in r.datasets
        ],
        "patches": [
            {
                "id": p.id,
                "kind": p.kind,
                "source": p.source,
                "when": p.when.model_dump(exclude_none=True) if p.when else {},
            }
            for p in r.patches
        ],
        "adapt": r.adapt.model_dump(exclude_none=True) if r.adapt else None,
        "tasks": {name: {"source": t.source, "cwd": t.cwd, "argv": list(t.argv)} for name, t in r.tasks.items()},
    }


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


__all__ = ["human_size", "summarize"]
