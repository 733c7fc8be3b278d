"""The adapt plan is read from the pinned commit with two git calls, remembered, and then costs none; it equals
the plan made by reading each file with `git show` (the way it was read before), CRLF files included."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from patching.patchkit import LEGACY_FILES, Project

from legacyrun import memo, proc
from legacyrun.gitcli import GitRepo
from legacyrun.patching.adapt import AdaptPlan, compute, plan_adaptation
from legacyrun.patching.target import Target

ADAPT = """\
adapt:
  reference_gpus: 8
  keys:
    - {key: SOLVER.IMS_PER_BATCH, format: yaml, files: ["configs/*.yaml"], rule: linear}
    - {key: SOLVER.BASE_LR, format: yaml, files: ["configs/*.yaml"], rule: linear}
    - {key: MODEL.RESNETS.NORM, format: yaml, files: ["configs/*.yaml"], rule: syncbn}
    - {key: --nproc_per_node, format: shell, files: [train.sh], rule: launcher}
    - {key: NUM_WORKERS, format: python, files: [tools/train_net.py], rule: gpus}
    - {key: SOLVER.IMS_PER_BATCH, format: cli, tasks: [train], files: ["configs/*.yaml"], rule: linear}
    - {key: SOLVER.MISSING, format: yaml, files: ["nowhere/*.yaml"], rule: linear}
"""
FILES = {
    **LEGACY_FILES,
    # Windows line endings: read as a text pipe reads them (universal newlines), as before.
    "configs/crlf.yaml": "SOLVER:\r\n  IMS_PER_BATCH: 32\r\n  BASE_LR: 0.04\r\n",
}


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, ...]]]:
    """argv of every git command legacyrun starts (the real command still runs)."""
    calls: list[tuple[str, ...]] = []
    real_run, real_bytes = proc.run, proc.run_bytes

    def run(argv: Any, **kw: Any) -> Any:
        calls.append(tuple(map(str, argv)))
        return real_run(argv, **kw)

    def run_bytes(argv: Any, **kw: Any) -> Any:
        calls.append(tuple(map(str, argv)))
        return real_bytes(argv, **kw)

    monkeypatch.setattr(proc, "run", run)
    monkeypatch.setattr(proc, "run_bytes", run_bytes)
    yield calls


def _table(plan: AdaptPlan) -> tuple[Any, ...]:
    return plan.edits, plan.overrides, plan.rows


def test_plan_is_read_in_two_calls_then_remembered(
    project: Callable[..., Project], git_calls: list[tuple[str, ...]]
) -> None:
    p = project(FILES)
    loaded = p.write_recipe(adapt=ADAPT)
    target = Target(profile="modern", torch="2.1", gpus=2)
    memo.forget_memory()
    git_calls.clear()
    first = plan_adaptation(loaded, target, p.ws)
    assert all(Path(c[0]).name == "git" for c in git_calls), git_calls  # argv[0]: git's path on PATH
    commands = [c[1:] for c in git_calls]
    assert len(commands) == 2, commands
    assert "ls-tree" in commands[0] and commands[1][-2:] == ("cat-file", "--batch")

    # Before: `git show COMMIT:FILE` per file, through a text pipe.
    repo = GitRepo(p.src)
    names = [n for n in repo.out("ls-tree", "-r", "-z", "--name-only", p.pinned).split("\0") if n]

    def show(rel: str) -> str | None:
        done = repo.run("show", f"{p.pinned}:{rel}", check=False)
        return done.stdout if done.ok else None

    assert loaded.recipe.adapt is not None
    before = AdaptPlan(2, 8, "proj", loaded.recipe.adapt, target)
    compute(before, names, show, {n: list(t.argv) for n, t in loaded.recipe.tasks.items()})
    assert _table(first) == _table(before)
    assert any(rel == "configs/crlf.yaml" for rel in first.edits)
    assert first.edits["configs/crlf.yaml"][0] == "SOLVER:\n  IMS_PER_BATCH: 32\n  BASE_LR: 0.04\n"

    git_calls.clear()
    again = plan_adaptation(loaded, target, p.ws)
    assert git_calls == [] and _table(again) == _table(first)
    memo.forget_memory()  # a new process: the plan comes from the user cache
    again = plan_adaptation(loaded, target, p.ws)
    assert git_calls == [] and _table(again) == _table(first)

    # A damaged entry is a miss: read again.
    for entry in (Path(os.environ["LEGACYRUN_CACHE_DIR"]) / "memo" / "adapt").glob("*.json"):
        entry.write_text('{"value": {"edits": 5}}', encoding="utf-8")
    memo.forget_memory()
    again = plan_adaptation(loaded, target, p.ws)
    assert len(git_calls) == 2 and _table(again) == _table(first)
    git_calls.clear()

    # Another GPU count is another plan.
    other = plan_adaptation(loaded, Target(profile="modern", torch="2.1", gpus=4), p.ws)
    assert len(git_calls) == 2 and _table(other) != _table(first)


def test_a_missing_commit_reads_no_files(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT.split("    - {key: SOLVER.IMS_PER_BATCH, format: cli", maxsplit=1)[0])
    text = p.recipe_path.read_text(encoding="utf-8").replace(p.pinned, "f" * 40)
    p.recipe_path.write_text(text, encoding="utf-8")
    plan = plan_adaptation(p.load(), Target(profile="modern", torch="2.1", gpus=2), p.ws)
    assert plan.edits == {}
    assert ("SOLVER.BASE_LR", "configs/*.yaml", "(not found)") in [(r.key, r.where, r.old) for r in plan.rows]
    assert loaded.recipe.adapt is not None
