"""Recipe warnings (issue 15, item 6): a build step's `pip install` without --no-deps is a located warning of
`recipe validate` (dependencies resolved at build time escape the hash-pinned set); it never fails the load."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from support.cli import run_cli

from legacyrun.recipe.lint import pip_without_no_deps, recipe_warnings, runs_pip_install
from legacyrun.recipe.loader import load_path
from legacyrun.recipe.refs import builtin_dir


def _recipe(tmp_path: Path, argv: list[str]) -> Path:
    data = {
        "schema_version": 1,
        "name": "lintme",
        "title": "Lint",
        "sources": [{"name": "proj", "url": "https://example.invalid/p.git", "commit": "0" * 40}],
        "env": {
            "profiles": {
                "faithful": {"python": "3.8", "torch": "1.9.0"},
                "modern": {
                    "python": "3.11",
                    "torch": ">=2.1",
                    "build": [{"name": "ext", "source": "proj", "argv": argv}],
                },
            }
        },
    }
    path = tmp_path / "lintme.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_pip_install_forms() -> None:
    assert runs_pip_install(["python", "-m", "pip", "install", "-e", "."])
    assert runs_pip_install(["/opt/env/bin/pip3", "install", "."]) and runs_pip_install(["pip3.8", "install", "x"])
    assert not runs_pip_install(["python", "setup.py", "build_ext", "--inplace"])
    assert not runs_pip_install(["python", "-m", "pip", "download", "x"])
    assert not pip_without_no_deps(["python", "-m", "pip", "install", "--no-deps", "-e", "."])


def test_validate_warns_with_the_location(tmp_path: Path) -> None:
    path = _recipe(tmp_path, ["python", "-m", "pip", "install", "-e", "."])
    [warning] = recipe_warnings(load_path(path))
    line = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if "argv:" in ln)
    assert warning.startswith(f"{path}:{line}:")
    assert "env.profiles.modern.build[0].argv: warning: build step ext runs `pip install` without --no-deps" in warning
    res = run_cli("recipe", "validate", str(path))
    assert res.exit_code == 0 and "without --no-deps" in res.stderr and f":{line}:" in res.stderr
    res = run_cli("recipe", "validate", "--json", str(path))
    assert json.loads(res.stdout)[0]["warnings"] == [warning]


def test_no_deps_step_has_no_warning(tmp_path: Path) -> None:
    assert recipe_warnings(load_path(_recipe(tmp_path, ["python", "-m", "pip", "install", "--no-deps", "."]))) == []


def test_builtin_recipes_have_no_warnings() -> None:
    for path in sorted(builtin_dir().glob("*.yaml")):
        assert recipe_warnings(load_path(path)) == [], path
