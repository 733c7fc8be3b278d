"""Patching survives any kill (issue 15, item 4): a stale .git/index.lock left by a killed run is recovered when no
git holds it and HEAD is a state the engine made; seeded SIGKILLs of the whole process group during `apply` end,
after a rerun, byte-identical to an uninterrupted run; --revert always works."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from patching.patchkit import Project, git

from legacyrun.errors import PatchError
from legacyrun.patching.engine import JOURNAL, apply, plan_patches, revert
from legacyrun.patching.target import Target

PATCHES = """\
patches:
  - {id: one, kind: regex, source: proj, files: [train.py], find: 'loss\\.data\\[0\\]', replace: 'loss.item()',
     count: 2}
  - {id: two, kind: regex, source: proj, files: [models/net.py], find: 'device_id=', replace: '', count: 1}
"""
MODERN = Target(profile="modern", torch="2.1")
REPO_ROOT = Path(__file__).resolve().parents[2]


def _tree(src: Path) -> dict[str, bytes]:
    return {
        p.relative_to(src).as_posix(): p.read_bytes()
        for p in sorted(src.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(src).parts
    }


def test_stale_index_lock_and_journal_are_recovered(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    done = apply(plan_patches(loaded, p.ws, MODERN))
    head = git(p.src, "rev-parse", "HEAD")
    # What a SIGKILL of the whole group leaves while git commits: the lock, the journal and a half-written file.
    git_dir = Path(git(p.src, "rev-parse", "--absolute-git-dir"))
    (git_dir / "index.lock").write_bytes(b"half an index")
    (git_dir / JOURNAL).write_text('{"patch": "two"}')
    (p.src / "README.md").write_text("half written\n")
    again = apply(plan_patches(loaded, p.ws, MODERN))
    notes = again.sources[0].notes
    assert any("stale .git/index.lock" in n for n in notes), notes
    assert git(p.src, "rev-parse", "HEAD") == head == done.sources[0].head
    assert not (git_dir / "index.lock").exists()
    # Revert works with a stale lock too.
    (git_dir / "index.lock").write_bytes(b"")
    revert(loaded, p.ws)
    assert git(p.src, "rev-parse", "HEAD") == p.pinned


def test_lock_held_by_a_live_process_is_not_touched(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    git_dir = Path(git(p.src, "rev-parse", "--absolute-git-dir"))
    lock = git_dir / "index.lock"
    lock.write_bytes(b"")
    holder = subprocess.Popen([sys.executable, "-c", f"import time; f = open({str(lock)!r}, 'rb'); time.sleep(30)"])
    try:
        time.sleep(0.3)
        with pytest.raises(PatchError, match=r"holds \.git/index\.lock"):
            apply(plan_patches(loaded, p.ws, MODERN))
        assert lock.exists()
    finally:
        holder.kill()
        holder.wait()


_CHILD = """
import sys
from pathlib import Path
from legacyrun.patching.engine import apply, plan_patches
from legacyrun.patching.target import Target
from legacyrun.recipe.loader import load_path
from legacyrun.workspace import Workspace
loaded = load_path(Path(sys.argv[1]))
apply(plan_patches(loaded, Workspace.at(Path(sys.argv[2])), Target(profile="modern", torch="2.1")))
"""


def test_seeded_sigkills_of_the_process_group_end_identical(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    # The uninterrupted run, then back to the pin: the reference.
    apply(plan_patches(loaded, p.ws, MODERN))
    want_head = git(p.src, "rev-parse", "HEAD")
    want_tree = _tree(p.src)
    revert(loaded, p.ws)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", _CHILD, str(loaded.path), str(p.ws.root)], env=env, check=True)
    full = time.monotonic() - start
    revert(loaded, p.ws)
    rng = random.Random(4)
    for kill in range(20):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(loaded.path), str(p.ws.root)], env=env, start_new_session=True
        )
        time.sleep(rng.uniform(0.0, full))
        os.killpg(child.pid, signal.SIGKILL)  # the whole group: python and any git it runs
        child.wait()
        apply(plan_patches(loaded, p.ws, MODERN))
        assert git(p.src, "rev-parse", "HEAD") == want_head, kill
        assert _tree(p.src) == want_tree, kill
        assert git(p.src, "status", "--porcelain", "--untracked-files=no") == "", kill
        revert(loaded, p.ws)
        assert git(p.src, "rev-parse", "HEAD") == p.pinned, kill
