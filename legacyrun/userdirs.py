"""Per-user places shared by all workspaces: download cache, git mirrors, config, recipe sources, trust.

Each can be moved with an environment variable, which is how tests and CI keep a clean, private cache.
"""

from __future__ import annotations

import os
from pathlib import Path


def _dir(var: str, kind: str) -> Path:
    override = os.environ.get(var)
    if override:
        return Path(override)
    import platformdirs

    if kind == "cache":
        return Path(platformdirs.user_cache_dir("legacyrun"))
    return Path(platformdirs.user_config_dir("legacyrun"))


def cache_dir() -> Path:
    """Root of everything re-downloadable (LEGACYRUN_CACHE_DIR)."""
    return _dir("LEGACYRUN_CACHE_DIR", "cache")


def config_dir() -> Path:
    """User configuration: mirrors, recipe sources, trust records (LEGACYRUN_CONFIG_DIR)."""
    return _dir("LEGACYRUN_CONFIG_DIR", "config")


def downloads_dir() -> Path:
    """Content-addressed download cache: <sha256[:2]>/<sha256>."""
    return cache_dir() / "downloads"


def git_mirrors_dir() -> Path:
    """Bare git mirrors, one per URL."""
    return cache_dir() / "git"


def wheels_dir() -> Path:
    """Wheels that build steps made (`wheel_cache: true`), one folder per build key."""
    return cache_dir() / "wheels"


def config_file() -> Path:
    return config_dir() / "config.yaml"


__all__ = ["cache_dir", "config_dir", "config_file", "downloads_dir", "git_mirrors_dir"]
