"""Environment backends: docker (image), conda (py-rattler prefix + conda-lock.yml), venv (pip, hash-pinned).

This module is the registry (names -> implementations) and the one rule for which backend a command uses:
the one asked for on the command line, else the one the lock recorded, else docker when a daemon answers, else
conda. The interface and its value types are in `legacyrun.backends.base`; requirement rendering for all backends is
in `legacyrun.backends.requirements`. Only the backend asked for is imported: each pulls in its own client (the
docker SDK, py-rattler and asyncio).
"""

from __future__ import annotations

import importlib
import os

from legacyrun.backends.base import Backend
from legacyrun.errors import UsageError
from legacyrun.host import docker_status

# name -> "module:class"; a new backend is one line here and one module beside this one.
_REGISTRY: dict[str, str] = {
    "docker": "legacyrun.backends.docker:DockerBackend",
    "conda": "legacyrun.backends.conda:CondaBackend",
    "venv": "legacyrun.backends.venv:VenvBackend",
}

BACKEND_NAMES: tuple[str, ...] = tuple(_REGISTRY)

# The backend choice waits this long for a daemon (the host report waits less: it only describes the machine).
CHOICE_TIMEOUT = 3.0


def _check_name(name: str) -> None:
    if name not in _REGISTRY:
        raise UsageError(f"unknown backend {name!r}; choose one of: {', '.join(BACKEND_NAMES)}")


def backend_class(name: str) -> type[Backend]:
    """The implementation registered as `name` (its module is imported now, not before)."""
    _check_name(name)
    module, _, attr = _REGISTRY[name].partition(":")
    cls: type[Backend] = getattr(importlib.import_module(module), attr)
    return cls


def get_backend(name: str) -> Backend:
    """The backend called `name`; an unknown name is a UsageError that lists the known ones."""
    return backend_class(name)()


def default_backend() -> tuple[str, str]:
    """docker when a daemon answers (the host probe's check), else conda; with the reason, for the CLI to print."""
    ok, why = docker_status(os.environ, CHOICE_TIMEOUT)
    if ok:
        return "docker", why
    return "conda", f"{why}; using conda (py-rattler, no conda executable needed)"


def choose_backend(name: str | None, plan: object | None = None, *, locked: str | None = None) -> tuple[str, str]:
    """The backend to use and why: the command line's (`name`) > the lock's (`locked`) > docker if a daemon
    answers > conda. `plan` is accepted for the callers that pass it; the choice does not depend on it."""
    if name is not None:
        _check_name(name)
        return name, "chosen with --backend"
    if locked is not None:
        _check_name(locked)
        return locked, "recorded in legacyrun.lock"
    return default_backend()


__all__ = ["BACKEND_NAMES", "backend_class", "choose_backend", "default_backend", "get_backend"]
