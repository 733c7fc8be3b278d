"""The built-in projects whose real repositories (../shared/upstream bundles) the scaffold is measured against.

Each entry: the recipe name, the GitHub URL the mirror serves, and the curated recipe. FeatDepth's curated recipe
(recipes/featdepth.yaml) comes from its own issue; until it is on this branch its faithful pins are the facts
its README states (Python 3.7 from its `conda create`, the lower bounds "PyTorch1.1+" -> 1.1.0, "Cuda10.0+"),
which are the ones that recipe pins.
"""

from __future__ import annotations

from pathlib import Path

from legacyrun.recipe.loader import load_path
from legacyrun.recipe.models import Recipe

REPO_ROOT = Path(__file__).resolve().parents[2]

PROJECTS: dict[str, str] = {
    "mask2former": "https://github.com/facebookresearch/Mask2Former.git",
    "masktextspotter": "https://github.com/MhLiao/MaskTextSpotter.git",
    "featdepth": "https://github.com/sconlyshootery/FeatDepth.git",
}
README_PINS: dict[str, dict[str, str]] = {
    "featdepth": {"python": "3.7", "torch": "1.1.0", "torchvision": "0.3.0", "cuda": "10.0"},
}


def curated(name: str) -> Recipe | None:
    path = REPO_ROOT / "recipes" / f"{name}.yaml"
    return load_path(path).recipe if path.is_file() else None


def curated_pins(name: str) -> dict[str, str]:
    recipe = curated(name)
    if recipe is None:
        return dict(README_PINS[name])
    faithful = recipe.env.profiles["faithful"]
    return {k: str(getattr(faithful, k)) for k in ("python", "torch", "torchvision", "cuda")}


__all__ = ["PROJECTS", "README_PINS", "curated", "curated_pins"]
