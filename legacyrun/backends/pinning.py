"""Hash-pinning a pip set: pip's own resolver (`pip install --dry-run --report`) names every package of the closure
with its exact version and archive sha256, which `requirements.lock_from_report` renders as requirements.lock.txt;
builds install it with `--require-hashes --no-deps`.

pip evaluates environment markers against the interpreter that runs it, also under --python-version (pip 23.2:
importlib-metadata 4.0.0 resolved "for 3.7" on 3.11 leaves out its `python_version < "3.8"` dependency), so a set is
only resolved by an interpreter of the target's Python version: the env's own (venv, conda) or pythonX.Y on this
host (docker, whose image runs Linux on x86_64 too).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from legacyrun import proc
from legacyrun.backends.base import Progress


@dataclass(frozen=True)
class PipReport:
    """pip's installation report, or why there is none (one line)."""

    report: dict[str, Any] | None
    reason: str | None = None


def resolve(python: str, requirements: str, *, ignore_installed: bool, log_path: Path, progress: Progress) -> PipReport:
    """Ask `python -m pip` which files it would install for `requirements` (text of a requirements file).

    ignore_installed: resolve the whole closure (a new env); without it what the env already has is kept, as a
    plain `pip install` into it would (conda: the packages conda installed stay)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="legacyrun-pip-") as tmp:
        req = Path(tmp) / "requirements.in"
        req.write_text(requirements, encoding="utf-8")
        report_path = Path(tmp) / "report.json"
        argv = [python, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report_path), "-r", str(req)]
        if ignore_installed:
            argv.insert(5, "--ignore-installed")
        progress(" ".join(argv))
        stream = proc.stream(argv, env={"PYTHONNOUSERSITE": "1"})
        last = ""
        with log_path.open("w", encoding="utf-8") as log:
            for line in stream:
                log.write(line + "\n")
                progress(line)
                if line.strip():
                    last = line.strip()
        if stream.returncode != 0 or not report_path.is_file():
            why = f": {last[:200]}" if last else ""
            return PipReport(None, f"pip could not resolve it with {python} (exit {stream.returncode}{why})")
        return PipReport(json.loads(report_path.read_text(encoding="utf-8")))


__all__ = ["PipReport", "resolve"]
