"""The `run` use case: a task in the environment `up`/`build` left, and the run step of `up` (`run_in_workspace`).

`run` picks the backend by the one rule CLI > lock > auto (`choose_backend` after the lock's entry), re-adapts the
patched tree to the selected GPUs and generates smoke data; `up` has done those as its own steps before its run
step, so it calls `run_in_workspace` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legacyrun.backends import choose_backend, get_backend
from legacyrun.errors import BuildError, PatchError
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.fetch.release import pinned_commit
from legacyrun.gitcli import head_commit
from legacyrun.gpus import GpuSelection
from legacyrun.invocation import command
from legacyrun.lock import read, read_optional
from legacyrun.patching.adapt import plan_adaptation
from legacyrun.patching.engine import applied_ids, apply, plan_patches
from legacyrun.patching.target import mib_to_gb, target_from_resolution
from legacyrun.proc import Stream
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.resolution import HostInfo, Resolution
from legacyrun.run.gpus import select_gpus
from legacyrun.run.runner import RunOutcome, run_task, task_of
from legacyrun.smoke import generate
from legacyrun.smoke.core import MARKER
from legacyrun.usecases.build import plan_for
from legacyrun.usecases.patch import record_result
from legacyrun.workspace import Workspace


def gpu_target(resolution: Resolution, gpus: GpuSelection) -> Any:
    """The patch target for the selected GPUs: their count and the memory of the smallest one."""

    return target_from_resolution(resolution, gpus.count, mib_to_gb(gpus.memory_mib))


def adaptation_overrides(
    loaded: LoadedRecipe, ws: Workspace, resolution: Resolution, gpus: GpuSelection
) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """The task argv additions (detectron2-style KEY VALUE) and the table rows for the chosen GPU count."""
    if loaded.recipe.adapt is None:
        return {}, []

    plan = plan_adaptation(loaded, gpu_target(resolution, gpus), ws)
    rows = [
        {"key": r.key, "where": r.where, "old": r.old, "new": r.new, "rule": r.rule, "why": r.why} for r in plan.rows
    ]
    return plan.overrides, rows


def readapt(
    loaded: LoadedRecipe,
    ws: Workspace,
    resolution: Resolution,
    gpus: GpuSelection,
    *,
    sources_in_env: bool,
    spec: str | None = None,
) -> str | None:
    """Bring the adaptation of the patched tree to the selected GPUs before a task runs (`run --gpus 1` after
    `up --gpus 2`): the adapt commit is replaced by the one for this selection, as its own commit.

    Returns what was done (None: nothing to do). An image that holds the sources cannot be edited in place, so
    there the answer is a PatchError naming the command that re-adapts and rebuilds.
    """
    recipe = loaded.recipe
    if recipe.adapt is None:
        return None

    main = recipe.sources[0]
    applied = applied_ids(ws.source_dir(main.name), pinned_commit(main, ws.source_dir(main.name)))
    if not applied:
        return None  # never patched (or reverted on purpose): the user's choice, not ours to redo
    plan = plan_patches(loaded, ws, gpu_target(resolution, gpus))
    wanted = [(p.id, p.hash) for sp in plan.sources if sp.name == main.name for p in sp.patches if p.kind == "adapt"]
    current = [pid for pid in applied if pid.startswith("adapt-")]
    if [pid for pid, _h in wanted] == current:
        return None
    was = current[0] if current else "no adaptation"
    now = wanted[0][0] if wanted else "no adaptation"
    if sources_in_env:
        raise PatchError(
            f"the sources in the image are adapted for {was}, this run asks for {now}",
            hint=command("up", recipe.name, "--gpus", spec or str(gpus.count)) + " (re-adapts and rebuilds)",
        )
    record_result(ws, loaded, apply(plan))
    return f"re-adapted {main.name}: {was} -> {now}"


def _heads(loaded: LoadedRecipe, ws: Workspace) -> dict[str, str]:
    """The commit each source tree is at when the task starts (the pinned commit plus legacyrun's patches)."""

    heads: dict[str, str] = {}
    for src in loaded.recipe.sources:
        head = head_commit(ws.source_dir(src.name))  # from .git's files when it can: no git process per source
        if head is not None:
            heads[src.name] = head
    return heads


def provenance_base(
    loaded: LoadedRecipe, ws: Workspace, resolution: Resolution, env_info: Mapping[str, Any], host: HostInfo | None
) -> dict[str, Any]:
    """What provenance records besides the run itself: lock, content ids, environment, host."""

    lock = read_optional(ws.lockfile)
    probed = host or resolution.host
    gpu = probed.gpus[0] if probed.gpus else None
    return {
        "lock": lock.model_dump(mode="json") if lock else None,
        "sources": dict(lock.sources) if lock and lock.sources else {s.name: s.commit for s in loaded.recipe.sources},
        "patched_heads": _heads(loaded, ws),
        "patches": dict(lock.patches) if lock else {},
        "datasets": {name: dict(d.files) for name, d in lock.datasets.items()} if lock else {},
        "environment": dict(env_info),
        "host": {
            "gpus": [g.model_dump(mode="json") for g in probed.gpus],
            "gpu": gpu.name if gpu else None,
            "compute_capability": gpu.compute_capability if gpu else None,
            "driver": probed.driver,
            "cuda_driver_max": probed.cuda_driver_max,
            "cuda": resolution.cuda,
            "torch": resolution.torch,
            "profile": resolution.profile,
            "assumed": probed.assumed,
        },
    }


def run_in_workspace(
    loaded: LoadedRecipe,
    ws: Workspace,
    task: str,
    *,
    resolution: Resolution,
    backend: Any,
    plan: Any,
    gpus: GpuSelection,
    extra_args: list[str] | None = None,
    host: HostInfo | None = None,
    on_line: Callable[[str], None] | None = None,
    smoke: Mapping[str, Any] | None = None,
) -> RunOutcome:
    """Run `task` in the environment `backend` built for `plan` (`smoke`: the generated data of a smoke run)."""
    if not backend.exists(plan):
        raise BuildError(
            f"the {backend.name} environment for {loaded.recipe.name} is not built (or is out of date)",
            hint=f"{command('build', loaded.recipe.name, '--backend', backend.name)}, "
            f"or {command('up', loaded.recipe.name)}",
        )
    env_ref = backend.ref(plan)
    overrides, rows = adaptation_overrides(loaded, ws, resolution, gpus)

    def executor(argv: list[str], *, cwd: Path, env: Mapping[str, str], gpus: GpuSelection) -> Stream:
        return backend.exec(env_ref, argv, cwd=cwd, env=dict(env), gpus=gpus, workspace=ws)

    profile_env = dict(loaded.recipe.env.profiles[resolution.profile].env)
    base = provenance_base(loaded, ws, resolution, env_ref.to_json(), host)
    base["adaptation"] = rows
    return run_task(
        loaded,
        ws,
        task,
        executor=executor,
        gpus=gpus,
        provenance_base=base,
        extra_args=extra_args,
        cli_overrides=list(overrides.get(task, [])),
        profile_env=profile_env,
        on_line=on_line,
        smoke=smoke,
    )


@dataclass
class RunRequest:
    """What `legacyrun run` asked for."""

    loaded: LoadedRecipe
    ws: Workspace
    task: str
    host: HostInfo
    gpus: str | None = None
    backend: str | None = None
    mirror_values: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)
    smoke: bool = False


def run(req: RunRequest, *, on_line: Callable[[str], None] | None = None) -> RunOutcome:
    """`legacyrun run`: the last step of `up` on its own, over the lock and environment `up`/`build` left.

    It makes its BuildPlan the way `up` does (`plan_for`, mirrors from --mirror, LEGACYRUN_MIRRORS and the config
    file), so an environment built through a mirror is found again without one.
    """

    with req.ws.locked():
        lock = read(req.ws.lockfile)
        mirrors = Mirrors.from_environment(req.mirror_values)
        plan = plan_for(req.loaded, req.ws, lock.resolution, mirrors=mirrors.as_mapping() or None)
        locked = lock.environment.backend if lock.environment else None
        name, _why = choose_backend(req.backend, plan, locked=locked)
        selection = select_gpus(req.gpus, req.host.gpus)
        backend = get_backend(name)
        note = readapt(
            req.loaded,
            req.ws,
            lock.resolution,
            selection,
            sources_in_env=backend.ref(plan).sources_in_env,
            spec=req.gpus,
        )
        if note is not None and on_line is not None:
            on_line(f"legacyrun: {note}")
        smoke = generate_smoke_data(req.loaded, req.ws, req.task) if req.smoke else None
        return run_in_workspace(
            req.loaded,
            req.ws,
            req.task,
            resolution=lock.resolution,
            backend=backend,
            plan=plan,
            gpus=selection,
            extra_args=req.extra_args,
            host=req.host,
            on_line=on_line,
            smoke=smoke,
        )


def _recipe_smoke_data(loaded: LoadedRecipe) -> list[Any]:
    """Every task's SmokeData, one per destination (tasks sharing generated data name the same entry)."""
    seen: dict[str, Any] = {}
    for name in sorted(loaded.recipe.tasks):
        spec = loaded.recipe.tasks[name].smoke
        for d in spec.data if spec else []:
            seen.setdefault(d.dest, d)
    return list(seen.values())


def smoke_entries(loaded: LoadedRecipe, ws: Workspace, task: str | None) -> list[Any]:
    """(SmokeData, dest) of one task, or of every task of the recipe (task None)."""

    if task is None:
        data = _recipe_smoke_data(loaded)
    else:
        spec = task_of(loaded, task, smoke=True).smoke
        data = list(spec.data) if spec else []
    return [(d, ws.smoke_dir(d.dest)) for d in data]


def smoke_inputs(loaded: LoadedRecipe) -> list[dict[str, Any]]:
    """What the smoke data step generates: every task's smoke data (tiny), so a second task finds it in place."""
    return [d.model_dump(mode="json") for d in _recipe_smoke_data(loaded)]


def smoke_data_present(loaded: LoadedRecipe, ws: Workspace, task: str | None = None) -> bool:
    """Every generated dataset (of `task`, or of the whole recipe) is in place: a complete generator output."""

    return all((dest / MARKER).is_file() for _d, dest in smoke_entries(loaded, ws, task))


def generate_smoke_data(loaded: LoadedRecipe, ws: Workspace, task: str) -> dict[str, Any]:
    """Write the recipe's smoke datasets under <workspace>/smoke/ (a no-op for outputs already there); returns
    what `task` uses, for its provenance."""

    done = {dest: generate(d.generator, dest, d.options) for d, dest in smoke_entries(loaded, ws, None)}
    return {"data": [done[dest].to_dict() for _d, dest in smoke_entries(loaded, ws, task)]}


__all__ = [
    "RunRequest",
    "adaptation_overrides",
    "generate_smoke_data",
    "gpu_target",
    "provenance_base",
    "readapt",
    "run",
    "run_in_workspace",
    "smoke_data_present",
    "smoke_entries",
    "smoke_inputs",
]
