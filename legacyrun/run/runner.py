"""Run one recipe task in a built environment: expand its argv, set the GPU selection for the task and every
process it spawns, stream and save its output, write provenance, and pass its exit code through."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from legacyrun.errors import RunError, UsageError
from legacyrun.invocation import command
from legacyrun.proc import Stream
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.recipe.models import Task
from legacyrun.run.gpus import GpuSelection
from legacyrun.run.provenance import Provenance, new_run_id
from legacyrun.workspace import Workspace


class Executor(Protocol):
    """What a built environment offers the runner (the backends' exec, bound to one environment)."""

    def __call__(self, argv: list[str], *, cwd: Path, env: Mapping[str, str], gpus: GpuSelection) -> Stream: ...


@dataclass
class RunOutcome:
    """How a task run ended."""

    run_id: str
    run_dir: Path
    exit_code: int
    log_path: Path
    provenance_path: Path
    seconds: float
    tail: list[str] = field(default_factory=list)
    explanations: list[Any] = field(default_factory=list)


def expand(value: str, values: Mapping[str, str]) -> str:
    """Replace {name} placeholders that legacyrun knows; leave any other braces alone (shell, Python format)."""
    for key, replacement in values.items():
        value = value.replace("{" + key + "}", replacement)
    return value


def task_values(ws: Workspace, gpus: GpuSelection) -> dict[str, str]:
    return {
        "gpus": str(gpus.count),
        "data_root": str(ws.data),
        "workspace": str(ws.root),
        "python": "python",
    }


def task_command(
    loaded: LoadedRecipe,
    ws: Workspace,
    task_name: str,
    gpus: GpuSelection,
    *,
    extra_args: list[str] | None = None,
    cli_overrides: list[str] | None = None,
    profile_env: Mapping[str, str] | None = None,
) -> tuple[Task, list[str], Path, dict[str, str]]:
    """The task, its expanded argv, working directory and environment overrides."""
    recipe = loaded.recipe
    if task_name not in recipe.tasks:
        names = ", ".join(sorted(recipe.tasks)) or "none"
        raise UsageError(f"recipe {recipe.name} has no task {task_name!r} (tasks: {names})")
    task = recipe.tasks[task_name]
    values = task_values(ws, gpus)
    argv = [expand(a, values) for a in task.argv] + list(cli_overrides or []) + list(extra_args or [])
    cwd = ws.resolve_inside(f"src/{task.source}/{task.cwd}")
    env: dict[str, str] = {k: expand(v, values) for k, v in (profile_env or {}).items()}
    env.update({k: expand(v, values) for k, v in task.env.items()})
    env["CUDA_VISIBLE_DEVICES"] = gpus.cuda_visible_devices
    env["LEGACYRUN_GPUS"] = str(gpus.count)
    env["PYTHONUNBUFFERED"] = "1"
    return task, argv, cwd, env


def run_task(
    loaded: LoadedRecipe,
    ws: Workspace,
    task_name: str,
    *,
    executor: Executor,
    gpus: GpuSelection,
    provenance_base: Mapping[str, Any],
    extra_args: list[str] | None = None,
    cli_overrides: list[str] | None = None,
    profile_env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Run the task to its end; the outcome carries the task's own exit code."""
    task, argv, cwd, env = task_command(
        loaded, ws, task_name, gpus, extra_args=extra_args, cli_overrides=cli_overrides, profile_env=profile_env
    )
    missing = [name for name in task.datasets if not _dataset_present(loaded, ws, name)]
    if missing:
        raise RunError(
            f"task {task_name} needs dataset(s) not fetched yet: {', '.join(missing)}",
            hint=command("fetch", loaded.recipe.name, "--data", *missing),
        )
    if not cwd.is_dir():
        raise RunError(
            f"task {task_name}: working directory {cwd} does not exist",
            hint=f"run `{command('fetch', loaded.recipe.name)}` first",
        )
    run_id = new_run_id(task_name)
    run_dir = ws.runs / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    prov = Provenance(
        run_id=run_id,
        recipe=loaded.recipe.name,
        recipe_hash=loaded.hash,
        task=task_name,
        argv=argv,
        cwd=str(cwd),
        env_overrides=dict(sorted(env.items())),
        gpus={"count": gpus.count, "ids": list(gpus.ids), "available": gpus.available},
        **dict(provenance_base),
    )
    prov.write(run_dir)
    log_path = run_dir / "log.txt"
    started = time.monotonic()
    stream = executor(argv, cwd=cwd, env=env, gpus=gpus)
    with log_path.open("w", encoding="utf-8") as log:
        try:
            for line in stream:
                log.write(line + "\n")
                log.flush()
                if on_line is not None:
                    on_line(line)
        except KeyboardInterrupt:
            stream.terminate()
            raise
    code = stream.returncode if stream.returncode is not None else 1
    if code < 0:  # killed by a signal: report it the way a shell does
        code = 128 - code
    prov.ended = time.time()
    prov.exit_code = code
    prov_path = prov.write(run_dir)
    outcome = RunOutcome(run_id, run_dir, code, log_path, prov_path, time.monotonic() - started, list(stream.tail))
    if code != 0:
        outcome.explanations = _explain(log_path)
    return outcome


def _dataset_present(loaded: LoadedRecipe, ws: Workspace, name: str) -> bool:
    ds = loaded.recipe.dataset(name)
    dest = ws.resolve_inside(ds.dest)
    return dest.exists() and any(dest.iterdir()) if dest.is_dir() else dest.exists()


def _explain(log_path: Path) -> list[Any]:
    try:
        from legacyrun.run.explain import explain_file
    except ImportError:  # explain ships in the same package; guard only against a partial install
        return []
    return list(explain_file(log_path))[:5]


__all__ = ["Executor", "RunOutcome", "expand", "run_task", "task_command", "task_values"]
