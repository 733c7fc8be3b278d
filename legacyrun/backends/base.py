"""The backend interface: what to build (BuildPlan), what it renders to (Rendered), what a built env is (EnvRef).

Rendering is pure and deterministic so that the same recipe + lock + sources give byte-identical files and the same
`env_id` (backends/identity.py); images and prefixes are named by that id, which is how a second build with unchanged
inputs does nothing. The registry of backends and the choice between them are in `legacyrun.backends`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from legacyrun.gpus import GpuSelection
    from legacyrun.proc import Stream
    from legacyrun.recipe.loader import LoadedRecipe
    from legacyrun.recipe.models import Profile
    from legacyrun.resolution import Resolution
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


__all__ = [
    "Backend",
    "BuildPlan",
    "EnvRef",
    "OnFailure",
    "Progress",
    "Rendered",
]
