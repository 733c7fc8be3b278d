"""Fixtures for the resolver tests: recorded nvidia-smi outputs replayed by a fake nvidia-smi executable."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SMI_DIR = HERE / "smi"
RECIPES = HERE / "recipes"

SmiEnv = Callable[..., dict[str, str]]


@pytest.fixture
def fake_smi(tmp_path: Path) -> SmiEnv:
    """env(recording, old=False, fail=False, **extra) -> an environment whose nvidia-smi replays the recording."""
    launcher = tmp_path / "nvidia-smi"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {SMI_DIR / "fake_nvidia_smi.py"} "$@"\n')
    launcher.chmod(0o755)

    def make(recording: str | None = None, *, old: bool = False, fail: bool = False, **extra: str) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "FAKE_SMI_OLD", "FAKE_SMI_FAIL")
        }
        env["LEGACYRUN_NVIDIA_SMI"] = str(launcher)
        env["DOCKER_HOST"] = f"unix://{tmp_path}/no-docker.sock"
        if recording:
            env["FAKE_SMI_FILE"] = str(SMI_DIR / recording)
        if old:
            env["FAKE_SMI_OLD"] = "1"
        if fail:
            env["FAKE_SMI_FAIL"] = "1"
        env.update(extra)
        return env

    return make


@pytest.fixture
def recipes_dir() -> Path:
    return RECIPES
