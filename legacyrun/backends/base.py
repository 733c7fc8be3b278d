"""The backend interface: what to build (BuildPlan), what it renders to (Rendered), what a built env is (EnvRef).

Rendering is pure and deterministic so that the same recipe + lock + sources give byte-identical files and the same
`env_id`; images and prefixes are named by that id, which is how a second build with unchanged inputs does nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from legacyrun.errors import UsageError

if TYPE_CHECKING:
    from legacyrun.proc import Stream
    from legacyrun.recipe.loader import LoadedRecipe
    from legacyrun.recipe.models import Profile
    from legacyrun.resolution import Resolution
    from legacyrun.run.gpus import GpuSelection
    from legacyrun.workspace import Workspace

Progress = Callable[[str], None]
"""Receives one line of build progress at a time (the CLI shows it; tests may collect it)."""

OnFailure = Callable[[str], None]
"""Receives the full text of a failed build log (the hook where the error explainer plugs in)."""


def _no_progress(_line: str) -> None:
    return None


@dataclass(frozen=True)
class BuildPlan:
    """Everything a backend needs to render and build one environment."""

    recipe: LoadedRecipe
    resolution: Resolution
    workspace: Workspace
    profile: str
    commits: Mapping[str, str] = field(default_factory=dict)
    patch_hash: str | None = None
    base_image: str | None = None
    mirrors: Mapping[str, str] | None = None

    @property
    def profile_spec(self) -> Profile:
        return self.recipe.recipe.env.profiles[self.profile]

    @property
    def image_base(self) -> str | None:
        """--base-image wins over the resolved image (offline labs, tests)."""
        return self.base_image or self.resolution.base_image


@dataclass(frozen=True)
class Rendered:
    """The pure output of a backend: file name -> text, and the id of everything that went into it."""

    backend: str
    files: dict[str, str]
    env_id: str
    summary: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"backend": self.backend, "env_id": self.env_id, "files": self.files, "summary": self.summary}


@dataclass(frozen=True)
class EnvRef:
    """A built environment: a docker image tag or a prefix path, and its id."""

    backend: str
    id: str
    location: str
    built: bool = False
    sources_in_env: bool = False
    base_id: str | None = None  # docker: the ID of the base image the image was built on

    def to_json(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "id": self.id,
            "location": self.location,
            "built": self.built,
            "sources_in_env": self.sources_in_env,
        }


def content_id(files: Mapping[str, str], extra: Mapping[str, str] | None = None) -> str:
    """sha256 over sorted (name, text) pairs plus extra inputs: the same inputs always give the same id."""
    payload = json.dumps({"files": dict(files), "extra": dict(extra or {})}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_SKIP_DIRS = frozenset({".git", "__pycache__"})
_SKIP_SUFFIXES = (".pyc", ".pyo")


def iter_source_files(src: Path) -> Iterator[Path]:
    """The files of the workspace sources that belong in an environment, in sorted order.

    For a git work tree these are the tracked files (the pinned commit plus legacyrun's patch commits): what a
    task writes into its tree (checkpoints, results, unpacked data) must not change the environment's id, or a
    second `up` would rebuild after every run. Other folders are walked whole, without .git and bytecode.
    """
    if not src.is_dir():
        return
    for top in sorted(p for p in src.iterdir() if p.is_dir()):
        tracked = _git_tracked(top)
        if tracked is not None:
            yield from (top / rel for rel in tracked if (top / rel).is_file() or (top / rel).is_symlink())
            continue
        for root, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in (".git", "__pycache__"))
            for name in sorted(files):
                if name != ".git" and not name.endswith(".pyc"):
                    yield Path(root) / name


def _git_tracked(tree: Path) -> list[str] | None:
    if not (tree / ".git").exists():
        return None
    from legacyrun import proc

    done = proc.run(["git", "ls-files", "-z", "--cached"], cwd=tree)
    if not done.ok:
        return None
    return sorted(p for p in done.stdout.split("\0") if p)


def source_tree_hash(src: Path) -> str:
    """Content hash of the source trees (paths, modes, bytes; not mtimes), so a patch changes it."""
    h = hashlib.sha256()
    for path in iter_source_files(src):
        rel = path.relative_to(src).as_posix()
        if path.is_symlink():
            h.update(f"L {rel} {os.readlink(path)}\n".encode())
            continue
        executable = os.access(path, os.X_OK)
        h.update(f"F {rel} {int(executable)} ".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


class Backend(ABC):
    """One way to build and enter an environment."""

    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def render(self, plan: BuildPlan) -> Rendered:
        """The files this backend would build from; pure and deterministic."""

    @abstractmethod
    def exists(self, plan: BuildPlan) -> bool:
        """True when an environment with this plan's env_id is already built."""

    @abstractmethod
    def build(
        self, plan: BuildPlan, progress: Progress = _no_progress, *, on_failure: OnFailure | None = None
    ) -> EnvRef:
        """Build (or reuse) the environment; BuildError with the log path on failure."""

    @abstractmethod
    def ref(self, plan: BuildPlan) -> EnvRef:
        """The reference an already built environment of this plan has (without building)."""

    @abstractmethod
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
        """Start argv inside the environment; the caller iterates the Stream and reads its returncode.

        `gpus`: the devices the task gets (physical ids); a prefix backend has them in `env` already, a container
        backend requests those devices (None or no ids: no GPU)."""

    @abstractmethod
    def remove(self, env_ref: EnvRef) -> None:
        """Delete the built environment (image or prefix); nothing happens when it is already gone."""


def _backend_class(name: str) -> type[Backend]:
    # Only the backend asked for is imported: each pulls in its own client (docker, py-rattler and asyncio).
    if name == "docker":
        from legacyrun.backends.docker import DockerBackend

        return DockerBackend
    if name == "conda":
        from legacyrun.backends.conda import CondaBackend

        return CondaBackend
    from legacyrun.backends.venv import VenvBackend

    return VenvBackend


BACKEND_NAMES: tuple[str, ...] = ("docker", "conda", "venv")


def get_backend(name: str) -> Backend:
    """The backend called `name`; an unknown name is a UsageError that lists the known ones."""
    if name not in BACKEND_NAMES:
        raise UsageError(f"unknown backend {name!r}; choose one of: {', '.join(BACKEND_NAMES)}")
    return _backend_class(name)()


def docker_answers(timeout: float = 3.0) -> tuple[bool, str]:
    """Whether a docker daemon answers on DOCKER_HOST (or the default socket), and a one-line why."""
    try:
        from docker.client import DockerClient
    except ImportError:  # pragma: no cover - docker is a dependency
        return False, "the docker Python package is not installed"
    try:
        client = DockerClient.from_env(timeout=int(max(timeout, 1)))
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # the SDK raises many kinds (DockerException, requests errors, OSError)
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        missing = isinstance(exc.__context__, FileNotFoundError) or "FileNotFoundError" in str(exc)
        return False, f"no docker daemon answers at {where}" + (" (no socket)" if missing else "")
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return True, f"a docker daemon answers at {where}"


def default_backend() -> tuple[str, str]:
    """docker when a daemon answers, else conda; with the reason, for the CLI to print."""
    ok, why = docker_answers()
    if ok:
        return "docker", why
    return "conda", f"{why}; using conda (py-rattler, no conda executable needed)"


__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BuildPlan",
    "EnvRef",
    "OnFailure",
    "Progress",
    "Rendered",
    "content_id",
    "default_backend",
    "docker_answers",
    "get_backend",
    "iter_source_files",
    "source_tree_hash",
]
