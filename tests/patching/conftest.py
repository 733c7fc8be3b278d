"""Fixtures for the patch engine tests (helpers in patchkit.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from patching.patchkit import LEGACY_FILES, Project, make_repo

from legacyrun.workspace import Workspace

if shutil.which("git") is None:  # pragma: no cover - CI installs git
    pytest.skip("git is not installed", allow_module_level=True)


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Project]:
    def make(files: dict[str, str] | None = None) -> Project:
        ws = Workspace.at(tmp_path / "ws")
        src = ws.source_dir("proj")
        pinned = make_repo(src, dict(LEGACY_FILES if files is None else files))
        recipes = tmp_path / "recipes"
        recipes.mkdir(exist_ok=True)
        proj = Project(tmp_path, ws, src, pinned, recipes / "legacy.yaml")
        proj.write_recipe()
        return proj

    return make
