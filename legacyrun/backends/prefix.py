"""Backends whose environment is a prefix on this machine (conda, venv): entering it is putting its bin first on
PATH, removing it is deleting the folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from legacyrun import proc
from legacyrun.backends.base import Backend, BuildPlan, EnvRef, OnFailure, Progress, Rendered
from legacyrun.backends.native import run_recorded_steps, steps_current
from legacyrun.errors import BuildError
from legacyrun.fsutil import atomic_write_text
from legacyrun.gpus import GpuSelection
from legacyrun.invocation import command
from legacyrun.proc import Stream
from legacyrun.workspace import Workspace


class PrefixBackend(Backend):
    """exec, remove and the build records of prefix environments; subclasses render and build.

    Two records live in the prefix: the env marker (the env id, written once the packages are installed) and the
    native steps' keys (written as each step finishes), so a changed tree reruns its step in the kept env.
    """

    marker: ClassVar[str]
    steps_record: ClassVar[str]

    def env_exists(self, plan: BuildPlan) -> bool:
        """The prefix with its packages is installed (its build steps may still be missing or stale)."""
        try:
            marker = (plan.workspace.env / self.marker).read_text(encoding="utf-8").strip()
        except OSError:
            return False
        return marker == self.render(plan).env_id

    def exists(self, plan: BuildPlan) -> bool:
        if not self.env_exists(plan):
            return False
        return steps_current(plan, plan.workspace.env / self.steps_record, self.render(plan).env_id)

    def run_steps_in_kept_env(
        self,
        plan: BuildPlan,
        rendered: Rendered,
        progress: Progress,
        on_failure: OnFailure | None,
        force: list[str] | None,
    ) -> EnvRef:
        """The packages are in place: rerun only the steps whose key changed (or that are forced)."""
        prefix = plan.workspace.env
        ran = run_recorded_steps(
            plan, prefix, prefix / self.steps_record, rendered.env_id, progress, on_failure=on_failure, force=force
        )
        if not ran:
            progress(f"{self.name} {prefix} is up to date")
        return EnvRef(self.name, rendered.env_id, str(prefix), built=ran)

    def run_steps_in_new_env(
        self, plan: BuildPlan, rendered: Rendered, progress: Progress, on_failure: OnFailure | None
    ) -> EnvRef:
        """Record the installed packages, then run every step: a failed step keeps the packages for the retry."""
        prefix = plan.workspace.env
        atomic_write_text(prefix / self.marker, rendered.env_id + "\n")
        run_recorded_steps(plan, prefix, prefix / self.steps_record, rendered.env_id, progress, on_failure=on_failure)
        return EnvRef(self.name, rendered.env_id, str(prefix), built=True)

    def exec(
        self,
        env_ref: EnvRef,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        gpus: GpuSelection | None = None,
        workspace: Workspace,
    ) -> Stream:
        return prefix_exec(env_ref, argv, cwd=cwd, env=env)

    def remove(self, env_ref: EnvRef) -> None:
        prefix = Path(env_ref.location)
        if prefix.exists():
            shutil.rmtree(prefix)


def prefix_exec(env_ref: EnvRef, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> Stream:
    """Start argv with the prefix's bin first on PATH (what `conda activate` / `source bin/activate` do)."""
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
