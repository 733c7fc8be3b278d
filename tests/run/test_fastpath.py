"""What makes a no-op `up` fast, each against the slow way it replaces: tool versions remembered per binary, HEAD
read from .git, the workspace flock, recipe data remembered per text, requirement names without packaging, the
smoke generator registry; and a no-op `up --dry-run` that starts no subprocess at all."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import InvalidRequirement, Requirement

from legacyrun import memo
from legacyrun.backends.requirements import _req_name
from legacyrun.errors import RecipeError, WorkspaceBusyError
from legacyrun.gitcli import head_commit
from legacyrun.host import gcc_versions, nvcc_version
from legacyrun.recipe.loader import parse_text
from legacyrun.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def _counting_tool(folder: Path, name: str, output: str) -> Path:
    """A fake tool that prints `output` and appends a line to calls.txt per run."""
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho run >> '{folder / 'calls.txt'}'\necho '{output}'\n", encoding="utf-8")
    tool.chmod(0o755)
    return tool


def _calls(folder: Path) -> int:
    calls = folder / "calls.txt"
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_tool_versions_are_asked_once_per_binary(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    _counting_tool(tools, "nvcc", "Cuda compilation tools, release 11.1, V11.1.105")
    _counting_tool(tools, "gcc", "9")
    env = {"PATH": str(tools)}
    assert nvcc_version(env) == "11.1" and gcc_versions(env) == ["9"]
    assert nvcc_version(env) == "11.1" and gcc_versions(env) == ["9"]
    assert _calls(tools) == 2
    memo.forget_memory()  # the next command: the answers come from the user cache
    assert nvcc_version(env) == "11.1" and gcc_versions(env) == ["9"]
    assert _calls(tools) == 2
    # Another nvcc in the same place (a toolkit upgrade) is asked again.
    time.sleep(0.01)
    _counting_tool(tools, "nvcc", "Cuda compilation tools, release 12.4, V12.4.131")
    assert nvcc_version(env) == "12.4"
    assert _calls(tools) == 3


def test_a_failing_tool_is_remembered_as_failing(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    gcc = tools / "gcc"
    gcc.write_text(f"#!/bin/sh\necho run >> '{tools / 'calls.txt'}'\necho 12\nexit 3\n", encoding="utf-8")
    gcc.chmod(0o755)
    assert gcc_versions({"PATH": str(tools)}) == []
    assert gcc_versions({"PATH": str(tools)}) == []
    assert _calls(tools) == 1


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_head_commit_agrees_with_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    assert head_commit(repo) is None  # not a repository
    _git(repo, "init", "-q", "-b", "main")
    assert head_commit(repo) is None  # no commit yet
    (repo / "a.txt").write_text("a\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    assert head_commit(repo) == _git(repo, "rev-parse", "HEAD")  # loose ref
    _git(repo, "checkout", "-q", "-b", "legacyrun/patched")
    (repo / "a.txt").write_text("b\n")
    _git(repo, "commit", "-q", "-am", "two")
    _git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "legacyrun" / "patched").exists()
    assert head_commit(repo) == _git(repo, "rev-parse", "HEAD")  # packed ref
    _git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert head_commit(repo) == _git(repo, "rev-parse", "HEAD")  # detached
    linked = tmp_path / "linked"
    _git(repo, "worktree", "add", "-q", "--detach", str(linked), "main")
    assert (linked / ".git").is_file()
    assert head_commit(linked) == _git(linked, "rev-parse", "HEAD")  # a .git file: git answers


_HOLDER = """\
import sys, time
from pathlib import Path
from legacyrun.workspace import Workspace
with Workspace.at(Path(sys.argv[1])).locked():
    Path(sys.argv[2]).write_text("held")
    time.sleep(float(sys.argv[3]))
"""


def test_workspace_lock_refuses_then_waits(tmp_path: Path) -> None:
    ws = Workspace.at(tmp_path / "ws")
    ready = tmp_path / "ready"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(ws.root), str(ready), "1.5"], env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert time.monotonic() < deadline and holder.poll() is None
            time.sleep(0.02)
        with pytest.raises(WorkspaceBusyError), ws.locked(wait=0):
            pass
        started = time.monotonic()
        with ws.locked(wait=60), ws.locked():  # re-entrant inside one process
            waited = time.monotonic() - started
        assert waited > 0.2
    finally:
        holder.wait(timeout=60)
    with ws.locked(wait=0):  # released
        pass


RECIPE = textwrap.dedent(
    """\
    schema_version: 1
    name: memo
    title: remembered recipe
    sources: [{name: code, url: "https://example.invalid/code.git", commit: "%s"}]
    env:
      profiles:
        faithful: {python: "3.6", torch: "0.4.1"}
        modern: {python: "3.11", torch: "2.1"}
    tasks:
      train: {source: code, argv: [python, train.py]}
    """
)


def test_recipe_data_is_remembered_and_never_trusted_blindly(tmp_path: Path) -> None:
    text = RECIPE % ("a" * 40)
    first = parse_text(text, "r.yaml")
    stored = list((Path(os.environ["LEGACYRUN_CACHE_DIR"]) / "memo" / "recipe-data").glob("*.json"))
    assert len(stored) == 1
    memo.forget_memory()
    assert parse_text(text, "r.yaml") == first
    # A damaged entry is a miss: the full parse runs (and gives its located message for a bad text).
    stored[0].write_text('{"value": {"name": 5}}', encoding="utf-8")
    memo.forget_memory()
    assert parse_text(text, "r.yaml") == first
    with pytest.raises(RecipeError, match=r"bad\.yaml:4:\d+: sources\[0\]\.commit"):
        parse_text(RECIPE % "not-a-sha", "bad.yaml")


_REQ_CHARS = st.sampled_from([*"abXY_-.09 =<>!~*+,;[]", "rc", "post", "dev", "==", ">=", "~=", "1.2"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_REQ_CHARS, min_size=1, max_size=12).map("".join))
def test_requirement_names_without_packaging_match_packaging(line: str) -> None:
    try:
        expected: str | None = Requirement(line).name.lower().replace("_", "-")
    except InvalidRequirement:
        expected = None
    assert _req_name(line) == expected


@pytest.mark.parametrize(
    "line",
    ["torch==2.14.1", "torch==2.14.1+cu121", "black==21.4b2", "fvcore>=0.1.5,<0.1.6", "numpy<2", "x~=1", "x==abc"],
)
def test_requirement_names_examples(line: str) -> None:
    try:
        expected: str | None = Requirement(line).name.lower().replace("_", "-")
    except InvalidRequirement:
        expected = None
    assert _req_name(line) == expected


def test_smoke_registry_holds_every_generator() -> None:
    import importlib

    from legacyrun.smoke import registry

    found = {}
    for module in ("semseg", "text", "pairs", "coco", "kitti"):
        for gen in importlib.import_module(f"legacyrun.smoke.{module}").GENERATORS:
            found[gen.name] = gen
    assert registry.generators() == found
    assert list(registry.generators()) == sorted(found)


def test_a_command_alone_parses_and_helps_as_in_the_full_app() -> None:
    import typer
    from typer.main import get_command

    from legacyrun import cli

    full: Any = get_command(cli.app)
    for name, module in cli._ALONE.items():
        assert full.commands[name].callback.__module__ == f"legacyrun.cli.{module}"
        alone = cli.app_for(["-v", "--workspace", "explain", name, "--help"])  # -w's value is no command
        assert alone is not cli.app
        small: Any = get_command(alone)
        with typer.Context(full, info_name="legacyrun") as ctx_full, typer.Context(small, info_name="legacyrun") as ctx:
            assert small.commands[name].get_help(ctx) == full.commands[name].get_help(ctx_full)
    assert cli.app_for(["--help"]) is cli.app
    assert cli.app_for(["recipe", "validate", "x.yaml"]) is cli.app
    assert cli.app_for(["-w", "up"]) is cli.app  # `up` is the workspace here; no command was typed
    assert cli.app_for(["nosuchcommand"]) is cli.app
