"""`wheel_cache` build steps on real venvs: the first workspace builds the wheel with the step's argv and keeps it
in the user cache under its build key; a second workspace with the same source commit and torch build installs the
cached wheel without running the build; another torch build is another key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.backend_plans import plan_factory, resolution
from support.gitrepos import git

from legacyrun.backends.native import run_local_steps, wheel_key
from legacyrun.recipe.models import BuildStep
from legacyrun.userdirs import wheels_dir

STEP = {
    "name": "pkg",
    "source": "proj",
    "argv": ["python", "-m", "pip", "wheel", "-v", "--no-build-isolation", "--no-deps", "-w", "{wheel_dir}", "."],
    "cuda": False,
    "wheel_cache": True,
}


def _tree(root: Path) -> Path:
    repo = root / "upstream"
    repo.mkdir(parents=True)
    # Like an sdist's egg-info, the build rewrites a tracked file: the wheel's key is taken before it runs.
    (repo / "setup.py").write_text(
        "from setuptools import setup\nopen('stamp.txt', 'a').write('built\\n')\n"
        "setup(name='tinypkg', version='1.0', py_modules=['tinypkg'])\n"
    )
    (repo / "stamp.txt").write_text("")
    (repo / "tinypkg.py").write_text("VALUE = 42\n")
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "tiny", cwd=repo)
    return repo


def _workspace(root: Path, name: str, upstream: Path) -> tuple[Path, Path]:
    ws = root / name
    git("clone", "-q", str(upstream), str(ws / "src" / "proj"), cwd=root)
    venv = root / f"{name}-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # setuptools 65 (Python 3.11's ensurepip) builds wheels only with the wheel package
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "wheel"], check=True, capture_output=True
    )
    return ws, venv


def _imports(venv: Path) -> str:
    done = subprocess.run([str(venv / "bin" / "python"), "-c", "import tinypkg; print(tinypkg.VALUE)"], cwd=venv,
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.stdout.strip()


def test_second_workspace_installs_the_cached_wheel(tmp_path: Path) -> None:
    upstream = _tree(tmp_path)
    make_plan = plan_factory(tmp_path)
    profiles = {"modern": {"python": "3.11", "torch": "2.13.0", "build": [STEP]}}

    ws1, venv1 = _workspace(tmp_path, "one", upstream)
    plan1 = make_plan(resolution(), profiles=profiles, workspace=ws1)
    lines: list[str] = []
    run_local_steps(plan1, venv1, lines.append)
    assert _imports(venv1) == "42"
    [cached] = list(wheels_dir().glob("*/tinypkg-1.0-py3-none-any.whl"))
    assert any("cached tinypkg-1.0" in ln for ln in lines)
    assert not list(wheels_dir().glob(".build-*"))  # the build folder became the key's folder

    ws2, venv2 = _workspace(tmp_path, "two", upstream)
    plan2 = make_plan(resolution(), profiles=profiles, workspace=ws2)
    lines = []
    run_local_steps(plan2, venv2, lines.append)
    assert _imports(venv2) == "42"
    assert any(f"cached wheel {cached.name}" in ln for ln in lines)
    log = (ws2 / ".legacyrun" / "logs" / "build-pkg.log").read_text()
    assert "pip install" in " ".join(lines) and "Building wheel" not in log

    step = BuildStep.model_validate(STEP)
    tree = f"{git('rev-parse', 'HEAD', cwd=ws1 / 'src' / 'proj')} "
    other = make_plan(resolution(torch="2.14.1"), profiles=profiles, workspace=ws2)
    assert wheel_key(plan1, step, tree) == wheel_key(plan2, step, tree) != wheel_key(other, step, tree)


def test_wheel_cache_needs_the_wheel_dir() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="wheel_dir"):
        BuildStep.model_validate({**STEP, "argv": ["python", "-m", "pip", "install", "."]})
