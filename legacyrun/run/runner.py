"""Run one recipe task in a built environment: expand its argv, set the GPU selection for the task and every
process it spawns, stream and save its output, write provenance, and pass its exit code through."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from legacyrun.diagnose import explain_file
from legacyrun.errors import RunError, UsageError
from legacyrun.fetch.presence import dataset_present
from legacyrun.gpus import GpuSelection
from legacyrun.invocation import command
from legacyrun.proc import Stream
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.recipe.models import Task
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

    def to_json(self) -> dict[str, Any]:
        """`legacyrun run --json`'s result."""
        return {
            "run_id": self.run_id,
            "exit_code": self.exit_code,
            "log": str(self.log_path),
            "provenance": str(self.provenance_path),
            "seconds": round(self.seconds, 3),
        }


def expand(value: str, values: Mapping[str, str]) -> str:
    """Replace {name} placeholders that legacyrun knows; leave any other braces alone (shell, Python format)."""
    for key, replacement in values.items():
        value = value.replace("{" + key + "}", replacement)
    return value


def task_values(ws: Workspace, gpus: GpuSelection, run_dir: Path | None = None) -> dict[str, str]:
    """The {placeholders} of task argv and env; {run_dir} is runs/<id> (outputs of one run stay apart)."""
    return {
        "run_dir": str(run_dir if run_dir is not None else ws.runs / "<run>"),
        "gpus": str(gpus.count),
        "data_root": str(ws.data),
        "workspace": str(ws.root),
        "smoke": str(ws.root / "smoke"),
        "device": "cuda" if gpus.ids else "cpu",
        "python": "python",
    }


# A yacs/detectron2 config key as written on a command line (MODEL.WEIGHTS, SOLVER.BASE_LR): upper case and dotted,
# so that file names such as R-50.pkl or README.md never count as one.
_CONFIG_KEY = re.compile(r"^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)+$")


def is_config_key(arg: str) -> bool:
    return bool(_CONFIG_KEY.match(arg))


def split_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(options with their values, KEY VALUE config pairs) of an argument list, each in its order."""
    flags: list[str] = []
    pairs: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if is_config_key(arg) and i + 1 < len(args):
            pairs += [arg, args[i + 1]]
            i += 2
            continue
        flags.append(arg)
        i += 1
        takes_value = arg.startswith("-") and "=" not in arg
        if takes_value and i < len(args) and not args[i].startswith("-") and not is_config_key(args[i]):
            flags.append(args[i])
            i += 1
    return flags, pairs


def merge_args(base: Sequence[str], *additions: Sequence[str]) -> list[str]:
    """The task's argv with additions: options go before its first KEY VALUE pair, pairs at the end.

    detectron2 and maskrcnn_benchmark read `opts` with argparse.REMAINDER, so an option placed after the first
    KEY VALUE pair is swallowed as a config key (`AssertionError: Non-existent key: --num-gpus`). Later pairs win
    over earlier ones (yacs merges them in order), which is how smoke arguments override the task's own.
    """
    first_key = next((i for i, a in enumerate(base) if is_config_key(a)), len(base))
    head, tail = list(base[:first_key]), list(base[first_key:])
    for extra in additions:
        flags, pairs = split_args(extra)
        head += flags
        tail += pairs
    return head + tail


def config_values(argv: Sequence[str]) -> dict[str, str]:
    """The last value given to each KEY of the KEY VALUE pairs in an argv (what yacs ends up with)."""
    _flags, pairs = split_args(argv)
    return {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}


def task_command(
    loaded: LoadedRecipe,
    ws: Workspace,
    task_name: str,
    gpus: GpuSelection,
    *,
    extra_args: list[str] | None = None,
    cli_overrides: list[str] | None = None,
    profile_env: Mapping[str, str] | None = None,
    smoke: bool = False,
    run_dir: Path | None = None,
) -> tuple[Task, list[str], Path, dict[str, str]]:
    """The task, its expanded argv, working directory and environment overrides."""
    task = task_of(loaded, task_name, smoke=smoke)
    values = task_values(ws, gpus, run_dir)
    smoke_args = [expand(a, values) for a in task.smoke.args] if smoke and task.smoke else []
    argv = merge_args(
        [expand(a, values) for a in task.argv], list(cli_overrides or []), smoke_args, list(extra_args or [])
    )
    cwd = ws.resolve_inside(f"src/{task.source}/{task.cwd}")
    env: dict[str, str] = {k: expand(v, values) for k, v in (profile_env or {}).items()}
    env.update({k: expand(v, values) for k, v in task.env.items()})
    if smoke and task.smoke:
        env.update({k: expand(v, values) for k, v in task.smoke.env.items()})
        env["LEGACYRUN_SMOKE"] = "1"
    env.update(gpus.task_env())
    env["LEGACYRUN_GPUS"] = str(gpus.count)
    env["PYTHONUNBUFFERED"] = "1"
    return task, argv, cwd, env


def task_of(loaded: LoadedRecipe, task_name: str, *, smoke: bool = False) -> Task:
    """The named task; with smoke, one that says how to run in smoke mode."""
    recipe = loaded.recipe
    if task_name not in recipe.tasks:
        names = ", ".join(sorted(recipe.tasks)) or "none"
        raise UsageError(f"recipe {recipe.name} has no task {task_name!r} (tasks: {names})")
    task = recipe.tasks[task_name]
    if smoke and task.smoke is None:
        with_smoke = ", ".join(sorted(n for n, t in recipe.tasks.items() if t.smoke)) or "none"
        raise UsageError(
            f"task {task_name} of recipe {recipe.name} has no smoke settings (tasks with them: {with_smoke})",
            hint="add `smoke:` to the task (docs/recipes.md), or run without --smoke",
        )
    return task


def needed_datasets(
    loaded: LoadedRecipe, ws: Workspace, task_name: str, argv: Sequence[str] | None = None, *, smoke: bool = False
) -> list[str]:
    """Datasets a run needs: the smoke list in smoke mode; otherwise the task's, less weights the argv overrides.

    A weights or checkpoint dataset that the task passes as a KEY VALUE pair (MODEL.WEIGHTS {workspace}/weights/..)
    is not needed when a later pair gives that KEY another value (from --, or the smoke arguments).
    """
    task = task_of(loaded, task_name, smoke=smoke)
    if smoke and task.smoke is not None:
        return list(task.smoke.datasets)
    if argv is None:
        return list(task.datasets)
    final = config_values(argv)
    base = config_values([expand(a, {"workspace": str(ws.root)}) for a in task.argv])
    needed: list[str] = []
    for name in task.datasets:
        ds = loaded.recipe.dataset(name)
        if ds.role in ("weights", "checkpoint"):
            dest = str(ws.resolve_inside(ds.dest))
            keys = [k for k, v in base.items() if dest in v or ds.dest in v]
            if keys and all(final.get(k) != base[k] for k in keys):
                continue
        needed.append(name)
    return needed


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
    smoke: Mapping[str, Any] | None = None,
) -> RunOutcome:
    """Run the task to its end; the outcome carries the task's own exit code.

    `smoke` (what the smoke data step generated) runs the task in smoke mode, recorded as such in provenance.
    """
    run_id = new_run_id(task_name)
    run_dir = ws.runs / run_id
    _task, argv, cwd, env = task_command(
        loaded,
        ws,
        task_name,
        gpus,
        extra_args=extra_args,
        cli_overrides=cli_overrides,
        profile_env=profile_env,
        smoke=smoke is not None,
        run_dir=run_dir,
    )
    needed = needed_datasets(loaded, ws, task_name, argv, smoke=smoke is not None)
    missing = [name for name in needed if not _dataset_present(loaded, ws, name)]
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
    run_dir.mkdir(parents=True, exist_ok=False)
    prov = Provenance(
        run_id=run_id,
        recipe=loaded.recipe.name,
        recipe_hash=loaded.hash,
        task=task_name,
        argv=argv,
        cwd=str(cwd),
        env_overrides=dict(sorted(env.items())),
        gpus=gpus.to_json(),
        smoke=dict(smoke) if smoke is not None else None,
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

    return dataset_present(ws, loaded.recipe.dataset(name))


def _explain(log_path: Path) -> list[Any]:
    return list(explain_file(log_path))[:5]


__all__ = [
    "Executor",
    "RunOutcome",
    "config_values",
    "expand",
    "merge_args",
    "needed_datasets",
    "run_task",
    "split_args",
    "task_command",
    "task_of",
    "task_values",
]
