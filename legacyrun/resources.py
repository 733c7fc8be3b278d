"""Where the top-level data folders (recipes/, patches/, docker/) are: in a wheel they ride inside the package
as legacyrun/_data/; in a source checkout or editable install they sit beside the package."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_root(name: str) -> Path:
    """Path of the data folder `name` ('recipes', 'patches' or 'docker')."""
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PKG.parent / name


__all__ = ["data_root"]
