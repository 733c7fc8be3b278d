"""The workspace: where one recipe's code, data, environment, runs and state live, and its process lock.

Layout (see docs/workspace.md):
    legacyrun.lock, conda-lock.yml, src/<source>/, data/, env/, runs/<id>/, .legacyrun/{state.json,lock}
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from legacyrun.errors import WorkspaceBusyError
from legacyrun.fsutil import atomic_write_text

# Workspaces this process already holds: steps called inside `up` take the lock again, and a second flock on
# the same file from the same process would wait for itself.
_HELD: dict[Path, int] = {}


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace; creating the object touches nothing on disk."""

    root: Path

    @classmethod
    def at(cls, root: str | Path) -> Workspace:
        return cls(Path(root).expanduser().absolute())

    @property
    def lockfile(self) -> Path:
        return self.root / "legacyrun.lock"

    @property
    def conda_lockfile(self) -> Path:
        return self.root / "conda-lock.yml"

    @property
    def src(self) -> Path:
        return self.root / "src"

    def source_dir(self, name: str) -> Path:
        return self.src / name

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def env(self) -> Path:
        return self.root / "env"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def smoke_dir(self, relative: str) -> Path:
        """Where a generated smoke dataset goes: under smoke/, apart from the real data in data/."""
        return self.resolve_inside(f"smoke/{relative}")

    @property
    def meta(self) -> Path:
        return self.root / ".legacyrun"

    @property
    def state_file(self) -> Path:
        return self.meta / "state.json"

    @property
    def logs(self) -> Path:
        return self.meta / "logs"

    def resolve_inside(self, relative: str) -> Path:
        """A recipe path made absolute; recipes are validated so it cannot leave the workspace."""
        path = (self.root / relative).resolve()
        root = self.root.resolve()
        if path != root and root not in path.parents:
            raise ValueError(f"{relative!r} leaves the workspace {self.root}")
        return path

    # -- state records: {step: {inputs_hash, outputs, finished_at}} ------------------------------------------
    def read_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged state file only costs a redo of the steps; never a crash.
            return {}
        return data if isinstance(data, dict) else {}

    def step_record(self, step: str) -> dict[str, Any] | None:
        rec = self.read_state().get(step)
        return rec if isinstance(rec, dict) else None

    def record_step(self, step: str, inputs_hash: str, outputs: dict[str, Any] | None = None) -> None:
        state = self.read_state()
        state[step] = {"inputs_hash": inputs_hash, "outputs": outputs or {}, "finished_at": time.time()}
        atomic_write_text(self.state_file, json.dumps(state, indent=2, sort_keys=True) + "\n")

    def forget_step(self, step: str) -> None:
        state = self.read_state()
        if state.pop(step, None) is not None:
            atomic_write_text(self.state_file, json.dumps(state, indent=2, sort_keys=True) + "\n")

    # -- one legacyrun process per workspace ----------------------------------------------------------------
    @contextmanager
    def locked(self, *, wait: float = 0.0) -> Iterator[None]:
        """Hold the workspace lock; another holder makes this wait up to `wait` seconds, then refuse."""
        self.meta.mkdir(parents=True, exist_ok=True)
        key = self.meta.resolve()
        if _HELD.get(key):
            _HELD[key] += 1
            try:
                yield
            finally:
                _HELD[key] -= 1
            return
        fd = _flock(self.meta / "lock", wait)
        if fd is None:
            raise WorkspaceBusyError(
                f"workspace {self.root} is in use by another legacyrun process",
                hint="wait for it to finish, or pass --wait SECONDS",
            )
        _HELD[key] = 1
        try:
            yield
        finally:
            _HELD.pop(key, None)
            os.close(fd)  # closing the descriptor drops the flock


_POLL = 0.05


def _flock(path: Path, wait: float) -> int | None:
    """An exclusive flock on `path` (the descriptor holding it), or None when another process still holds it after
    `wait` seconds. The same lock as the filelock package takes on Unix (flock on the same file), without its
    import cost (it pulls in asyncio), which a no-op `up` cannot afford."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(_POLL)
        except BaseException:
            os.close(fd)
            raise


__all__ = ["Workspace"]
