"""runs/<id>/provenance.json: everything needed to say later exactly what ran, where, and how it ended."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from legacyrun.fsutil import atomic_write_text

PROVENANCE_VERSION = 1


def new_run_id(task: str, now: float | None = None) -> str:
    """Sortable and unique: UTC time, task, a short random suffix."""
    stamp = datetime.fromtimestamp(now if now is not None else time.time(), tz=timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{task}-{secrets.token_hex(2)}"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


@dataclass
class Provenance:
    """Filled in before the task starts and completed when it ends."""

    run_id: str
    recipe: str
    recipe_hash: str
    task: str
    argv: list[str]
    cwd: str
    env_overrides: dict[str, str]
    lock: dict[str, Any] | None
    sources: dict[str, str]
    patches: dict[str, str]
    datasets: dict[str, dict[str, str]]
    environment: dict[str, Any]
    host: dict[str, Any]
    gpus: dict[str, Any]
    adaptation: list[dict[str, str]] = field(default_factory=list)
    patched_heads: dict[str, str] = field(default_factory=dict)  # source -> the commit the task ran at
    smoke: dict[str, Any] | None = None  # a smoke run: the generated data it used instead of the real datasets
    started: float = field(default_factory=time.time)
    ended: float | None = None
    exit_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "provenance_version": PROVENANCE_VERSION,
            "run_id": self.run_id,
            "recipe": {"name": self.recipe, "hash": self.recipe_hash},
            "task": self.task,
            "argv": self.argv,
            "cwd": self.cwd,
            "env_overrides": self.env_overrides,
            "lock": self.lock,
            "sources": self.sources,
            "patched_heads": self.patched_heads,
            "patches": self.patches,
            "datasets": self.datasets,
            "environment": self.environment,
            "host": self.host,
            "gpus": self.gpus,
            "adaptation": self.adaptation,
            "smoke": self.smoke,
            "start": iso(self.started),
            "end": iso(self.ended) if self.ended is not None else None,
            "seconds": round(self.ended - self.started, 3) if self.ended is not None else None,
            "exit_code": self.exit_code,
        }

    def write(self, run_dir: Path) -> Path:
        path = run_dir / "provenance.json"
        atomic_write_text(path, json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        return path


def read_runs(runs_dir: Path, limit: int = 10) -> list[dict[str, Any]]:
    """The newest runs first, from their provenance files (damaged ones are skipped)."""
    out: list[dict[str, Any]] = []
    if not runs_dir.is_dir():
        return out
    for run_dir in sorted(runs_dir.iterdir(), reverse=True):
        try:
            out.append(json.loads((run_dir / "provenance.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if len(out) >= limit:
            break
    return out


__all__ = ["PROVENANCE_VERSION", "Provenance", "iso", "new_run_id", "read_runs"]
