"""The `up` use case: resolve, lock, fetch code, fetch data, patch, build, run, as one chain of skippable steps.

The last step is the `run` use case's core (`usecases.run.run_in_workspace`). `up_ref` is the whole command: a
recipe, a bundle (its lock seeded first) or a repository without a recipe (scaffolded, then retried with known
fixes under --smoke).

Each step declares cheap inputs (no network); the step runner (steps.py) skips a step whose inputs hash and
outputs are unchanged, so a second `up` makes no network request and rebuilds nothing. The whole chain holds the
workspace lock, so a second legacyrun process on the same workspace waits or refuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legacyrun import fetch  # its steps' modules load on first use (fetch/__init__.py): a no-op `up` fetches nothing
from legacyrun.backends import choose_backend, get_backend
from legacyrun.errors import UsageError
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.gitcli import head_commit
from legacyrun.gpus import GpuSelection
from legacyrun.lock import read_optional
from legacyrun.patching.engine import apply, plan_patches
from legacyrun.patching.target import mib_to_gb, target_from_resolution
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.resolution import HostInfo, Resolution
from legacyrun.resolve.engine import resolve
from legacyrun.resolve.locking import stable_host, write_lock
from legacyrun.run.gpus import select_gpus
from legacyrun.run.runner import RunOutcome, needed_datasets, task_command, task_of
from legacyrun.run.steps import Step, StepOutcome, run_steps
from legacyrun.share.bundle import seed_from_bundle
from legacyrun.share.registry import load
from legacyrun.usecases.build import build_environment, plan_for, record_environment
from legacyrun.usecases.patch import record_result
from legacyrun.usecases.run import generate_smoke_data, run_in_workspace, smoke_data_present, smoke_inputs
from legacyrun.workspace import Workspace


@dataclass
class UpRequest:
    """What the user asked `up` to do."""

    loaded: LoadedRecipe
    ws: Workspace
    host: HostInfo
    task: str | None = None
    profile: str | None = None
    pins: dict[str, str] = field(default_factory=dict)  # --pin NAME=VERSION for the resolver
    smoke: bool = False  # generated data and the task's smoke arguments instead of the real datasets
    backend: str | None = None
    gpus: str | None = None
    base_image: str | None = None
    mirror_values: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)
    dry_run: bool = False
    force: bool = False
    wait: float = 0.0


@dataclass
class UpResult:
    """What `up` did, step by step, and the run's outcome."""

    steps: list[StepOutcome]
    task: str
    backend: str | None = None
    backend_why: str | None = None
    resolution: Resolution | None = None
    gpus: GpuSelection | None = None
    run: RunOutcome | None = None
    notes: list[str] = field(default_factory=list)
    # The adapted values when the patch step ran (key, where, old, new, rule, why), as provenance records them.
    adaptation: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0  # the whole command, retries of `up URL --smoke` included
    fixes: list[str] | None = None  # `up URL`: the known fixes applied (None for a recipe)

    @property
    def exit_code(self) -> int:
        return self.run.exit_code if self.run is not None else 0

    def to_json(self) -> dict[str, Any]:
        """`legacyrun up --json`'s result."""
        return {
            "task": self.task,
            "backend": self.backend,
            "profile": self.resolution.profile if self.resolution else None,
            "steps": [
                {"step": s.name, "status": s.status, "seconds": round(s.seconds, 3), "detail": s.detail}
                for s in self.steps
            ],
            "adaptation": self.adaptation,
            "run": None
            if self.run is None
            else {
                "run_id": self.run.run_id,
                "exit_code": self.run.exit_code,
                "provenance": str(self.run.provenance_path),
            },
            "seconds": round(self.seconds, 3),
            **({"fixes": self.fixes} if self.fixes is not None else {}),
        }


def default_task(loaded: LoadedRecipe, task: str | None) -> str:
    recipe = loaded.recipe
    name = task or recipe.default_task or ("train" if "train" in recipe.tasks else None)
    if name is None:
        raise UsageError(f"recipe {recipe.name} has no default task; pass --task (tasks: {', '.join(recipe.tasks)})")
    if name not in recipe.tasks:
        raise UsageError(f"recipe {recipe.name} has no task {name!r} (tasks: {', '.join(sorted(recipe.tasks))})")
    return name


class _Chain:
    """The concrete steps; state shared between them lives here (the resolution, the built env)."""

    def __init__(self, req: UpRequest, task: str, on_line: Callable[[str], None] | None, progress: Any) -> None:

        self.req = req
        self.task = task
        self.on_line = on_line
        self.progress = progress
        self.mirrors = Mirrors.from_environment(req.mirror_values)
        self.resolution: Resolution | None = None
        self.gpus = select_gpus(req.gpus, req.host.gpus)
        self.backend_name: str | None = None
        self.backend_why: str | None = None
        self.notes: list[str] = []
        self.adapt_rows: list[dict[str, str]] = []
        self.smoke_info: dict[str, Any] | None = None
        self._plan: tuple[Resolution, Any] | None = None

    # -- resolve + lock ----------------------------------------------------------------------------------------
    def lock_inputs(self) -> Any:

        return {
            "recipe": self.req.loaded.hash,
            "profile": self.req.profile,
            "host": stable_host(self.req.host).model_dump(mode="json"),
            **({"pins": self.req.pins} if self.req.pins else {}),
        }

    def current_lock_resolution(self) -> Resolution | None:
        """A lock made from this very recipe is kept as it is: reproducing it is the point of a lock."""

        lock = read_optional(self.req.ws.lockfile)
        if lock is None or lock.recipe_hash != self.req.loaded.hash:
            return None
        if self.req.profile is not None and lock.resolution.profile != self.req.profile:
            return None
        if self.req.pins and lock.resolution.pins != self.req.pins:
            return None
        return lock.resolution

    def lock_run(self) -> dict[str, Any]:

        kept = self.current_lock_resolution()
        if kept is not None:
            self.resolution = kept
            return {"summary": f"kept {self.req.ws.lockfile.name} (profile {kept.profile})", "profile": kept.profile}
        res = resolve(self.req.loaded, self.req.host, profile=self.req.profile, pins=self.req.pins)
        write_lock(self.req.loaded, res, self.req.ws)
        self.resolution = res
        return {"summary": f"profile {res.profile}, torch {res.torch}", "profile": res.profile}

    def lock_plan(self) -> str:
        res = self.ensure_resolution()
        return f"profile {res.profile}: python {res.python}, torch {res.torch}, " + (
            f"CUDA {res.cuda}" if res.cuda else "CPU"
        )

    def code_plan(self) -> str:
        return ", ".join(
            f"{s.name}@{s.commit[:10]}" if s.commit else f"{s.name} {s.origin}" for s in self.req.loaded.recipe.sources
        )

    def data_plan(self) -> str:
        return ", ".join(self.datasets()) or "no datasets needed"

    def build_describe(self) -> str:
        self.backend()
        return f"{self.backend_name} ({self.backend_why})"

    def ensure_resolution(self) -> Resolution:
        if self.resolution is None:
            self.resolution = self.current_lock_resolution()
        if self.resolution is None:
            self.resolution = resolve(self.req.loaded, self.req.host, profile=self.req.profile, pins=self.req.pins)
        return self.resolution

    # -- fetch ---------------------------------------------------------------------------------------------------
    def code_inputs(self) -> Any:
        return {"sources": [(s.name, s.url, s.commit, s.submodules) for s in self.req.loaded.recipe.sources]}

    def code_ok(self, _outputs: dict[str, Any]) -> bool:
        return all((self.req.ws.source_dir(s.name) / ".git").exists() for s in self.req.loaded.recipe.sources)

    def code_run(self) -> dict[str, Any]:

        results = fetch.fetch_code(self.req.loaded, self.req.ws, mirrors=self.mirrors, progress=self.progress)
        return {"summary": ", ".join(f"{r.name}@{r.commit[:10]}" for r in results)}

    def datasets(self) -> list[str]:
        """The datasets this run needs (smoke: the smoke list; else the task's, less weights overridden away)."""

        _task, argv, _cwd, _env = task_command(
            self.req.loaded, self.req.ws, self.task, self.gpus, extra_args=self.req.extra_args, smoke=self.req.smoke
        )
        return needed_datasets(self.req.loaded, self.req.ws, self.task, argv, smoke=self.req.smoke)

    def data_inputs(self) -> Any:
        recipe = self.req.loaded.recipe
        return {"datasets": [recipe.dataset(n).model_dump(mode="json") for n in self.datasets()]}

    def data_ok(self, _outputs: dict[str, Any]) -> bool:

        recipe = self.req.loaded.recipe
        return all(fetch.dataset_present(self.req.ws, recipe.dataset(n)) for n in self.datasets())

    # -- smoke data ------------------------------------------------------------------------------------------------
    def smoke_inputs(self) -> Any:

        task_of(self.req.loaded, self.task, smoke=True)  # a task without smoke settings stops here
        return {"data": smoke_inputs(self.req.loaded)}

    def smoke_ok(self, _outputs: dict[str, Any]) -> bool:

        if not smoke_data_present(self.req.loaded, self.req.ws):
            return False
        # every output is in place, so this only reads the markers: what this task's provenance records
        self.smoke_info = generate_smoke_data(self.req.loaded, self.req.ws, self.task)
        return True

    def smoke_run(self) -> dict[str, Any]:

        self.smoke_info = generate_smoke_data(self.req.loaded, self.req.ws, self.task)
        data = self.smoke_info["data"]
        return {"summary": ", ".join(f"{d['generator']} ({d['count']} files)" for d in data) or "none", "data": data}

    def smoke_plan(self) -> str:
        inputs = self.smoke_inputs()["data"]
        return ", ".join(f"{d['generator']} -> smoke/{d['dest']}" for d in inputs) or "no generated data"

    def data_run(self) -> dict[str, Any]:
        names = self.datasets()
        if not names:
            return {"summary": "no datasets needed"}

        results = fetch.fetch_data(
            self.req.loaded, self.req.ws, names=names, mirrors=self.mirrors, progress=self.progress
        )
        return {"summary": ", ".join(r.name for r in results)}

    # -- patch -----------------------------------------------------------------------------------------------------
    def target(self) -> Any:

        return target_from_resolution(self.ensure_resolution(), self.gpus.count, mib_to_gb(self.gpus.memory_mib))

    def patch_inputs(self) -> Any:

        plan = plan_patches(self.req.loaded, self.req.ws, self.target())
        series = [(s.name, s.pinned, [(p.id, p.hash) for p in s.patches]) for s in plan.sources]
        return {"series": series, "gpus": self.gpus.count}

    def patch_ok(self, outputs: dict[str, Any]) -> bool:
        """Skipped only while each tree is still at the head the last patch run left (no revert since)."""

        heads = outputs.get("heads") or {}
        for name, head in heads.items():
            source = self.req.ws.source_dir(name)
            if not source.is_dir() or head_commit(source) != head:
                return False
        return bool(heads)

    def patch_run(self) -> dict[str, Any]:

        plan = plan_patches(self.req.loaded, self.req.ws, self.target())
        result = apply(plan, force=self.req.force)
        record_result(self.req.ws, self.req.loaded, result)
        if result.adapt is not None:
            self.adapt_rows = [
                {"key": r.key, "where": r.where, "old": r.old, "new": r.new, "rule": r.rule, "why": r.why}
                for r in result.adapt.rows
            ]
        return {"summary": result.summary(), "heads": {s.source: s.head for s in result.sources}}

    # -- build -------------------------------------------------------------------------------------------------------
    def build_plan(self) -> Any:
        """The plan for the current resolution (made once: the build step's check and the run both use it)."""

        res = self.ensure_resolution()
        if self._plan is None or self._plan[0] is not res:
            mirrors = self.mirrors.as_mapping() or None
            plan = plan_for(self.req.loaded, self.req.ws, res, base_image=self.req.base_image, mirrors=mirrors)
            self._plan = (res, plan)
        return self._plan[1]

    def backend(self) -> Any:

        if self.backend_name is None:
            held = read_optional(self.req.ws.lockfile)
            locked = held.environment.backend if held is not None and held.environment is not None else None
            self.backend_name, self.backend_why = choose_backend(self.req.backend, locked=locked)
            if self.req.backend is None:
                self.notes.append(f"backend {self.backend_name}: {self.backend_why}")
        return get_backend(self.backend_name)

    def build_inputs(self) -> Any:
        backend = self.backend()
        return {"backend": backend.name, "env_id": backend.render(self.build_plan()).env_id}

    def build_ok(self, _outputs: dict[str, Any]) -> bool:
        """Built, and recorded in the lock (a re-lock after a recipe edit refills the environment entry)."""

        plan = self.build_plan()
        backend = self.backend()
        if not backend.exists(plan):
            return False
        record_environment(plan, backend.name, backend.ref(plan))
        return True

    def build_run(self) -> dict[str, Any]:

        result = build_environment(
            self.build_plan(), backend=self.backend_name, progress=self.on_line or (lambda _line: None)
        )
        env = result.env
        return {"summary": f"{result.backend} {env.location if env else ''}".strip()}

    # -- run ---------------------------------------------------------------------------------------------------------
    def run_task(self) -> RunOutcome:

        return run_in_workspace(
            self.req.loaded,
            self.req.ws,
            self.task,
            resolution=self.ensure_resolution(),
            backend=self.backend(),
            plan=self.build_plan(),
            gpus=self.gpus,
            extra_args=self.req.extra_args,
            on_line=self.on_line,
            smoke=self.smoke_info if self.req.smoke else None,
        )


def up(
    req: UpRequest,
    *,
    on_step: Callable[[StepOutcome], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    on_line: Callable[[str], None] | None = None,
    progress: Any = None,
) -> UpResult:
    """The whole chain under the workspace lock; the run step always runs (unless --dry-run)."""
    task = default_task(req.loaded, req.task)
    if req.smoke:
        task_of(req.loaded, task, smoke=True)  # a task without smoke settings stops before any step runs
    req.ws.root.mkdir(parents=True, exist_ok=True)
    with req.ws.locked(wait=req.wait):
        chain = _Chain(req, task, on_line, progress)
        steps = [
            Step(
                "lock", chain.lock_inputs, chain.lock_run, lambda _o: req.ws.lockfile.exists(), False, chain.lock_plan
            ),
            Step("fetch-code", chain.code_inputs, chain.code_run, chain.code_ok, False, chain.code_plan),
            Step("fetch-data", chain.data_inputs, chain.data_run, chain.data_ok, False, chain.data_plan),
            *(
                [Step("smoke-data", chain.smoke_inputs, chain.smoke_run, chain.smoke_ok, False, chain.smoke_plan)]
                if req.smoke
                else []
            ),
            Step("patch", chain.patch_inputs, chain.patch_run, chain.patch_ok),
            Step("build", chain.build_inputs, chain.build_run, chain.build_ok, False, chain.build_describe),
        ]
        outcomes = run_steps(
            req.ws, steps, record_prefix="up.", dry_run=req.dry_run, on_step=on_step, on_start=on_start
        )
        result = UpResult(
            outcomes, task, resolution=chain.resolution, gpus=chain.gpus, notes=chain.notes, adaptation=chain.adapt_rows
        )
        result.backend, result.backend_why = chain.backend_name, chain.backend_why
        if req.dry_run:
            planned = StepOutcome("run", "planned", 0.0, f"task {task} on {chain.gpus.describe()}")
            result.steps.append(planned)
            if on_step is not None:
                on_step(planned)
            return result
        if on_start is not None:
            on_start("run")
        result.run = chain.run_task()
        run_outcome = StepOutcome(
            "run", "done" if result.run.exit_code == 0 else "failed", result.run.seconds, f"exit {result.run.exit_code}"
        )
        result.steps.append(run_outcome)
        if on_step is not None:
            on_step(run_outcome)
        return result


def workspace_of(loaded: LoadedRecipe, workspace: Path | None) -> Workspace:
    return Workspace.at(workspace if workspace is not None else Path.cwd() / loaded.recipe.name)


def up_ref(
    ref: str,
    request: Callable[[LoadedRecipe, Workspace], UpRequest],
    *,
    workspace_for: Callable[[str], Workspace],
    approve: Callable[[LoadedRecipe], None],
    mirror_values: list[str] | None = None,
    on_scaffolded: Callable[[Path, Any], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    on_step: Callable[[StepOutcome], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    on_line: Callable[[str], None] | None = None,
    progress: Callable[[], AbstractContextManager[Any]] | None = None,
) -> UpResult:
    """`legacyrun up REF` for a recipe (name or path) or a bundle (`.tar.gz`, its lock placed in the workspace
    first); a repository without a recipe is `usecases.upurl.up_url` (same arguments).

    `request` makes the UpRequest for the loaded recipe and its workspace (`workspace_for` maps a recipe name to
    it), `approve` is the trust check before anything runs the recipe's commands; `progress` makes the progress
    display for the chain (started after the trust question).
    """
    del mirror_values, on_scaffolded, on_note  # up_url's; one signature for both, so the CLI picks either
    loaded = load(ref)
    approve(loaded)
    ws = workspace_for(loaded.recipe.name)
    if ref.endswith(".tar.gz"):
        seed_from_bundle(ws, Path(ref))  # `up FILE.tar.gz` reproduces the bundle's lock
    req = request(loaded, ws)
    started = time.monotonic()
    with progress() if progress is not None else nullcontext(None) as bars:
        result = up(req, on_step=on_step, on_start=on_start, on_line=on_line, progress=bars)
    result.seconds = time.monotonic() - started
    return result


__all__ = ["UpRequest", "UpResult", "default_task", "up", "up_ref", "workspace_of"]
