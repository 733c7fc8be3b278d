"""`legacyrun up` of the legacy-style project through the docker backend, against the tests' real dockerd.

The image is built from the debootstrap base image; torch 2.13 (CPU) comes from a PEP 503 index that the tests'
HTTP server publishes (the PyTorch wheel index is mirrored onto it with --mirror, as an offline lab would do),
everything else from PyPI. The task runs in a container with the workspace mounted at the same path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.cli import run_cli
from support.legacy_project import make_legacy_project

pytestmark = [pytest.mark.slow, pytest.mark.docker]

TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def _local_torch_wheel() -> Path | None:
    for folder in (Path("/opt/wheels"), Path(os.environ.get("LEGACYRUN_TEST_WHEELS", "/nonexistent"))):
        found = sorted(folder.glob("torch-2.13.0*-cp311-*.whl")) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def test_up_docker_end_to_end(docker_host: object, git_factory: object, http_server: object, tmp_path: Path) -> None:
    wheel = _local_torch_wheel()
    if wheel is None:
        pytest.skip("no local torch 2.13.0 cp311 wheel to publish (set LEGACYRUN_TEST_WHEELS)")
    # A PEP 503 "simple" page for torch, with the wheel beside it (a link, not a copy: it is 190 MB).
    root: Path = http_server.root  # type: ignore[attr-defined]
    (root / "simple" / "torch").mkdir(parents=True)
    (root / "simple" / wheel.name).symlink_to(wheel)
    (root / "simple" / "torch" / "index.html").write_text(
        f'<!DOCTYPE html><html><body><a href="../{wheel.name}">{wheel.name}</a></body></html>\n'
    )
    index = http_server.url("simple")  # type: ignore[attr-defined]
    project = make_legacy_project(git_factory, http_server, tmp_path)
    ws = tmp_path / "ws"
    base = docker_host.base_image  # type: ignore[attr-defined]
    args = [
        "up",
        str(project.recipe_path),
        "--workspace",
        str(ws),
        "--backend",
        "docker",
        "--base-image",
        base,
        "--gpus",
        "1",
        "--cpu",
        "--trust",
        "--mirror",
        f"{TORCH_INDEX}={index}",
    ]

    res = run_cli(*args, timeout=2400)
    assert res.exit_code == 0, res.stdout[-4000:] + res.stderr[-4000:]
    assert "TRAINED 32 rows" in res.stdout
    runs = sorted((ws / "runs").iterdir())
    prov = json.loads((runs[-1] / "provenance.json").read_text())
    assert prov["environment"]["backend"] == "docker"
    assert prov["environment"]["location"].startswith("legacyrun/")
    assert prov["exit_code"] == 0 and prov["sources"]["toy"] == project.commit

    # Second up: nothing rebuilt, nothing fetched.
    res = run_cli(*args, "--json", timeout=600)
    assert res.exit_code == 0, res.stderr[-4000:]
    report = json.loads(res.stdout[res.stdout.index("{") :])
    assert [s["status"] for s in report["steps"]] == ["skipped"] * 5 + ["done"], report["steps"]
