"""Fixtures for the smoke generator tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.smoke_data import DECODER_PYTHON


@pytest.fixture
def decoder(request: pytest.FixtureRequest) -> Path:
    """SMOKE_DECODER_PYTHON when set; else the session's torch venv (Pillow, numpy, OpenCV, pycocotools)."""
    if DECODER_PYTHON is not None:
        if not DECODER_PYTHON.exists():
            pytest.skip(f"{DECODER_PYTHON} (a Python with Pillow and numpy) is absent")
        return DECODER_PYTHON
    prefix: Path = request.getfixturevalue("torch_venv")
    return prefix / "bin" / "python"


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every generator's output with its default options (written once per test session)."""
    from legacyrun.smoke import generate, generators

    base = tmp_path_factory.mktemp("smoke-defaults")
    return {name: generate(name, base / name).dest for name in generators()}
