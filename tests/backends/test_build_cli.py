"""`legacyrun build` end to end (real subprocess): lock missing, conda build from a local channel, dry run."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from support.backend_plans import gpu_host, recipe_data, resolution
from support.cli import run_cli
from support.conda_channel import LocalChannel

from legacyrun import lock
from legacyrun.recipe.loader import load_path


def _setup(tmp_path: Path, channel: LocalChannel) -> tuple[Path, Path]:
    recipe = tmp_path / "tinyproj.yaml"
    recipe.write_text(yaml.safe_dump(recipe_data({"faithful": {"python": "3.8", "torch": "1.9.0"}})))
    loaded = load_path(recipe)
    ws = tmp_path / "ws"
    ws.mkdir()
    res = resolution(
        recipe_hash=loaded.hash,
        profile="faithful",
        python="3.8",
        torch="1.9.0",
        cuda="11.3",
        installer="conda",
        conda_channels=[str(channel.path)],
        conda_specs=["python 3.8.*", "pytorch 1.9.0 *cuda11.3*"],
        host=gpu_host("12.4"),
    )
    lf = lock.Lockfile(recipe="tinyproj", recipe_hash=loaded.hash, resolution=res, patches={"p1": "c" * 64})
    lock.write(ws / "legacyrun.lock", lf)
    return recipe, ws


def test_build_without_lock_says_run_lock(tmp_path: Path) -> None:
    recipe = tmp_path / "tinyproj.yaml"
    recipe.write_text(yaml.safe_dump(recipe_data()))
    r = run_cli("build", recipe, "-w", tmp_path / "ws", "--backend", "venv")
    assert r.exit_code == 8
    assert "legacyrun lock" in r.stderr and "Traceback" not in r.stderr


def test_unknown_backend(tmp_path: Path, conda_channel: LocalChannel) -> None:
    recipe, ws = _setup(tmp_path, conda_channel)
    r = run_cli("build", recipe, "-w", ws, "--backend", "podman")
    assert r.exit_code == 2
    assert "docker, conda, venv" in r.stderr


def test_dry_run_then_build_with_default_choice(tmp_path: Path, conda_channel: LocalChannel) -> None:
    recipe, ws = _setup(tmp_path, conda_channel)
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock"}
    r = run_cli("build", recipe, "-w", ws, "--dry-run", "--json", env=env)
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["backend"] == "conda" and "no docker daemon answers" in data["why"]
    assert "pytorch 1.9.0 *cuda11.3*" in data["rendered"]["files"]["environment.yml"]
    assert not (ws / "env").exists()

    r = run_cli("build", recipe, "-w", ws, env=env)
    assert r.exit_code == 0, r.stderr
    assert "backend: conda (" in r.stdout and "built:" in r.stdout
    lf = lock.read(ws / "legacyrun.lock")
    assert lf.environment is not None and lf.environment.backend == "conda"
    assert (ws / "conda-lock.yml").exists()

    # What run/up do: the EnvRef from the lock, then exec inside it.
    from legacyrun.backends import get_backend
    from legacyrun.usecases.build import env_ref_from_lock
    from legacyrun.workspace import Workspace

    ref = env_ref_from_lock(Workspace.at(ws))
    assert ref is not None and ref.location == str(ws / "env")
    stream = get_backend(ref.backend).exec(ref, ["python", "-V"], cwd=ws, workspace=Workspace.at(ws))
    lines = list(stream)
    assert lines[0].startswith("fake-python 3.8") and stream.returncode == 0

    r = run_cli("build", recipe, "-w", ws, "--backend", "conda", env=env)
    assert r.exit_code == 0 and "up to date" in r.stdout

    r = run_cli("build", recipe, "-w", ws, "--gpu", "A100", env=env)
    assert r.exit_code == 2 and "legacyrun lock" in r.stderr
