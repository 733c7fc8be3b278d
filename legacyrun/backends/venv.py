"""venv backend: `python -m venv <workspace>/env` + pip, for profiles whose pins are all on PyPI (modern on CPU).

Hash pinning: the first build asks pip's own resolver for a report (`pip install --dry-run --report`), which names
every package of the closure with its exact version and archive sha256; that becomes requirements.lock.txt beside
legacyrun.lock, installed with `--require-hashes --no-deps`. Later builds install from it without resolving. When
an index gives no hash for an archive, that line stays `==`-pinned without a hash and pip runs without
--require-hashes (documented trade-off: the version is still exact).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from legacyrun import proc
from legacyrun.backends.base import (
    BuildPlan,
    EnvRef,
    OnFailure,
    Progress,
    Rendered,
    _no_progress,
)
from legacyrun.backends.identity import content_id
from legacyrun.backends.native import STEPS_RECORD, fail_with_log, steps_summary
from legacyrun.backends.prefix import PrefixBackend
from legacyrun.backends.requirements import (
    LOCK_NAME,
    lock_from_report,
    lock_input_hash,
    mirrored,
    option_lines,
    pip_index_args,
    pip_lines,
    requirements_in,
)
from legacyrun.errors import BuildError
from legacyrun.fsutil import atomic_write_text

if TYPE_CHECKING:
    pass

MARKER = ".legacyrun-env-id"


def find_python(version: str) -> str:
    """An interpreter for the pinned Python: pythonX.Y on PATH, or this one when it is that version."""
    found = shutil.which(f"python{version}")
    if found:
        return found
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    raise BuildError(
        f"venv: Python {version} is not installed (no python{version} on PATH)",
        hint="install it, or use --backend conda (which installs its own Python)",
    )


class VenvBackend(PrefixBackend):
    marker = MARKER
    steps_record = STEPS_RECORD
    name = "venv"
    description = "a Python venv in <workspace>/env with hash-pinned pip requirements (PyPI-only profiles)"

    def render(self, plan: BuildPlan) -> Rendered:
        files = {"requirements.in": requirements_in(plan)}
        # The env id covers the interpreter and the requirements only; each build step has its own key
        # (native.step_keys), so a changed step or source tree reruns that step in the kept env.
        extra = {"python": plan.resolution.python}
        env_id = content_id(files, extra)
        lockfile = plan.workspace.root / LOCK_NAME
        summary = [
            f"venv {plan.workspace.env} with Python {plan.resolution.python}",
            f"pip: {', '.join(pip_lines(plan)) or '-'}",
            f"install from {LOCK_NAME} (hash-pinned)" if lockfile.exists() else f"resolve, then write {LOCK_NAME}",
        ]
        steps = steps_summary(plan)
        if steps:
            summary.append(steps)
        return Rendered(self.name, files, env_id, summary)

    def ref(self, plan: BuildPlan) -> EnvRef:
        return EnvRef(self.name, self.render(plan).env_id, str(plan.workspace.env))

    def build(
        self,
        plan: BuildPlan,
        progress: Progress = _no_progress,
        *,
        on_failure: OnFailure | None = None,
        force: list[str] | None = None,
    ) -> EnvRef:
        if plan.resolution.installer != "pip":
            raise BuildError(
                f"venv: profile {plan.profile} installs torch {plan.resolution.torch} from conda, not PyPI",
                hint="use --backend conda or --backend docker",
            )
        rendered = self.render(plan)
        prefix = plan.workspace.env
        if self.env_exists(plan):
            return self.run_steps_in_kept_env(plan, rendered, progress, on_failure, force)
        python = find_python(plan.resolution.python)
        if prefix.exists():
            shutil.rmtree(prefix)  # a venv without the marker is half-built or stale
        self._pip(plan, [python, "-m", "venv", str(prefix)], "venv", progress, on_failure)
        env_python = str(prefix / "bin" / "python")
        input_text = rendered.files["requirements.in"]
        input_hash = hashlib.sha256(input_text.encode("utf-8")).hexdigest()
        lockfile = plan.workspace.root / LOCK_NAME
        if lock_input_hash(lockfile) != input_hash:
            lock = self._resolve(plan, env_python, input_text, input_hash, progress, on_failure)
            atomic_write_text(lockfile, lock)
            progress(f"wrote {lockfile}")
        text = lockfile.read_text(encoding="utf-8")
        hashed = all("--hash=" in ln for ln in text.splitlines() if ln and not ln.startswith(("#", "-")))
        with tempfile.TemporaryDirectory(prefix="legacyrun-pip-") as tmp:
            install_from = Path(tmp) / LOCK_NAME
            install_from.write_text(mirrored(text, plan), encoding="utf-8")
            argv = [env_python, "-m", "pip", "install", "--no-deps", "-r", str(install_from)]
            if hashed:
                argv.insert(4, "--require-hashes")
            self._pip(plan, argv, "pip", progress, on_failure)
        return self.run_steps_in_new_env(plan, rendered, progress, on_failure)

    def _resolve(
        self,
        plan: BuildPlan,
        env_python: str,
        input_text: str,
        input_hash: str,
        progress: Progress,
        on_failure: OnFailure | None,
    ) -> str:
        with tempfile.TemporaryDirectory(prefix="legacyrun-pip-") as tmp:
            req = Path(tmp) / "requirements.in"
            req.write_text(mirrored(input_text, plan), encoding="utf-8")
            report_path = Path(tmp) / "report.json"
            argv = [env_python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
            argv += ["--report", str(report_path), "-r", str(req)]
            self._pip(plan, argv, "pip-resolve", progress, on_failure)
            report = json.loads(report_path.read_text(encoding="utf-8"))
        options = option_lines(pip_index_args(replace(plan, mirrors=None)))
        return lock_from_report(report, input_hash, options)

    @staticmethod
    def _pip(plan: BuildPlan, argv: list[str], step: str, progress: Progress, on_failure: OnFailure | None) -> None:
        log_path = plan.workspace.logs / f"build-{step}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        progress(" ".join(argv))
        stream = proc.stream(argv, env={"PYTHONNOUSERSITE": "1"})
        with log_path.open("w", encoding="utf-8") as log:
            for line in stream:
                log.write(line + "\n")
                progress(line)
        if stream.returncode != 0:
            what = argv[2] if len(argv) > 2 else step
            fail_with_log(f"venv: {what} failed (exit {stream.returncode})", log_path, on_failure)


__all__ = ["VenvBackend", "find_python"]
