"""Backends whose environment is a prefix on this machine (conda, venv): entering it is putting its bin first on
PATH, removing it is deleting the folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from legacyrun.backends.base import Backend, EnvRef
from legacyrun.errors import BuildError
from legacyrun.invocation import command
from legacyrun.proc import Stream
from legacyrun.workspace import Workspace


class PrefixBackend(Backend):
    """exec and remove for prefix environments; subclasses render and build."""

    def exec(
        self,
        env_ref: EnvRef,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        gpus: int = 0,
        workspace: Workspace,
    ) -> Stream:
        return prefix_exec(env_ref, argv, cwd=cwd, env=env)

    def remove(self, env_ref: EnvRef) -> None:
        prefix = Path(env_ref.location)
        if prefix.exists():
            shutil.rmtree(prefix)


def prefix_exec(env_ref: EnvRef, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> Stream:
    """Start argv with the prefix's bin first on PATH (what `conda activate` / `source bin/activate` do)."""
    from legacyrun import proc

    prefix = Path(env_ref.location)
    bin_dir = prefix / "bin"
    if not bin_dir.is_dir():
        raise BuildError(f"environment {prefix} is missing", hint=f"run `{command('build')}` first")
    child: dict[str, str | None] = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(prefix),
        "CONDA_PREFIX": str(prefix),
        "PYTHONNOUSERSITE": "1",
        "PYTHONHOME": None,
    }
    child.update(env or {})
    args = list(argv)
    if args and args[0] in ("python", "python3") and (bin_dir / "python").exists():
        args[0] = str(bin_dir / "python")
    return proc.stream(args, cwd=cwd, env=child)


__all__ = ["PrefixBackend", "prefix_exec"]
