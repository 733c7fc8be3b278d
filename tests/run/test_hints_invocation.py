"""Hints repeat what the user typed: the recipe as given (a path stays a path) and -w DIR when given.

Through the installed console script, with a recipe file named by a relative path and a workspace elsewhere: the
hint must be a command the user can paste as it is. Plus the formatter itself (`legacyrun.invocation`).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.cli import run_console_script
from support.gitrepos import GitFactory

from legacyrun import invocation
from legacyrun.invocation import Invocation, command, fill


@pytest.fixture(autouse=True)
def _fresh_invocation() -> Iterator[None]:
    invocation.set_current(Invocation())
    yield
    invocation.set_current(Invocation())


def _recipe(tmp_path: Path, git_factory: GitFactory) -> Path:
    repo = git_factory.repo("demo", commits=1)
    path = tmp_path / "my" / "recipe.yaml"
    path.parent.mkdir(parents=True)
    data = {
        "schema_version": 1,
        "name": "demo",
        "title": "Demo",
        "sources": [{"name": "demo", "url": repo.file_url, "commit": repo.commits[0]}],
        "env": {
            "profiles": {
                "faithful": {"python": "3.6", "torch": "0.4.1"},
                "modern": {"python": "3.11", "torch": ">=2.1"},
            }
        },
        "datasets": [{"name": "m", "kind": "manual", "dest": "data/m", "instructions": "Ask the authors by email."}],
        "tasks": {"train": {"source": "demo", "argv": ["python", "train.py"], "datasets": ["m"]}},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_up_hint_names_the_recipe_path_and_workspace(tmp_path: Path, git_factory: GitFactory) -> None:
    _recipe(tmp_path, git_factory)
    ws = tmp_path / "elsewhere" / "ws"
    res = run_console_script("up", "./my/recipe.yaml", "-w", ws, "--cpu", "--trust", cwd=tmp_path)
    assert res.exit_code == 11, res.stderr  # the manual dataset stops the chain after fetching the code
    assert "Traceback" not in res.stderr
    assert f"then run: legacyrun fetch ./my/recipe.yaml -w {ws} --data m --from PATH/TO/m" in res.stderr.splitlines()
    assert "legacyrun fetch demo" not in res.stderr


def test_untrusted_hint_and_global_workspace_option(tmp_path: Path, git_factory: GitFactory) -> None:
    _recipe(tmp_path, git_factory)
    ws = tmp_path / "ws"
    # -w before the command (the global option) counts the same as after it.
    res = run_console_script("-w", ws, "up", "./my/recipe.yaml", "--cpu", cwd=tmp_path)
    assert res.exit_code == 10, res.stderr
    # `recipe trust` takes no -w: the hint must not add one.
    assert "(or `legacyrun recipe trust ./my/recipe.yaml`)" in res.stderr


def test_build_without_lock_names_the_lock_command(tmp_path: Path, git_factory: GitFactory) -> None:
    _recipe(tmp_path, git_factory)
    ws = tmp_path / "w s"  # a space: the hint quotes it for the shell
    res = run_console_script("build", "my/recipe.yaml", "--dry-run", "--workspace", ws, cwd=tmp_path)
    assert res.exit_code == 8, res.stderr
    assert f"hint: run `legacyrun lock my/recipe.yaml -w {shlex.quote(str(ws))}` first" in res.stderr


def test_without_workspace_the_hint_has_no_w(tmp_path: Path, git_factory: GitFactory) -> None:
    _recipe(tmp_path, git_factory)
    res = run_console_script("build", "./my/recipe.yaml", "--dry-run", cwd=tmp_path)
    assert res.exit_code == 8, res.stderr
    assert "hint: run `legacyrun lock ./my/recipe.yaml` first" in res.stderr


def test_command_formats_for_the_current_invocation() -> None:
    assert command("fetch", "demo") == "legacyrun fetch demo"
    assert command("lock") == "legacyrun lock RECIPE"
    invocation.set_current(Invocation(recipe="./my/recipe.yaml", workspace="/tmp/ws"))
    assert command("fetch", "demo") == "legacyrun fetch ./my/recipe.yaml -w /tmp/ws"
    assert command("fetch", "demo", "--data", "a", "b") == "legacyrun fetch ./my/recipe.yaml -w /tmp/ws --data a b"
    assert command("recipe trust", "demo", "--yes") == "legacyrun recipe trust ./my/recipe.yaml --yes"
    assert command("resolve") == "legacyrun resolve ./my/recipe.yaml"
    invocation.set_current(Invocation(recipe="my recipe.yaml", workspace="/tmp/a b"))
    assert command("up") == "legacyrun up 'my recipe.yaml' -w '/tmp/a b'"


def test_fill_rewrites_placeholders_in_fix_text() -> None:
    fix = "Run on a GPU: `legacyrun up RECIPE --gpus 1`, or `legacyrun recipe trust RECIPE`."
    assert fill(fix) == fix  # nothing known: the placeholder stays
    assert fill(fix, "demo") == "Run on a GPU: `legacyrun up demo --gpus 1`, or `legacyrun recipe trust demo`."
    invocation.set_current(Invocation(recipe="./r.yaml", workspace="ws"))
    assert fill(fix) == "Run on a GPU: `legacyrun up ./r.yaml -w ws --gpus 1`, or `legacyrun recipe trust ./r.yaml`."


def test_workspace_commands_match_the_cli() -> None:
    """WORKSPACE_COMMANDS is exactly the set of commands that accept -w/--workspace."""
    import typer.main

    from legacyrun.cli import app

    found: set[str] = set()

    def walk(group: object, prefix: str) -> None:
        for name, cmd in getattr(group, "commands", {}).items():
            full = f"{prefix}{name}"
            if hasattr(cmd, "commands"):
                walk(cmd, f"{full} ")
            elif any("--workspace" in getattr(p, "opts", ()) for p in cmd.params):
                found.add(full)

    walk(typer.main.get_command(app), "")
    assert found == set(invocation.WORKSPACE_COMMANDS)
