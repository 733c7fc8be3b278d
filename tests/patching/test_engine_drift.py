"""User edits are never lost, interrupted runs leave the tree before or after a patch, --force stashes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from patching.patchkit import Project, git

from legacyrun.errors import PatchError
from legacyrun.patching import engine
from legacyrun.patching.engine import BRANCH, JOURNAL, apply, plan_patches, revert
from legacyrun.patching.target import Target

PATCHES = """\
patches:
  - {id: one, kind: regex, source: proj, files: [train.py], find: 'loss\\.data\\[0\\]', replace: 'loss.item()',
     count: 2}
  - {id: two, kind: regex, source: proj, files: [models/net.py], find: 'device_id=', replace: '', count: 1}
"""
MODERN = Target(profile="modern", torch="2.1")


def _edited(p: Project) -> Path:
    path = p.src / "README.md"
    path.write_text("my own notes\n")
    return path


def test_user_edits_refused_with_file_names(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    edited = _edited(p)
    with pytest.raises(PatchError) as info:
        apply(plan_patches(loaded, p.ws, MODERN))
    assert "uncommitted edits in README.md" in info.value.message
    assert "--force" in (info.value.hint or "")
    assert edited.read_text() == "my own notes\n"
    assert git(p.src, "rev-parse", "HEAD") == p.pinned


def test_noop_rerun_keeps_user_edits(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    apply(plan_patches(loaded, p.ws, MODERN))
    edited = _edited(p)
    again = apply(plan_patches(loaded, p.ws, MODERN))
    assert again.changes == 0
    assert edited.read_text() == "my own notes\n"
    assert "left as they are" in again.sources[0].notes[0]


def test_force_stashes_edits(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    edited = _edited(p)
    result = apply(plan_patches(loaded, p.ws, MODERN), force=True)
    assert result.sources[0].applied == ["one", "two"]
    assert any("stashed your edits" in n for n in result.sources[0].notes)
    assert edited.read_text() == "legacy project\n"
    assert "legacyrun: edits saved before patch" in git(p.src, "stash", "list")
    git(p.src, "stash", "pop", "-q")
    assert edited.read_text() == "my own notes\n"


def test_untracked_files_are_never_touched(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    data = p.src / "datasets" / "facades.txt"
    data.parent.mkdir()
    data.write_text("downloaded\n")
    apply(plan_patches(loaded, p.ws, MODERN))
    revert(loaded, p.ws)
    apply(plan_patches(loaded, p.ws, MODERN))
    assert data.read_text() == "downloaded\n"


def test_user_commits_on_the_branch_are_kept(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    apply(plan_patches(loaded, p.ws, MODERN))
    _edited(p)
    git(p.src, "commit", "-q", "-am", "my work")
    mine = git(p.src, "rev-parse", "HEAD")
    with pytest.raises(PatchError, match="1 commit\\(s\\) on legacyrun/patched that legacyrun did not make"):
        revert(loaded, p.ws)
    result = revert(loaded, p.ws, force=True)
    saved = f"legacyrun/saved-{mine[:12]}"
    assert any(saved in n for n in result.sources[0].notes)
    assert git(p.src, "rev-parse", saved) == mine
    assert git(p.src, "rev-parse", "HEAD") == p.pinned


def test_user_branch_checked_out_is_refused(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    git(p.src, "checkout", "-q", "-b", "experiment")
    with pytest.raises(PatchError, match="HEAD is on branch experiment"):
        apply(plan_patches(loaded, p.ws, MODERN))
    apply(plan_patches(loaded, p.ws, MODERN), force=True)
    assert git(p.src, "rev-parse", "--abbrev-ref", "HEAD") == BRANCH
    assert git(p.src, "rev-parse", "experiment") == p.pinned


def test_revert_refuses_user_edits(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    apply(plan_patches(loaded, p.ws, MODERN))
    edited = _edited(p)
    with pytest.raises(PatchError, match=r"refusing to revert: uncommitted edits in README\.md"):
        revert(loaded, p.ws)
    assert edited.read_text() == "my own notes\n"
    revert(loaded, p.ws, force=True)
    assert git(p.src, "rev-parse", "HEAD") == p.pinned
    assert "legacyrun: edits saved before revert" in git(p.src, "stash", "list")


def test_interrupt_mid_patch_leaves_the_tree_before_it(
    project: Callable[..., Project], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    real = engine._write_changes
    calls = {"n": 0}

    def interrupted(repo: engine.GitRepo, changes: dict[str, tuple[str, str]]) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the second patch: write its files, then "Ctrl-C" before the commit
            real(repo, changes)
            raise KeyboardInterrupt
        real(repo, changes)

    monkeypatch.setattr(engine, "_write_changes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        apply(plan_patches(loaded, p.ws, MODERN))
    # The run is undone as a whole: the tree and refs are as they were before it.
    assert git(p.src, "status", "--porcelain", "--untracked-files=no") == ""
    assert git(p.src, "rev-parse", "HEAD") == p.pinned
    assert BRANCH not in git(p.src, "branch", "--list")
    assert "device_id=" in (p.src / "models/net.py").read_text()
    monkeypatch.setattr(engine, "_write_changes", real)
    result = apply(plan_patches(loaded, p.ws, MODERN))
    assert result.sources[0].applied == ["one", "two"]


def test_failing_patch_after_applied_ones_keeps_the_previous_series(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    first = apply(plan_patches(loaded, p.ws, MODERN)).sources[0]
    three = "  - {id: three, kind: regex, source: proj, files: [README.md], find: nothing, replace: x, count: 1}\n"
    loaded = p.write_recipe(PATCHES.replace("count: 2}", "count: 2}").replace("  - {id: two", three + "  - {id: two"))
    with pytest.raises(PatchError, match="three: expected 1 match"):
        apply(plan_patches(loaded, p.ws, MODERN))
    assert git(p.src, "rev-parse", "HEAD") == first.head
    assert git(p.src, "rev-parse", "--abbrev-ref", "HEAD") == BRANCH
    assert git(p.src, "status", "--porcelain", "--untracked-files=no") == ""


def test_killed_run_is_rolled_back_by_the_next(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    apply(plan_patches(loaded, p.ws, MODERN))
    # What a SIGKILL between writing and committing leaves: the journal and a half-written tree.
    git_dir = Path(git(p.src, "rev-parse", "--absolute-git-dir"))
    (git_dir / JOURNAL).write_text('{"patch": "three"}')
    (p.src / "README.md").write_text("half written\n")
    result = apply(plan_patches(loaded, p.ws, MODERN))
    assert any("interrupted run left patch three half-applied" in n for n in result.sources[0].notes)
    assert (p.src / "README.md").read_text() == "legacy project\n"
    assert not (git_dir / JOURNAL).exists()
    assert "half-applied patch three" in git(p.src, "stash", "list")  # set aside, not destroyed


def test_symlinks_are_not_written_through(project: Callable[..., Project], tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("x = loss.data[0]\n")
    p = project({"train.py": "y = loss.data[0]\n"})
    git(p.src, "checkout", "-q", "master")
    (p.src / "link.py").symlink_to(outside)
    git(p.src, "add", "link.py")
    git(p.src, "commit", "-q", "-m", "link")
    p.pinned = git(p.src, "rev-parse", "HEAD")
    git(p.src, "checkout", "-q", "--detach", p.pinned)
    loaded = p.write_recipe(
        "patches:\n  - {id: all, kind: regex, source: proj, files: ['**/*.py'], find: 'data\\[0\\]', "
        "replace: 'item()', count: 1}\n"
    )
    apply(plan_patches(loaded, p.ws, MODERN))
    assert outside.read_text() == "x = loss.data[0]\n"
    assert (p.src / "train.py").read_text() == "y = loss.item()\n"
