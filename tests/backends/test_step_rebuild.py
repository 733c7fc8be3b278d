"""Native build steps keyed by their source tree (issue 12), on a real venv and a real C extension (no torch).

The project is a git repo with a setuptools.Extension whose C function returns a constant; a "patch" is a commit
that changes the constant. The venv's requirements are empty, so a build costs a venv plus a compile.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.backend_plans import PlanFactory, recipe_data, resolution
from support.cli import run_cli

from legacyrun import lock
from legacyrun.backends.base import BuildPlan
from legacyrun.backends.native import STEPS_RECORD, read_step_record
from legacyrun.backends.venv import MARKER, VenvBackend
from legacyrun.errors import BuildError
from legacyrun.recipe.loader import load_path

PY = f"{sys.version_info.major}.{sys.version_info.minor}"

SETUP_PY = """\
from setuptools import Extension, setup

setup(name="tinyop", version="0.1", ext_modules=[Extension("tinyop", ["tinyop.c"])])
"""

C_SOURCE = """\
#include <Python.h>

static PyObject *value(PyObject *self, PyObject *args) { return PyLong_FromLong(VALUE); }
static PyMethodDef methods[] = {{"value", value, METH_NOARGS, "the constant"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "tinyop", NULL, -1, methods};
PyMODINIT_FUNC PyInit_tinyop(void) { return PyModule_Create(&module); }
"""

# `clean` and --force: setuptools decides by mtime whether to compile and to copy the .so in place, and a second
# build within the same mtime tick would keep the old one. Deciding *whether* to rerun is legacyrun's job.
BUILD_EXT = {
    "name": "tinyop",
    "source": "proj",
    "argv": ["python", "setup.py", "build_ext", "--inplace", "--force"],
    "clean": ["build"],
}
SHOUT = {"name": "after", "source": "proj", "argv": ["python", "-c", "print('AFTER-RAN')"]}


def _git(repo: Path, *args: str) -> None:
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *ident, "-C", str(repo), *args], check=True, capture_output=True)


def _write_source(repo: Path, value: str, *, commit: bool = True) -> None:
    (repo / "tinyop.c").write_text(f"#define VALUE {value}\n" + C_SOURCE, encoding="utf-8")
    if commit:
        _git(repo, "commit", "-qam", f"value {value}")


def _project(ws: Path) -> Path:
    repo = ws / "src" / "proj"
    repo.mkdir(parents=True)
    (repo / "setup.py").write_text(SETUP_PY, encoding="utf-8")
    (repo / ".gitignore").write_text("build/\n*.so\n", encoding="utf-8")
    _write_source(repo, "1", commit=False)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "tiny op")
    return repo


def _profiles(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {"modern": {"python": PY, "torch": "2.13.0", "build": steps}}


def _plan(make_plan: PlanFactory, ws: Path, steps: list[dict[str, Any]]) -> BuildPlan:
    return make_plan(resolution(python=PY, pip_specs=[]), profiles=_profiles(steps), workspace=ws)


def _value(plan: BuildPlan) -> str:
    python = plan.workspace.env / "bin" / "python"
    cp = subprocess.run(
        [str(python), "-c", "import tinyop; print(tinyop.value())"],
        cwd=plan.workspace.source_dir("proj"),
        capture_output=True,
        text=True,
        check=True,
    )
    return cp.stdout.strip()


def _up_chain(plan: BuildPlan, backend: VenvBackend) -> Any:
    """`up`'s chain with its plan and backend given: build_inputs/build_ok exactly as `up` calls them."""
    from legacyrun.usecases.up import _Chain

    chain = _Chain.__new__(_Chain)
    vars(chain).update(build_plan=lambda: plan, backend=lambda: backend)
    return chain


def _installs(lines: list[str]) -> list[str]:
    """Progress lines of the env layer: venv creation and pip runs."""
    return [ln for ln in lines if " -m venv " in ln or " -m pip install" in ln]


def test_committed_patch_reruns_the_step_in_the_kept_venv(make_plan: PlanFactory, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    repo = _project(ws)
    plan = _plan(make_plan, ws, [BUILD_EXT])
    backend = VenvBackend()
    first: list[str] = []
    assert backend.build(plan, first.append).built
    assert _installs(first) and backend.exists(plan) and _value(plan) == "1"
    sentinel = plan.workspace.env / "sentinel"
    sentinel.write_text("kept", encoding="utf-8")
    python_stat = os.stat(plan.workspace.env / "pyvenv.cfg")

    _write_source(repo, "2", commit=False)  # an uncommitted edit of a tracked file counts too
    assert not backend.exists(plan)
    _git(repo, "commit", "-qam", "value 2")  # what a patch does
    assert not backend.exists(plan)
    chain = _up_chain(plan, backend)  # `up`: the build step's inputs (the env id) are the same, its check is not
    assert chain.build_inputs()["env_id"] == backend.render(plan).env_id and not chain.build_ok({})
    again: list[str] = []
    assert backend.build(plan, again.append).built
    assert _installs(again) == [] and any("setup.py build_ext" in ln for ln in again)
    assert sentinel.read_text(encoding="utf-8") == "kept"
    assert os.stat(plan.workspace.env / "pyvenv.cfg").st_ino == python_stat.st_ino
    assert backend.exists(plan) and _value(plan) == "2"
    assert chain.build_ok({})

    quiet: list[str] = []
    assert not backend.build(plan, quiet.append).built
    assert not any("setup.py build_ext" in ln for ln in quiet)


def test_failed_step_keeps_the_env_and_the_retry_resumes_there(make_plan: PlanFactory, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    repo = _project(ws)
    _write_source(repo, "1 +")  # a compile error, committed as a broken patch would be
    plan = _plan(make_plan, ws, [SHOUT | {"name": "before"}, BUILD_EXT])
    backend = VenvBackend()
    first: list[str] = []
    with pytest.raises(BuildError, match="build step tinyop failed"):
        backend.build(plan, first.append)
    assert _installs(first)
    env = plan.workspace.env
    assert (env / MARKER).is_file() and not backend.exists(plan)
    assert set(read_step_record(env / STEPS_RECORD)) == {"before"}  # what succeeded stays recorded

    _write_source(repo, "3")  # the fixed patch; `before` builds the same tree, so it reruns too
    retry: list[str] = []
    assert backend.build(plan, retry.append).built
    assert _installs(retry) == [] and any("setup.py build_ext" in ln for ln in retry)
    assert backend.exists(plan) and _value(plan) == "3"

    # A failure that leaves the earlier step's key alone: the retry resumes at the failed step.
    broken = _plan(make_plan, ws, [SHOUT | {"name": "before"}, BUILD_EXT | {"env": {"CFLAGS": "-include nosuch.h"}}])
    with pytest.raises(BuildError, match="build step tinyop failed"):
        backend.build(broken)
    resumed: list[str] = []
    assert backend.build(plan, resumed.append).built
    assert "build step before: unchanged" in resumed and "AFTER-RAN" not in resumed
    assert _installs(resumed) == [] and backend.exists(plan) and _value(plan) == "3"


def test_a_changed_earlier_step_reruns_the_later_ones(make_plan: PlanFactory, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _project(ws)
    backend = VenvBackend()
    plan = _plan(make_plan, ws, [BUILD_EXT, SHOUT])
    backend.build(plan)
    changed = _plan(make_plan, ws, [BUILD_EXT | {"env": {"CFLAGS": "-O1"}}, SHOUT])
    assert backend.env_exists(changed) and not backend.exists(changed)  # a step's env is its key, not the env's
    lines: list[str] = []
    assert backend.build(changed, lines.append).built
    assert _installs(lines) == [] and "AFTER-RAN" in lines
    # Another step setting: its old build folder is not reused (`clean:` ran); a source-only change keeps it.
    assert not any("keeping build" in ln for ln in lines)
    _write_source(ws / "src" / "proj", "5")
    lines = []
    assert changed and backend.build(changed, lines.append).built
    assert "build step tinyop: same settings, only the sources changed: keeping build" in lines
    assert _value(changed) == "5"


def _cli_setup(tmp_path: Path) -> tuple[Path, Path]:
    recipe = tmp_path / "tinyproj.yaml"
    recipe.write_text(yaml.safe_dump(recipe_data(_profiles([BUILD_EXT, SHOUT]))), encoding="utf-8")
    loaded = load_path(recipe)
    ws = tmp_path / "ws"
    _project(ws)
    res = resolution(recipe_hash=loaded.hash, python=PY, pip_specs=[])
    lock.write(ws / "legacyrun.lock", lock.Lockfile(recipe="tinyproj", recipe_hash=loaded.hash, resolution=res))
    return recipe, ws


def test_build_force_and_force_step(tmp_path: Path) -> None:
    recipe, ws = _cli_setup(tmp_path)
    args = ("build", recipe, "-w", ws, "--backend", "venv", "--trust")
    r = run_cli(*args)
    assert r.exit_code == 0, r.stderr
    assert "AFTER-RAN" in r.stderr + r.stdout
    r = run_cli(*args)
    assert r.exit_code == 0 and "up to date:" in r.stdout and "AFTER-RAN" not in r.stderr + r.stdout

    r = run_cli(*args, "--force")
    out = r.stderr + r.stdout
    assert r.exit_code == 0, r.stderr
    assert "setup.py build_ext" in out and "AFTER-RAN" in out and " -m pip install" not in out

    r = run_cli(*args, "--force", "after")
    out = r.stderr + r.stdout
    assert r.exit_code == 0, r.stderr
    assert "AFTER-RAN" in out and "setup.py build_ext" not in out and "build step tinyop: unchanged" in out

    r = run_cli(*args, "--force", "nosuch")
    assert r.exit_code == 2 and "steps: tinyop, after" in r.stderr and "Traceback" not in r.stderr
    r = run_cli(*args, "after")
    assert r.exit_code == 2 and "--force" in r.stderr
