"""Helpers for the smoke generator tests: real decoders from a Python that has them, upstream sources."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

# The real decoders run in the session's torch venv (tests/support/torchenv.py: Pillow, numpy, OpenCV, pycocotools);
# legacyrun itself has none of them. SMOKE_DECODER_PYTHON names another Python to use instead.
_OVERRIDE = os.environ.get("SMOKE_DECODER_PYTHON")
DECODER_PYTHON = Path(_OVERRIDE) if _OVERRIDE else None
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MTS_COMMIT = "7109132ff0ffbe77832e4b067b174d70dcc37df4"
FEATDEPTH_COMMIT = "f55c1015572f19e4cae2cf02129cf45cd10538c1"


def run_decoder(script: str, *args: str, python: str | None = None, timeout: float = 300) -> Any:
    """Run `script` in the decoder Python; it prints one JSON document last, which is returned."""
    cp = subprocess.run(
        [python or str(DECODER_PYTHON or "python3"), "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert cp.returncode == 0, f"decoder script failed:\n{cp.stderr[-4000:]}"
    # The last line: libraries such as pycocotools print progress on stdout first.
    return json.loads(cp.stdout.strip().splitlines()[-1])


def upstream_files(tmp: Path, bundle: str, commit: str, paths: list[str]) -> dict[str, str]:
    """Read files of an upstream repository at `commit` from its bundle in ../shared/upstream (skip if absent)."""
    src = SHARED / "upstream" / f"{bundle}.bundle"
    if not src.is_file():
        pytest.skip(f"{src} is absent (the upstream bundles live in ../shared/upstream)")
    if shutil.which("git") is None:
        pytest.skip("git is absent")
    repo = tmp / f"{bundle}.git"
    if not repo.exists():
        subprocess.run(["git", "clone", "-q", "--bare", str(src), str(repo)], check=True, timeout=300)
    out = {}
    for path in paths:
        cp = subprocess.run(
            ["git", "-C", str(repo), "show", f"{commit}:{path}"], capture_output=True, text=True, check=True
        )
        out[path] = cp.stdout
    return out
