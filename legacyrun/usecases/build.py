"""The `build` use case: plan from the workspace lock, pick a backend, render, build, record.

`plan_for` is the one way `build`, `up` and `run` make a BuildPlan; the Resolution comes from
<workspace>/legacyrun.lock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from legacyrun import lock
from legacyrun.backends import choose_backend, get_backend
from legacyrun.backends.base import Backend, BuildPlan, EnvRef, OnFailure, Progress, Rendered, _no_progress
from legacyrun.backends.native import forced_steps
from legacyrun.diagnose import Match, explain_text
from legacyrun.errors import BuildError, LockError, UsageError
from legacyrun.invocation import command, fill
from legacyrun.lock import EnvironmentLock
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.resolution import Resolution
from legacyrun.workspace import Workspace


@dataclass(frozen=True)
class BuildResult:
    """What `build` did (or, with dry_run, would do)."""

    backend: str
    why: str
    dry_run: bool
    rendered: Rendered
    env: EnvRef | None
    up_to_date: bool

    def to_json(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "why": self.why,
            "dry_run": self.dry_run,
            "up_to_date": self.up_to_date,
            "rendered": self.rendered.to_json(),
            "env": self.env.to_json() if self.env else None,
        }


def patch_series_hash(patches: Mapping[str, str]) -> str | None:
    """One hash for the applied patch series (id -> content hash, in order of ids)."""
    if not patches:
        return None
    payload = json.dumps(dict(patches), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def plan_from_lock(
    loaded: LoadedRecipe,
    workspace: Workspace,
    *,
    profile: str | None = None,
    base_image: str | None = None,
    mirrors: Mapping[str, str] | None = None,
) -> BuildPlan:
    """A BuildPlan from the workspace's legacyrun.lock; a missing or stale lock says to run `legacyrun lock`."""

    if not workspace.lockfile.exists():
        raise LockError(
            f"{workspace.lockfile}: no lockfile, so there are no resolved pins to build",
            hint=f"run `{command('lock', loaded.recipe.name)}` first",
        )
    lf = lock.read(workspace.lockfile)
    if lf.recipe_hash != loaded.hash:
        raise LockError(
            f"{workspace.lockfile}: made from another version of recipe {loaded.recipe.name}",
            hint=f"run `{command('lock', loaded.recipe.name)}` again",
        )
    res = lf.resolution
    if profile is not None and profile != res.profile:
        if profile not in loaded.recipe.env.profiles:
            raise UsageError(
                f"recipe {loaded.recipe.name} has no profile {profile!r} "
                f"(profiles: {', '.join(sorted(loaded.recipe.env.profiles))})"
            )
        raise LockError(
            f"{workspace.lockfile}: resolved for profile {res.profile!r}, not {profile!r}",
            hint=f"run `{command('lock', loaded.recipe.name, '--profile', profile)}`",
        )
    return plan_for(loaded, workspace, res, base_image=base_image, mirrors=mirrors)


def plan_for(
    loaded: LoadedRecipe,
    workspace: Workspace,
    resolution: Resolution,
    *,
    base_image: str | None = None,
    mirrors: Mapping[str, str] | None = None,
) -> BuildPlan:
    """The one way `build`, `up` and `run` make a BuildPlan, so all three name the same environment.

    Commits come from the recipe (fetch verifies the trees are at them) and the patch series from the lock.
    """

    lf = lock.read_optional(workspace.lockfile)
    return BuildPlan(
        recipe=loaded,
        resolution=resolution,
        workspace=workspace,
        profile=resolution.profile,
        commits={s.name: s.pin for s in loaded.recipe.sources},
        patch_hash=patch_series_hash(lf.patches) if lf else None,
        base_image=base_image,
        mirrors=dict(mirrors) if mirrors else None,
    )


def record_environment(plan: BuildPlan, backend: str, ref: EnvRef) -> bool:
    """Write the built environment into the lock (when it is not there yet); True when the lock changed."""

    with plan.workspace.locked():
        lf = lock.read_optional(plan.workspace.lockfile)
        if lf is None:
            return False
        # The base of the first build stays recorded (docker refuses a build on another one).
        base = lf.environment.base if lf.environment is not None and lf.environment.base else ref.base_id
        entry = EnvironmentLock(backend=backend, id=ref.id, tag=_portable(ref.location, plan.workspace), base=base)
        if lf.environment == entry:
            return False
        lf.environment = entry
        lock.write(plan.workspace.lockfile, lf)
    return True


def build_environment(
    plan: BuildPlan,
    *,
    backend: str | None = None,
    dry_run: bool = False,
    progress: Progress = _no_progress,
    on_failure: OnFailure | None = None,
    force: bool = False,
    force_step: str | None = None,
) -> BuildResult:
    """Render (always) and build (unless dry_run) the plan's environment; record it in the lock and state.

    force: rerun every native build step (or only `force_step`) in the kept environment (venv, conda).
    """

    held = lock.read_optional(plan.workspace.lockfile)
    locked = held.environment.backend if held is not None and held.environment is not None else None
    name, why = choose_backend(backend, plan, locked=locked)
    impl = get_backend(name)
    forced = forced_steps(plan, force_step) if force or force_step else None
    if forced is not None and name == "docker":
        raise UsageError("build --force: venv and conda only (docker rebuilds the layers whose inputs changed)")
    rendered = impl.render(plan)
    if dry_run:
        return BuildResult(name, why, True, rendered, None, impl.exists(plan) if name != "docker" else False)
    with plan.workspace.locked():
        ref = _build_explained(impl, plan, progress, on_failure, forced)
        lock.read(plan.workspace.lockfile)  # a build needs its lock (a LockError names the path)
        record_environment(plan, name, ref)
        plan.workspace.record_step("build", ref.id, {"backend": name, "location": ref.location})
    return BuildResult(name, why, False, rendered, ref, not ref.built)


def build(
    loaded: LoadedRecipe,
    workspace: Workspace,
    *,
    profile: str | None = None,
    base_image: str | None = None,
    mirrors: Mapping[str, str] | None = None,
    backend: str | None = None,
    dry_run: bool = False,
    progress: Progress = _no_progress,
    force: bool = False,
    force_step: str | None = None,
) -> BuildResult:
    """`legacyrun build`: the plan from the workspace lock, then `build_environment`."""
    plan = plan_from_lock(loaded, workspace, profile=profile, base_image=base_image, mirrors=mirrors)
    return build_environment(
        plan, backend=backend, dry_run=dry_run, progress=progress, force=force, force_step=force_step
    )


def _build_explained(
    impl: Backend, plan: BuildPlan, progress: Progress, on_failure: OnFailure | None, forced: list[str] | None = None
) -> EnvRef:
    """Build; a failure's log goes through the explainer, and the best match becomes the error's hint."""

    matches: list[Match] = []

    def hook(log_text: str) -> None:
        matches.extend(explain_text(log_text, limit=3))
        if on_failure is not None:
            on_failure(log_text)

    try:
        if forced is not None:
            # Only the prefix backends take `force` (checked by the caller).
            return impl.build(plan, progress, on_failure=hook, force=forced)  # type: ignore[call-arg]
        return impl.build(plan, progress, on_failure=hook)
    except BuildError as exc:
        if matches and exc.hint is None:
            best = matches[0]
            fix = fill(best.fix, plan.recipe.recipe.name)
            exc.hint = f"known failure {best.signature_id}: {fix} (details: legacyrun explain LOG)"
        raise


def _portable(location: str, workspace: Workspace) -> str:
    """A prefix inside the workspace is recorded relative to it: the lock must read the same in every workspace."""
    try:
        return Path(location).relative_to(workspace.root).as_posix()
    except ValueError:
        return location


def env_ref_from_lock(workspace: Workspace, recipe: LoadedRecipe | None = None) -> EnvRef | None:
    """The environment the last `build` recorded in legacyrun.lock (what `run`/`up` enter), or None.

    Pass the recipe when you have it: for docker images with native build steps the sources come from the image
    (exec then mounts the rest of the workspace, not src/).
    """

    lf = lock.read_optional(workspace.lockfile)
    if lf is None or lf.environment is None:
        return None
    envl = lf.environment
    location = (
        str(workspace.root / envl.tag) if envl.tag and envl.backend != "docker" else envl.tag or str(workspace.env)
    )
    native = False
    if envl.backend == "docker" and recipe is not None:
        profile = recipe.recipe.env.profiles.get(lf.resolution.profile)
        native = bool(profile and profile.build)
    return EnvRef(envl.backend, envl.id, location, sources_in_env=native)


__all__ = [
    "BuildResult",
    "build",
    "build_environment",
    "env_ref_from_lock",
    "patch_series_hash",
    "plan_for",
    "plan_from_lock",
    "record_environment",
]
