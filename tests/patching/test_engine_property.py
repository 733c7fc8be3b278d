"""Properties of the engine on generated trees and patch series: revert restores the tree byte for byte, and
patching twice equals patching once (same commits, same tree)."""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from patching.patchkit import RECIPE, git, make_repo

from legacyrun.patching.engine import apply, plan_patches, revert
from legacyrun.patching.target import Target
from legacyrun.recipe.loader import load_path
from legacyrun.workspace import Workspace

WORDS = ["alpha", "beta", "gamma", "delta", "data[0]", "é"]
line = st.lists(st.sampled_from(WORDS), min_size=0, max_size=6).map(" ".join)
content = st.tuples(st.lists(line, min_size=0, max_size=8), st.booleans()).map(
    lambda t: "\n".join(t[0]) + ("\n" if t[1] and t[0] else "")
)
trees = st.dictionaries(st.sampled_from(["a.py", "b.py", "pkg/c.py", "pkg/d.txt", "e.sh"]), content, min_size=1)
rules = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from([*WORDS, "", "{gpus}"])), min_size=1, max_size=4)


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        if ".git" in path.relative_to(root).parts or not path.is_file():
            continue
        out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest() + oct(path.stat().st_mode)
    return out


def _recipe(pinned: str, series: list[tuple[str, str]], files: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Recipe text with a regex patch per rule, counts from a simple model of the tree; and the expected tree."""
    model = dict(files)
    lines = ["patches:"]
    for i, (find, replace) in enumerate(series):
        pattern = re.escape(find)
        repl = replace.replace("{gpus}", "1")
        count = 0
        for rel, text in sorted(model.items()):
            new, n = re.subn(pattern, lambda _m, r=repl: r, text, flags=re.MULTILINE)
            model[rel] = new
            count += n
        lines += [
            f"  - id: p{i}",
            "    kind: regex",
            "    source: proj",
            "    files: ['**/*']",
            f"    find: '{pattern}'",
            f"    replace: '{replace}'",
            f"    count: {count}",
        ]
    return RECIPE.format(commit=pinned, patches="\n".join(lines), adapt="", tasks=""), model


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=trees, series=rules)
def test_patch_revert_roundtrip_and_idempotence(files: dict[str, str], series: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.at(Path(tmp) / "ws")
        src = ws.source_dir("proj")
        pinned = make_repo(src, files)
        before = _snapshot(src)
        text, expected = _recipe(pinned, series, files)
        recipe_path = Path(tmp) / "legacy.yaml"
        recipe_path.write_text(text, encoding="utf-8")
        loaded = load_path(recipe_path)
        target = Target(profile="modern", torch="2.1")

        once = apply(plan_patches(loaded, ws, target))
        assert {rel: (src / rel).read_text(encoding="utf-8") for rel in files} == expected
        tree_once = git(src, "rev-parse", "HEAD^{tree}")
        twice = apply(plan_patches(loaded, ws, target))
        assert twice.changes == 0
        assert twice.sources[0].commits == once.sources[0].commits
        assert git(src, "rev-parse", "HEAD^{tree}") == tree_once

        revert(loaded, ws)
        assert _snapshot(src) == before
        assert git(src, "rev-parse", "HEAD") == pinned


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=trees, edits=st.dictionaries(st.sampled_from(["a.py", "b.py", "pkg/c.py"]), content, min_size=1))
def test_user_edits_are_never_lost(files: dict[str, str], edits: dict[str, str]) -> None:
    from legacyrun.errors import PatchError

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.at(Path(tmp) / "ws")
        src = ws.source_dir("proj")
        pinned = make_repo(src, files)
        text, _ = _recipe(pinned, [("alpha", "beta")], files)
        recipe_path = Path(tmp) / "legacy.yaml"
        recipe_path.write_text(text, encoding="utf-8")
        loaded = load_path(recipe_path)
        target = Target(profile="modern", torch="2.1")
        edits = {rel: body for rel, body in edits.items() if rel in files and files[rel] != body}
        for rel, body in edits.items():
            (src / rel).write_text(body, encoding="utf-8")
        if not edits:
            return
        try:
            apply(plan_patches(loaded, ws, target))
            raise AssertionError("user edits were not refused")
        except PatchError as exc:
            assert all(rel in exc.message for rel in edits)
        assert {rel: (src / rel).read_text(encoding="utf-8") for rel in edits} == edits
        apply(plan_patches(loaded, ws, target), force=True)
        revert(loaded, ws)
        git(src, "stash", "pop", "-q")
        assert {rel: (src / rel).read_text(encoding="utf-8") for rel in edits} == edits
