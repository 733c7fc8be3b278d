"""Run the legacyrun CLI in tests: in-process (fast) or as a real subprocess (exit codes, no traceback)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(
    *args: str | os.PathLike[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    input: str | None = None,
) -> CliResult:
    """`python -m legacyrun ARGS` in a subprocess: the real entry point, real exit code, real stderr."""
    return _run([sys.executable, "-m", "legacyrun", *map(os.fspath, args)], cwd, env, timeout, input)


def _run(
    argv: list[str], cwd: Path | None, env: dict[str, str] | None, timeout: float, input: str | None = None
) -> CliResult:
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("COLUMNS", "200")
    cp = subprocess.run(
        argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False, input=input
    )
    return CliResult(cp.returncode, cp.stdout, cp.stderr)


def run_console_script(
    *args: str | os.PathLike[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> CliResult:
    """The installed `legacyrun` console script (the one beside sys.executable, same venv), as a user runs it.

    PYTHONPATH puts this checkout first, so the script's `legacyrun.cli:main` is the code under test. Skips when
    the package is not installed in this venv (no script to run).
    """
    import pytest

    script = Path(sys.executable).parent / "legacyrun"
    if not script.is_file():
        pytest.skip(f"no legacyrun console script beside {sys.executable} (package not installed in this venv)")
    # PYTHONPATH puts this checkout first, so the script runs the code under test.
    repo = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (repo, (env or {}).get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))) if p)
    return _run([str(script), *map(os.fspath, args)], cwd, {**(env or {}), "PYTHONPATH": path}, timeout)


def run_inproc(*args: str | os.PathLike[str]) -> CliResult:
    """`legacyrun ARGS` inside this process (for speed); SystemExit gives the exit code."""
    from legacyrun.cli import main, render

    out, err = io.StringIO(), io.StringIO()
    render._out = None
    render._err = None
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([os.fspath(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    render._out = None
    render._err = None
    return CliResult(code, out.getvalue(), err.getvalue())
