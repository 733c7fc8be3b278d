"""The real upstream repositories (git bundles in ../shared/upstream/) as a mirror the built-in recipes fetch from.

`make-mirror DIR` unpacks them as bare repositories under DIR/<owner>/<name>.git, so that
`--mirror https://github.com/=file://DIR/` (or the same rule in LEGACYRUN_MIRRORS) serves the pinned commits.
The code is read from ../shared at run time and never copied into this repository.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    """../shared beside the checkout (CI lays a copy there), or LEGACYRUN_SHARED_DIR."""
    env = os.environ.get("LEGACYRUN_SHARED_DIR")
    cand = Path(env) if env else REPO_ROOT.parent / "shared"
    return cand if (cand / "upstream" / "make-mirror").is_file() else None


def make_mirror(dest: Path) -> Path:
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/upstream (the real upstream code) is not beside this checkout")
    subprocess.run(["bash", str(shared / "upstream" / "make-mirror"), str(dest)], check=True, capture_output=True)
    return dest


def mirror_rule(mirror: Path) -> str:
    """The --mirror value that makes https://github.com/OWNER/NAME.git fetch from the local bare repositories."""
    return f"https://github.com/=file://{mirror}/"


@pytest.fixture(scope="session")
def upstream_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mirror of every upstream bundle per test session."""
    return make_mirror(tmp_path_factory.mktemp("upstream-mirror"))


__all__ = ["make_mirror", "mirror_rule", "shared_dir", "upstream_mirror"]
