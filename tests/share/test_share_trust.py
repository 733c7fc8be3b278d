"""Trust: a recipe from a source never runs a command its user has not seen. The marker command (`touch`) is run
exactly the way `run` will: ensure_trusted() first, then legacyrun.proc."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.cli import run_inproc

from legacyrun import proc
from legacyrun.errors import TrustError
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.share.registry import load
from legacyrun.share.sources import add_source
from legacyrun.share.trust import commands_of, ensure_trusted, is_trusted, trust_file


def _run_train(
    loaded: LoadedRecipe, *, trust: bool = False, confirm: Callable[[list[str]], bool] | None = None
) -> None:
    """What `legacyrun run RECIPE train` does before and at the start of the task."""
    ensure_trusted(loaded, trust_flag=trust, interactive=confirm is not None, confirm=confirm)
    res = proc.run(loaded.recipe.tasks["train"].argv)
    assert res.ok, res.stderr


@pytest.fixture
def lab(tmp_path: Path, recipe_yaml: Callable) -> tuple[Path, Path]:
    folder = tmp_path / "lab"
    folder.mkdir()
    marker = tmp_path / "marker"
    (folder / "labnet.yaml").write_text(recipe_yaml("labnet", argv=["touch", str(marker)]))
    add_source(str(folder), name="lab")
    return folder, marker


def test_untrusted_recipe_never_runs_its_command(lab: tuple[Path, Path], recipe_yaml: Callable) -> None:
    folder, marker = lab
    loaded = load("labnet")
    assert loaded.origin == "source:lab"
    assert not is_trusted(loaded)
    assert commands_of(loaded) == [f"task train (in src/labnet): touch {marker}"]

    with pytest.raises(TrustError) as exc:
        _run_train(loaded)
    assert exc.value.exit_code == 10
    assert f"touch {marker}" in exc.value.message
    assert "--trust" in (exc.value.hint or "")
    assert not marker.exists()

    seen: list[list[str]] = []

    def say_no(commands: list[str]) -> bool:
        seen.append(commands)
        return False

    with pytest.raises(TrustError, match="declined"):
        _run_train(loaded, confirm=say_no)
    assert f"task train (in src/labnet): touch {marker}" in seen[0]
    assert not marker.exists()

    # --trust: runs, and is remembered for this content.
    _run_train(loaded, trust=True)
    assert marker.exists()
    marker.unlink()
    _run_train(load("labnet"))
    assert marker.exists()
    marker.unlink()

    # The recipe changes: its new command is not run until approved again.
    other = marker.with_name("marker2")
    (folder / "labnet.yaml").write_text(recipe_yaml("labnet", argv=["touch", str(other)]))
    changed = load("labnet")
    assert not is_trusted(changed)
    with pytest.raises(TrustError, match="changed since you trusted it"):
        _run_train(changed)
    assert not other.exists()
    assert not marker.exists()

    # An interactive yes is recorded like --trust.
    _run_train(changed, confirm=lambda commands: True)
    assert other.exists()
    assert is_trusted(load("labnet"))


def test_builtin_recipes_are_trusted() -> None:
    assert is_trusted(load("pix2pix"))
    assert is_trusted(load("builtin:pix2pix"))
    ensure_trusted(load("pix2pix"), trust_flag=False, interactive=False, confirm=None)
    assert not trust_file().exists()  # nothing recorded for built-ins


def test_recipe_trust_command(lab: tuple[Path, Path], recipe_yaml: Callable) -> None:
    folder, marker = lab
    # No terminal and no --yes: shows the commands but records nothing.
    res = subprocess.run(
        [sys.executable, "-m", "legacyrun", "recipe", "trust", "labnet"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 10
    assert f"touch {marker}" in res.stdout
    assert "pass --yes" in res.stderr
    assert not is_trusted(load("labnet"))

    res = run_inproc("recipe", "trust", "labnet", "--show", "--json")
    data = json.loads(res.stdout)
    assert data["trusted"] is False
    assert data["commands"] == [f"task train (in src/labnet): touch {marker}"]

    res = run_inproc("recipe", "trust", "labnet", "--yes", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["trusted"] is True
    _run_train(load("labnet"))
    assert marker.exists()

    (folder / "labnet.yaml").write_text(recipe_yaml("labnet", argv=["touch", str(marker) + "-v2"]))
    data = json.loads(run_inproc("recipe", "trust", "labnet", "--show", "--json").stdout)
    assert data["trusted"] is False
    assert data["changed_since_trust"] is True

    res = run_inproc("recipe", "trust", "labnet", "--revoke")
    assert "was not trusted" not in res.stdout
    assert json.loads(trust_file().read_text())["recipes"] == {}


def test_cli_hook_require_trust(lab: tuple[Path, Path]) -> None:
    """The hook fetch/build/run/up call: without a terminal and without --trust, nothing runs."""
    from legacyrun.cli.options import require_trust

    _, marker = lab
    loaded = load("labnet")
    with pytest.raises(TrustError):
        require_trust(loaded, trust=False)
    assert not marker.exists()
    require_trust(loaded, trust=True)
    assert is_trusted(load("labnet"))


def test_changed_diff_asks_for_trust_again(tmp_path: Path, recipe_yaml: Callable) -> None:
    """Trust covers the files the recipe brings: an os.system added to a diff is refused until re-trusted."""
    folder = tmp_path / "difflab"
    (folder / "patches" / "difflab").mkdir(parents=True)
    marker = tmp_path / "marker"
    (folder / "difflab.yaml").write_text(recipe_yaml("difflab", argv=["touch", str(marker)]))
    (folder / "patches" / "difflab" / "fix.diff").write_text("--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n")
    add_source(str(folder), name="difflab")
    loaded = load("difflab")
    diff = loaded.patches_dir / "fix.diff"
    assert diff.is_file(), loaded.patches_dir
    ensure_trusted(loaded, trust_flag=True, interactive=False, confirm=None)
    assert is_trusted(load("difflab"))

    shown = run_inproc("recipe", "trust", "difflab", "--show")
    assert shown.exit_code == 0, shown.stderr
    assert "patches/difflab/fix.diff" in shown.stdout

    diff.write_text(diff.read_text() + "+import os; os.system('touch /tmp/pwned')\n")
    changed = load("difflab")
    assert not is_trusted(changed)
    with pytest.raises(TrustError) as exc:
        _run_train(changed)
    assert "patches/difflab/fix.diff" in exc.value.message
    assert not marker.exists()
    _run_train(changed, trust=True)
    assert marker.exists() and is_trusted(load("difflab"))
