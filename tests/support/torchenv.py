"""One venv with torch 2.14.1 per test session (pip takes torch from this machine's disk, ~75 s), for the tests that
compile the real native ops against it.

LEGACYRUN_TEST_TORCH_VENV=PREFIX reuses a venv that already has exactly these packages (local iteration); the tests
install the ops they build into it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

TORCH_PINS = ("torch==2.14.1", "torchvision==0.29.1")
# Build tools for the op compiles; the smoke tests decode generated images and COCO JSON with the real libraries.
TOOLS = ("ninja", "setuptools", "wheel", "opencv-python-headless", "pycocotools")
OVERRIDE_ENV = "LEGACYRUN_TEST_TORCH_VENV"


def make_torch_venv(prefix: Path) -> Path:
    from legacyrun.backends.venv import find_python

    python = find_python("3.11")
    env = {**os.environ, "PYTHONNOUSERSITE": "1"}
    subprocess.run([python, "-m", "venv", str(prefix)], check=True, capture_output=True, env=env)
    done = subprocess.run(
        [str(prefix / "bin" / "python"), "-m", "pip", "install", "-q", *TORCH_PINS, *TOOLS],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        pytest.fail(f"pip could not install {' '.join(TORCH_PINS)} into {prefix}:\n{tail}")
    return prefix


@pytest.fixture(scope="session")
def torch_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prefix of a venv with torch 2.14.1, torchvision 0.29.1, ninja, setuptools and wheel."""
    override = os.environ.get(OVERRIDE_ENV)
    if override:
        return Path(override)
    return make_torch_venv(tmp_path_factory.mktemp("torchenv") / "venv")


__all__ = ["TORCH_PINS", "make_torch_venv", "torch_venv"]
