"""`legacyrun up URL|PATH` for a repository without a recipe: the scaffold lands in the workspace as recipe.yaml,
the chain runs from it, and a chain that cannot finish ends with exit 13 and located `FILE:LINE: decision` items."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from support.cli import run_inproc

from legacyrun.errors import TodosRemain
from legacyrun.infer.up import is_repository_ref, recipe_name, repository_url


def _repo(make_git_repo: Callable) -> object:
    repo = make_git_repo("TinyNet")
    repo.write("README.md", "# TinyNet\n\n```\nconda create -n tiny python=3.8\npip install torch==1.9.0\n```\n"
               "Train with\n```\npython train.py --epochs 1\n```\n")  # fmt: skip
    repo.write("train.py", "print('iter 1')\n")
    repo.commit("release")
    return repo


def test_refs(tmp_path: Path, make_git_repo: Callable) -> None:
    repo = _repo(make_git_repo)
    assert is_repository_ref("https://github.com/o/TinyNet.git")
    assert is_repository_ref("git@github.com:o/TinyNet.git")
    assert not is_repository_ref("mask2former") and not is_repository_ref("https://example.org/r.yaml")
    assert not is_repository_ref(str(tmp_path))  # a plain directory is not a repository
    assert recipe_name("https://github.com/o/TinyNet.git") == "tinynet"
    assert repository_url(str(tmp_path)).startswith("file://")
    assert is_repository_ref(repo.url)  # type: ignore[attr-defined]


def test_up_url_scaffolds_and_stops_with_located_decisions(tmp_path: Path, make_git_repo: Callable) -> None:
    repo = _repo(make_git_repo)
    ws = tmp_path / "ws"
    res = run_inproc("up", repo.url, "--cpu", "--smoke", "--dry-run", "--trust", "-w", str(ws))  # type: ignore[attr-defined]
    assert res.exit_code == TodosRemain.exit_code == 13, res.stderr
    recipe = ws / "recipe.yaml"
    text = recipe.read_text()
    assert "      torch: 1.9.0  # README.md:5 (install command)" in text
    assert "      python: '3.8'  # README.md:4 (install command)" in text
    lines = text.splitlines()
    task_line = lines.index("  train:") + 1
    assert f"{recipe}:{task_line}: the chain stopped (usage error, exit 2): task train" in res.stderr
    assert "has no smoke settings" in res.stderr
    assert f"hint: edit {recipe} and run `legacyrun up {recipe}`" in res.stderr


def test_up_url_dry_run_without_smoke_plans(tmp_path: Path, make_git_repo: Callable) -> None:
    repo = _repo(make_git_repo)
    ws = tmp_path / "ws"
    res = run_inproc("up", repo.url, "--cpu", "--dry-run", "--trust", "-w", str(ws))  # type: ignore[attr-defined]
    assert res.exit_code == 0, res.stderr
    assert (ws / "recipe.yaml").is_file()
    assert "scaffolded" in res.stderr
