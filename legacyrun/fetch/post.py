"""Post-steps of a dataset, run in its directory after download and extraction: move, list, run."""

from __future__ import annotations

import os
from pathlib import Path

from legacyrun import proc
from legacyrun.errors import FetchError
from legacyrun.fsutil import atomic_write_text
from legacyrun.patching.globs import glob_regex
from legacyrun.recipe.models import ListStep, MoveStep, PostStep, RunStep


def _inside(root: Path, rel: str, what: str) -> Path:
    path = (root / rel).resolve()
    base = root.resolve()
    if path != base and base not in path.parents:
        raise FetchError(f"{what}: {rel!r} leaves the dataset directory {root}")
    return path


def _move(root: Path, step: MoveStep, where: str) -> None:
    src = _inside(root, step.src, where)
    dst = _inside(root, step.dst, where)
    if not src.exists() and not src.is_symlink():
        if dst.exists():
            return  # already moved by an earlier run
        raise FetchError(f"{where}: move: {step.src!r} does not exist in {root}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_dir() and not dst.is_symlink() and src.is_dir():
        import shutil

        shutil.rmtree(dst)
    os.replace(src, dst)


def _list(root: Path, step: ListStep, where: str) -> int:
    base = _inside(root, step.root, where)
    rel_to = _inside(root, step.relative_to, where) if step.relative_to is not None else base
    out = _inside(root, step.output, where)
    # The recipes' one glob dialect (legacyrun/patching/globs.py), over paths relative to `root`.
    pattern = glob_regex(step.glob)
    lines = []
    found = sorted(p for p in base.rglob("*") if pattern.match(p.relative_to(base).as_posix()))
    for path in found:
        if path == out or not path.is_file():
            continue
        rel = Path(os.path.relpath(path, rel_to)).as_posix()
        if step.strip_suffix:
            rel = rel[: -len(path.suffix)] if path.suffix else rel
        lines.append(rel)
    atomic_write_text(out, "".join(f"{line}\n" for line in lines))
    return len(lines)


def _run(root: Path, step: RunStep, where: str) -> None:
    cwd = _inside(root, step.cwd, where)
    done = proc.run(step.argv, cwd=cwd)
    if not done.ok:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        raise FetchError(f"{where}: run {' '.join(step.argv)!r} exited with {done.returncode}: {tail[0]}")


def run_post_steps(root: Path, steps: list[PostStep], *, dataset: str) -> list[str]:
    """Run the steps in order in `root`; returns one line per step saying what it did."""
    done = []
    for i, step in enumerate(steps):
        where = f"datasets.{dataset}.post[{i}]"
        if step.move is not None:
            _move(root, step.move, where)
            done.append(f"moved {step.move.src} -> {step.move.dst}")
        elif step.list is not None:
            n = _list(root, step.list, where)
            done.append(f"listed {n} paths into {step.list.output}")
        elif step.run is not None:
            _run(root, step.run, where)
            done.append(f"ran {' '.join(step.run.argv)}")
    return done


__all__ = ["run_post_steps"]
