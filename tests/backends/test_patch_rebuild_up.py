"""Issue 12's must-show, through `legacyrun up` on a real C++ extension of two translation units (no torch):

- a patch that changes the op's source changes what the task prints after `up`;
- a broken patch fails the build; after the fix, the retry installs no requirement again;
- each rebuild compiles only the changed translation unit: the compiler is a logging script (CC), and ccache (the
  per-user compiler cache every venv/conda step goes through) answers the unchanged one.

The "patch" is a recipe diff patch whose file changes (the recipe, and so its lock, stay the same, as when a user
edits patches/<recipe>/*.diff). The lock is written by hand with no requirements, so the venv costs seconds.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from support.backend_plans import resolution
from support.cli import CliResult, run_cli
from support.gitrepos import GitFactory

from legacyrun import lock
from legacyrun.backends.native import STEPS_RECORD, read_step_parts
from legacyrun.recipe.loader import load_path
from legacyrun.userdirs import cache_dir

pytestmark = pytest.mark.skipif(shutil.which("ccache") is None, reason="needs ccache (apt-get install ccache)")

PY = f"{sys.version_info.major}.{sys.version_info.minor}"

SETUP_PY = """\
from setuptools import Extension, setup

setup(name="tinyop", version="0.1",
      ext_modules=[Extension("tinyop", ["tinyop.cpp", "helper.cpp"], language="c++")])
"""

OP_CPP = """\
#include <Python.h>

int helper_offset();
#define VALUE 0

static PyObject *value(PyObject *self, PyObject *args) { return PyLong_FromLong(VALUE + helper_offset()); }
static PyMethodDef methods[] = {{"value", value, METH_NOARGS, "the constant"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "tinyop", NULL, -1, methods};
PyMODINIT_FUNC PyInit_tinyop(void) { return PyModule_Create(&module); }
"""

HELPER_CPP = "int helper_offset() { return 100; }\n"

# Logs every call, then compiles with the real gcc: what reaches it is what ccache did not answer.
LOGGING_CC = """\
#!/bin/sh
echo "$*" >> {log}
exec gcc "$@"
"""


def _diff(value: str) -> str:
    """A unified diff of tinyop.cpp that sets VALUE (what `git diff` of the edit gives)."""
    return (
        "--- a/tinyop.cpp\n+++ b/tinyop.cpp\n@@ -1,5 +1,5 @@\n #include <Python.h>\n \n int helper_offset();\n"
        f"-#define VALUE 0\n+#define VALUE {value}\n \n"
    )


def _setup(git_factory: GitFactory, tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    git_factory.work("tinyop", init=True)
    commit = git_factory.commit(
        "tinyop",
        "op",
        {"setup.py": SETUP_PY, "tinyop.cpp": OP_CPP, "helper.cpp": HELPER_CPP, ".gitignore": "build/\n*.so\n"},
    )
    git_factory.push("tinyop")
    compile_log = tmp_path / "compiles.log"
    cc = tmp_path / "bin" / "log-gcc"  # ccache tells compilers apart by name: this one is a gcc
    cc.parent.mkdir()
    cc.write_text(LOGGING_CC.format(log=compile_log))
    cc.chmod(0o755)
    step = {
        "name": "tinyop",
        "source": "proj",
        # --force: setuptools' own mtime check is coarse (legacyrun decides whether the step runs); every source
        # then goes to the compiler command, and ccache answers the unchanged one.
        "argv": ["python", "setup.py", "build_ext", "--inplace", "--force"],
        "clean": ["build"],
        "env": {"CC": str(cc)},
    }
    profile = {"python": PY, "torch": "2.13.0", "build": [step]}
    data = {
        "schema_version": 1,
        "name": "tinyop",
        "title": "A C++ op of two translation units",
        "sources": [{"name": "proj", "url": git_factory.bare("tinyop").as_uri(), "commit": commit}],
        "env": {"profiles": {"faithful": profile, "modern": profile}},
        "patches": [{"id": "value", "kind": "diff", "source": "proj", "file": "value.diff"}],
        "tasks": {
            "show": {"source": "proj", "argv": ["python", "-c", "import tinyop; print('VALUE', tinyop.value())"]}
        },
        "default_task": "show",
    }
    recipe = tmp_path / "recipes" / "tinyop.yaml"
    recipe.parent.mkdir()
    recipe.write_text(yaml.safe_dump(data), encoding="utf-8")
    patch = tmp_path / "recipes" / "patches" / "tinyop" / "value.diff"
    patch.parent.mkdir(parents=True)
    patch.write_text(_diff("1"))
    # A lock with no requirements: the venv is the interpreter alone (the build and its reruns are under test).
    loaded = load_path(recipe)
    ws = tmp_path / "ws"
    ws.mkdir()
    res = resolution(recipe="tinyop", recipe_hash=loaded.hash, python=PY, pip_specs=[])
    lock.write(ws / "legacyrun.lock", lock.Lockfile(recipe="tinyop", recipe_hash=loaded.hash, resolution=res))
    return recipe, ws, patch, compile_log


def _up(recipe: Path, ws: Path) -> CliResult:
    return run_cli("up", recipe, "-w", ws, "--backend", "venv", "--cpu", "--trust", timeout=900)


def _compiled(log: Path, since: int) -> list[str]:
    """The sources the real compiler compiled (not ccache's preprocessor runs, not the link) after line `since`."""
    lines = log.read_text().splitlines()[since:] if log.exists() else []
    return sorted(
        Path(word).name
        for ln in lines
        if " -c " in f" {ln} " and " -E" not in ln
        for word in ln.split()
        if word.endswith(".cpp")
    )


def _lines(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _installs(res: CliResult) -> list[str]:
    out = res.stdout + res.stderr
    return [ln for ln in out.splitlines() if " -m venv " in ln or " -m pip install" in ln]


def test_patched_op_rebuilds_only_the_changed_unit_and_the_retry_keeps_the_env(
    git_factory: GitFactory, tmp_path: Path
) -> None:
    recipe, ws, patch, compile_log = _setup(git_factory, tmp_path)

    first = _up(recipe, ws)
    assert first.exit_code == 0, first.stderr[-3000:]
    assert "VALUE 101" in first.stdout
    assert _installs(first)  # the venv was made here
    assert _compiled(compile_log, 0) == ["helper.cpp", "tinyop.cpp"]
    so_before = next((ws / "src" / "proj").glob("tinyop*.so")).stat().st_mtime_ns

    # A patch-only change: the task prints the new value; only tinyop.cpp reaches the compiler; build/ is kept.
    patch.write_text(_diff("2"))
    mark = _lines(compile_log)
    second = _up(recipe, ws)
    assert second.exit_code == 0, second.stderr[-3000:]
    assert "VALUE 102" in second.stdout
    assert _installs(second) == []
    assert _compiled(compile_log, mark) == ["tinyop.cpp"]
    out = second.stdout + second.stderr
    assert "only the sources changed: keeping build" in out
    assert next((ws / "src" / "proj").glob("tinyop*.so")).stat().st_mtime_ns != so_before

    # A broken patch fails the build; the env and the record of the attempt stay.
    patch.write_text(_diff("undeclared_value"))  # a compile error
    broken = _up(recipe, ws)
    assert broken.exit_code != 0 and "build step tinyop failed" in broken.stderr, broken.stderr[-3000:]
    assert "Traceback" not in broken.stderr
    assert "tinyop" in read_step_parts(ws / "env" / STEPS_RECORD)

    # The fix: no requirement is installed again, only the changed unit compiles, the task prints the fixed value.
    patch.write_text(_diff("3"))
    mark = _lines(compile_log)
    fixed = _up(recipe, ws)
    assert fixed.exit_code == 0, fixed.stderr[-3000:]
    assert "VALUE 103" in fixed.stdout
    assert _installs(fixed) == []
    assert _compiled(compile_log, mark) == ["tinyop.cpp"]

    # Nothing changed: no compile at all, the task runs again.
    mark = _lines(compile_log)
    again = _up(recipe, ws)
    assert again.exit_code == 0 and "VALUE 103" in again.stdout
    assert _compiled(compile_log, mark) == []
    record = json.loads((ws / "env" / STEPS_RECORD).read_text())
    assert set(record["parts"]["tinyop"]) == {"setup", "tree"}

    # The compilers went through ccache (wrappers in the env), its cache is in the user's legacyrun cache dir.
    ccache_dir = cache_dir() / "ccache"
    assert any(p.is_file() for p in ccache_dir.rglob("*"))
    header = (ws / ".legacyrun" / "logs" / "build-tinyop.log").read_text().splitlines()
    assert any(f"CCACHE_DIR={ccache_dir}" in ln for ln in header)
    assert "ccache" in (ws / "env" / ".legacyrun-ccache" / "log-gcc").read_text()
