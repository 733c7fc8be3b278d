"""Shared test setup: every test gets a private cache and config dir, so nothing leaks between tests or
into the developer's own ~/.cache."""

from __future__ import annotations

from pathlib import Path

import pytest

# Fixture modules shared across test folders (real servers and daemons on loopback).
pytest_plugins = [
    "support.http_server",
    "support.gitrepos",
    "support.dockerd",
    "support.conda_channel",
    "support.upstream",
    "support.torchenv",
]


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("LEGACYRUN_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("LEGACYRUN_CONFIG_DIR", str(base / "config"))
    monkeypatch.delenv("LEGACYRUN_RECIPE_PATH", raising=False)
    monkeypatch.delenv("LEGACYRUN_MIRRORS", raising=False)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
