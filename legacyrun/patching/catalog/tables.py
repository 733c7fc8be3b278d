"""The name tables the transforms read, as data files under data/ (package data), each loaded once."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any


@functools.cache
def table(name: str) -> Any:
    """The parsed data/<name>.yaml (callers must not mutate it: it is shared)."""
    import yaml

    path = resources.files("legacyrun.patching.catalog").joinpath("data", f"{name}.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


__all__ = ["table"]
