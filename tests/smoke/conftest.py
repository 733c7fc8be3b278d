"""Fixtures for the smoke generator tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.smoke_data import DECODER_PYTHON


@pytest.fixture
def decoder() -> Path:
    if not DECODER_PYTHON.exists():
        pytest.skip(f"{DECODER_PYTHON} (a Python with Pillow and numpy) is absent")
    return DECODER_PYTHON


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every generator's output with its default options (written once per test session)."""
    from legacyrun.smoke import generate, generators

    base = tmp_path_factory.mktemp("smoke-defaults")
    return {name: generate(name, base / name).dest for name in generators()}
