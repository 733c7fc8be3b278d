"""The patch engine on real git repositories: commits, no-op re-runs, dry-run, revert, diffs, regex drift."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from patching.patchkit import Project, git

from legacyrun.errors import PatchError
from legacyrun.patching.engine import BRANCH, apply, plan_patches, revert
from legacyrun.patching.target import Target

PATCHES = """\
patches:
  - id: data0-item
    kind: regex
    source: proj
    files: ["**/*.py"]
    find: '\\.data\\[0\\]'
    replace: '.item()'
    count: 2
    why: .data[0] on a 0-dim tensor fails on torch >= 0.5
  - id: device-id
    kind: regex
    source: proj
    files: ["models/*.py"]
    find: 'cuda\\(device_id=(\\w+)\\)'
    replace: 'cuda(\\1)'
    count: 1
  - id: old-torch-only
    kind: regex
    source: proj
    files: ["README.md"]
    find: legacy
    replace: old
    when: {torch: "<0.4"}
"""

MODERN = Target(profile="modern", torch="2.1", python="3.11", cuda="12.1")


def _status(p: Project) -> str:
    return git(p.src, "status", "--porcelain", "--untracked-files=no")


def test_apply_makes_one_commit_per_patch(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    result = apply(plan_patches(loaded, p.ws, MODERN))
    src = result.sources[0]
    assert src.applied == ["data0-item", "device-id"]
    assert [s for s, _ in src.skipped] == ["old-torch-only"]
    assert git(p.src, "rev-parse", "--abbrev-ref", "HEAD") == BRANCH
    log = git(p.src, "log", "--format=%s", f"{p.pinned}..HEAD").splitlines()
    assert log == ["legacyrun: device-id", "legacyrun: data0-item"]
    assert "loss.item()" in (p.src / "train.py").read_text()
    assert "net.cuda(0)" in (p.src / "models/net.py").read_text()
    assert "+        print('loss', loss.item())  # 2017 style" in src.diff
    assert _status(p) == ""
    assert src.hashes["data0-item"] in git(p.src, "log", "-1", "--format=%B", src.commits["data0-item"])


def test_rerun_is_a_noop(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    first = apply(plan_patches(loaded, p.ws, MODERN))
    again = apply(plan_patches(loaded, p.ws, MODERN))
    assert again.changes == 0
    assert again.summary() == "0 changes, 2 patches already applied"
    assert again.sources[0].commits == first.sources[0].commits
    assert again.series_hash == first.series_hash


def test_commits_are_deterministic(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    first = apply(plan_patches(loaded, p.ws, MODERN)).sources[0].commits
    revert(loaded, p.ws)
    second = apply(plan_patches(loaded, p.ws, MODERN)).sources[0].commits
    assert first == second


def test_dry_run_prints_the_diff_and_touches_nothing(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    refs_before = git(p.src, "show-ref")
    result = apply(plan_patches(loaded, p.ws, MODERN), dry_run=True)
    assert "-        print('loss', loss.data[0])  # 2017 style" in result.sources[0].diff
    assert result.sources[0].applied == ["data0-item", "device-id"]
    assert git(p.src, "rev-parse", "HEAD") == p.pinned
    assert git(p.src, "show-ref") == refs_before
    assert git(p.src, "worktree", "list").count("\n") == 0
    assert _status(p) == ""


def test_revert_returns_to_the_pinned_commit(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    apply(plan_patches(loaded, p.ws, MODERN))
    result = revert(loaded, p.ws)
    assert result.reverted
    assert git(p.src, "rev-parse", "HEAD") == p.pinned
    assert "loss.data[0]" in (p.src / "train.py").read_text()
    assert BRANCH not in git(p.src, "branch", "--list")


def test_changed_patch_reapplies_from_there(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    first = apply(plan_patches(loaded, p.ws, MODERN)).sources[0]
    loaded = p.write_recipe(PATCHES.replace("'cuda(\\1)'", "'cuda(device=\\1)'"))
    second = apply(plan_patches(loaded, p.ws, MODERN)).sources[0]
    assert second.already == ["data0-item"]
    assert second.applied == ["device-id"]
    assert second.commits["data0-item"] == first.commits["data0-item"]
    assert "net.cuda(device=0)" in (p.src / "models/net.py").read_text()


def test_fewer_patches_drop_the_rest(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    apply(plan_patches(loaded, p.ws, MODERN))
    faithful = Target(profile="faithful", torch="0.3.1")
    loaded = p.write_recipe(PATCHES.replace("<0.4", "<0.3"))
    result = apply(plan_patches(loaded, p.ws, faithful))
    assert result.sources[0].applied == ["data0-item", "device-id"] or result.changes == 0
    none = p.write_recipe()
    result = apply(plan_patches(none, p.ws, MODERN))
    assert git(p.src, "rev-parse", "HEAD") == p.pinned
    assert result.summary() == "0 changes, 0 patches already applied"


def test_regex_count_mismatch_fails_cleanly(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES.replace("count: 2", "count: 3"))
    with pytest.raises(PatchError) as info:
        apply(plan_patches(loaded, p.ws, MODERN))
    msg = info.value.message
    assert "data0-item" in msg and "expected 3" in msg and "found 2" in msg and "train.py: 2" in msg
    assert _status(p) == ""
    assert "loss.data[0]" in (p.src / "train.py").read_text()
    assert git(p.src, "rev-list", "--count", f"{p.pinned}..HEAD") == "0"


def test_regex_without_count_needs_a_match(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(
        "patches:\n  - {id: nothing, kind: regex, source: proj, files: ['*.py'], find: 'no such text', replace: x}\n"
    )
    with pytest.raises(PatchError, match="nothing: expected at least 1 match"):
        apply(plan_patches(loaded, p.ws, MODERN))


def test_workspace_values_expand(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(
        "patches:\n  - id: paths\n    kind: regex\n    source: proj\n    files: [README.md]\n"
        "    find: '^legacy project$'\n    replace: 'data at {data_root} on {gpus} gpu(s), {{gpus}} {x}'\n"
        "    count: 1\n"
    )
    apply(plan_patches(loaded, p.ws, Target("modern", "2.1", gpus=2)))
    assert (p.src / "README.md").read_text() == f"data at {p.ws.data} on 2 gpu(s), {{gpus}} {{x}}\n"


DIFF = """\
--- a/README.md
+++ b/README.md
@@ -1 +1,2 @@
 legacy project
+patched by a diff
"""


def test_diff_patch_applies(project: Callable[..., Project]) -> None:
    p = project()
    p.write_diff("readme.patch", DIFF)
    loaded = p.write_recipe("patches:\n  - {id: readme, kind: diff, source: proj, file: readme.patch}\n")
    result = apply(plan_patches(loaded, p.ws, MODERN))
    assert result.sources[0].applied == ["readme"]
    assert (p.src / "README.md").read_text() == "legacy project\npatched by a diff\n"
    assert _status(p) == ""


def test_diff_three_way_fallback(project: Callable[..., Project]) -> None:
    lines = [f"line {i}" for i in range(1, 11)]
    pinned_text = "\n".join([*lines[:2], "pinned 3", *lines[3:]]) + "\n"
    p = project({"notes.txt": pinned_text})
    # The diff was made upstream (a later commit, whose blob the repository has) where line 3 differs: the
    # context does not match the pinned file, so plain `git apply` fails and the three-way merge succeeds.
    git(p.src, "checkout", "-q", "master")
    (p.src / "notes.txt").write_text("\n".join(lines) + "\n")
    git(p.src, "commit", "-q", "-am", "upstream edit")
    (p.src / "notes.txt").write_text("\n".join([*lines[:5], "patched 6", *lines[6:]]) + "\n")
    p.write_diff("notes.patch", git(p.src, "diff") + "\n")
    git(p.src, "checkout", "-q", "--", "notes.txt")
    git(p.src, "checkout", "-q", "--detach", p.pinned)
    loaded = p.write_recipe("patches:\n  - {id: notes, kind: diff, source: proj, file: notes.patch}\n")
    result = apply(plan_patches(loaded, p.ws, MODERN))
    assert any("three-way" in n for n in result.sources[0].notes)
    text = (p.src / "notes.txt").read_text()
    assert "pinned 3" in text and "patched 6" in text
    assert _status(p) == ""


def test_diff_that_cannot_apply_leaves_nothing(project: Callable[..., Project]) -> None:
    p = project()
    p.write_diff(
        "readme.patch",
        "--- a/README.md\n+++ b/README.md\n@@ -1,2 +1,2 @@\n legacy project\n-old line\n+new line\n",
    )
    loaded = p.write_recipe("patches:\n  - {id: readme, kind: diff, source: proj, file: readme.patch}\n")
    with pytest.raises(PatchError, match=r"readme: .* does not apply"):
        apply(plan_patches(loaded, p.ws, MODERN))
    assert _status(p) == ""
    assert (p.src / "README.md").read_text() == "legacy project\n"


def test_missing_tree_and_pin(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    other = p.ws.__class__.at(p.root / "elsewhere")
    with pytest.raises(PatchError, match="not a git work tree"):
        apply(plan_patches(loaded, other, MODERN))
    bad = p.recipe_path.read_text().replace(p.pinned, "a" * 40)
    p.recipe_path.write_text(bad)
    with pytest.raises(PatchError, match="pinned commit aaaa"):
        apply(plan_patches(p.load(), p.ws, MODERN))


def test_dry_run_shows_dropped_patches(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES)
    apply(plan_patches(loaded, p.ws, MODERN))
    head = git(p.src, "rev-parse", "HEAD")
    fewer = p.write_recipe(PATCHES.split("  - id: device-id", maxsplit=1)[0])
    result = apply(plan_patches(fewer, p.ws, MODERN), dry_run=True)
    src = result.sources[0]
    assert "-net.cuda(0)" in src.diff and "+net.cuda(device_id=0)" in src.diff
    assert any("would drop device-id" in n for n in src.notes)
    assert git(p.src, "rev-parse", "HEAD") == head


def test_two_sources_each_get_their_series(project: Callable[..., Project]) -> None:
    from patching.patchkit import make_repo

    p = project()
    lib_pin = make_repo(p.ws.source_dir("lib"), {"setup.py": "AT_CHECK(x)\n"})
    text = p.write_recipe(PATCHES).path.read_text()
    text = text.replace(
        "env:",
        f"  - {{name: lib, url: 'file:///nonexistent/lib.git', commit: {lib_pin}}}\nenv:",
        1,
    ).replace(
        "patches:\n",
        "patches:\n  - {id: at-check, kind: regex, source: lib, files: [setup.py], find: AT_CHECK,"
        " replace: TORCH_CHECK, count: 1}\n",
        1,
    )
    p.recipe_path.write_text(text)
    result = apply(plan_patches(p.load(), p.ws, MODERN))
    assert [(s.source, s.applied) for s in result.sources] == [
        ("proj", ["data0-item", "device-id"]),
        ("lib", ["at-check"]),
    ]
    assert (p.ws.source_dir("lib") / "setup.py").read_text() == "TORCH_CHECK(x)\n"
    assert set(result.hashes) == {"data0-item", "device-id", "at-check"}
    revert(p.load(), p.ws)
    assert git(p.ws.source_dir("lib"), "rev-parse", "HEAD") == lib_pin


def test_a_tracked_file_in_an_ignored_folder_is_patched(project: Callable[..., Project]) -> None:
    """MaskTextSpotter's .gitignore lists `evaluation` yet tracks evaluation/icdar2015/e2e/script.py."""
    p = project({"evaluation/script.py": "x = np.float(1)\n"})
    (p.src / ".git" / "info" / "exclude").write_text("evaluation\n")  # ignored after it was committed
    loaded = p.write_recipe(
        "patches:\n  - id: np-float\n    kind: regex\n    source: proj\n    files: ['**/*.py']\n"
        "    find: 'np\\.float\\('\n    replace: 'float('\n    count: 1\n"
    )
    assert apply(plan_patches(loaded, p.ws, MODERN)).sources[0].applied == ["np-float"]
    assert (p.src / "evaluation/script.py").read_text() == "x = float(1)\n"
    assert _status(p) == ""
