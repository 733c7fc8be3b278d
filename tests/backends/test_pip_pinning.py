"""Hash-pinned pip sets of the docker and conda backends (issue 15, "locked all the way down"): what the plans render
from requirements.lock.txt, the one line that says why a set is not pinned, and real resolves with pip against this
machine's package index (a pure wheel for the image; the env's own pip for conda's extras)."""

from __future__ import annotations

import shutil
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
from support.backend_plans import PlanFactory, resolution

from legacyrun.backends.base import BuildPlan
from legacyrun.backends.conda import CondaBackend, locked_pip_set
from legacyrun.backends.docker import DockerBackend, pin_pip_set, pip_set_input
from legacyrun.backends.requirements import (
    LOCK_NAME,
    environment_yml,
    input_hash,
    not_pinned_text,
    pinned_or_reason,
    read_locked_set,
)

BASE = "debian:bookworm-slim"
SIX = {"modern": {"python": "3.11", "torch": "2.13.0", "pip": ["six==1.17.0"]}}
SHA = "ab" * 32
WHEEL = "six-1.17.0-py2.py3-none-any.whl"


def _docker_plan(make_plan: PlanFactory, **res: Any) -> BuildPlan:
    return make_plan(resolution(pip_specs=[], **res), profiles=SIX, base_image=BASE)


def _item(name: str, version: str, filename: str, sha: str | None = SHA) -> dict[str, Any]:
    info: dict[str, Any] = {"url": f"https://files.example/{filename}"}
    if sha:
        info["archive_info"] = {"hashes": {"sha256": sha}}
    return {"metadata": {"name": name, "version": version}, "download_info": info}


def test_report_pins_pure_wheels_and_refuses_platform_wheels_for_images() -> None:
    pure = {"install": [_item("six", "1.17.0", WHEEL)]}
    locked = pinned_or_reason(pure, "d" * 64, [], any_platform=False)
    assert locked.pinned and locked.lines == [f"six==1.17.0 --hash=sha256:{SHA}"]
    numpy = _item("numpy", "1.26.4", "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl")
    binary = {"install": [*pure["install"], numpy]}
    refused = pinned_or_reason(binary, "d" * 64, [], any_platform=False)
    assert not refused.pinned and refused.reason is not None and refused.reason.startswith("numpy has platform wheels")
    assert pinned_or_reason(binary, "d" * 64, [], any_platform=True).pinned  # a prefix is built on this host
    nohash = {"install": [_item("six", "1.17.0", "six-1.17.0.tar.gz", sha=None)]}
    assert pinned_or_reason(nohash, "d" * 64, [], any_platform=True).reason == "the index gives no sha256 for six"


def test_locked_set_is_read_only_for_its_own_input(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    digest = input_hash("docker", "six==1.17.0\n")
    path.write_text(not_pinned_text(digest, "no python3.11\n on this host"))
    found = read_locked_set(path, digest)
    assert found is not None and not found.pinned and found.reason == "no python3.11 on this host"
    assert read_locked_set(path, input_hash("conda", "six==1.17.0\n")) is None
    assert read_locked_set(tmp_path / "missing.txt", digest) is None


def test_docker_renders_the_pinned_set_under_the_same_env_id(make_plan: PlanFactory) -> None:
    plan = _docker_plan(make_plan)
    before = DockerBackend().render(plan)
    assert "pip install -r /opt/legacyrun/requirements.txt" in before.files["Dockerfile"]
    assert LOCK_NAME not in before.files
    first = "pip set: resolved here and hash-pinned into requirements.lock.txt at the first build"
    assert any(s.startswith(first) for s in before.summary), before.summary
    found = pip_set_input(plan)
    assert found is not None
    lock = f"# legacyrun requirements lock; input {found[1]}\nsix==1.17.0 --hash=sha256:{SHA}\n"
    plan.workspace.root.mkdir(parents=True, exist_ok=True)
    (plan.workspace.root / LOCK_NAME).write_text(lock)
    after = DockerBackend().render(plan)
    dockerfile = after.files["Dockerfile"]
    assert f"COPY {LOCK_NAME} /opt/legacyrun/{LOCK_NAME}" in dockerfile
    assert f"python -m pip install --require-hashes --no-deps -r /opt/legacyrun/{LOCK_NAME}" in dockerfile
    assert "requirements.txt /opt" not in dockerfile
    assert after.files[LOCK_NAME] == lock
    assert after.env_id == before.env_id  # pinning at the first build does not rename the image `up` planned
    assert any("1 package(s) from requirements.lock.txt (hash-pinned" in s for s in after.summary)


def test_docker_says_why_a_set_is_not_pinned(make_plan: PlanFactory) -> None:
    plan = _docker_plan(make_plan)
    found = pip_set_input(plan)
    assert found is not None
    plan.workspace.root.mkdir(parents=True, exist_ok=True)
    (plan.workspace.root / LOCK_NAME).write_text(not_pinned_text(found[1], "no python3.11 on this host"))
    rendered = DockerBackend().render(plan)
    assert "pip install -r /opt/legacyrun/requirements.txt" in rendered.files["Dockerfile"]
    lines = [s for s in rendered.summary if s.startswith("pip set")]
    assert lines == ["pip set not hash-pinned: no python3.11 on this host; pip resolves it at install time"]
    conda_plan = _docker_plan(make_plan, installer="conda", conda_specs=["python 3.11.*"])
    assert pip_set_input(conda_plan) is None
    assert any("micromamba installs it from environment.yml" in s for s in DockerBackend().render(conda_plan).summary)


def test_conda_summary_names_the_pinned_extras(make_plan: PlanFactory) -> None:
    plan = make_plan(resolution(installer="conda", conda_specs=["python 3.11.*"]), profiles=SIX)
    line = "pip set: resolved here and hash-pinned into requirements.lock.txt at build (with the env's own pip)"
    assert line in CondaBackend().render(plan).summary
    digest = input_hash("conda", environment_yml(plan))
    plan.workspace.root.mkdir(parents=True, exist_ok=True)
    (plan.workspace.root / LOCK_NAME).write_text(f"# legacyrun requirements lock; input {digest}\n")
    locked = locked_pip_set(plan)
    assert locked is not None and locked.pinned and locked.lines == []


def _six_sha() -> str:
    """sha256 of six 1.17.0's wheel as this machine's package index lists it (skip when the index has none)."""
    page = Path("/opt/pypi/simple/six/index.html")
    text = page.read_text() if page.is_file() else ""
    if f"{WHEEL}#sha256=" not in text:
        pytest.skip("no local package index with six 1.17.0 (/opt/pypi/simple)")
    return text.split(f"{WHEEL}#sha256=", 1)[1][:64]


@pytest.mark.slow
def test_docker_pins_with_the_hosts_pip(make_plan: PlanFactory) -> None:
    if shutil.which("python3.11") is None:
        pytest.skip("no python3.11 on this host")
    sha = _six_sha()
    plan = _docker_plan(make_plan)
    lines: list[str] = []
    locked = pin_pip_set(plan, lines.append)
    assert locked is not None and locked.pinned, lines[-5:]
    assert locked.lines == [f"six==1.17.0 --hash=sha256:{sha}"]
    text = (plan.workspace.root / LOCK_NAME).read_text()
    assert text == locked.text
    rendered = DockerBackend().render(plan)
    assert rendered.files[LOCK_NAME] == text
    assert "--require-hashes --no-deps" in rendered.files["Dockerfile"]
    assert pin_pip_set(plan, lines.append) == locked  # kept: no second resolve


@pytest.mark.slow
def test_conda_extras_resolve_and_install_hash_pinned(make_plan: PlanFactory, tmp_path: Path) -> None:
    """The conda backend's pip step in a real env (a venv stands in for the prefix: the step only runs its pip)."""
    sha = _six_sha()
    prefix = tmp_path / "prefix"
    venv.EnvBuilder(with_pip=True).create(prefix)  # ensurepip: pip from the interpreter's own wheel
    site = next((prefix / "lib").glob("python3*/site-packages"))
    py = f"python {sys.version_info.major}.{sys.version_info.minor}.*"
    plan = make_plan(resolution(installer="conda", conda_specs=[py]), profiles=SIX)
    lines: list[str] = []
    CondaBackend._pip_extras(plan, prefix, lines.append, None)
    locked = locked_pip_set(plan)
    assert locked is not None and locked.pinned, lines[-5:]
    assert locked.lines == [f"six==1.17.0 --hash=sha256:{sha}"]
    assert any("--require-hashes --no-deps" in ln for ln in lines)
    assert list(site.glob("six-1.17.0.dist-info"))
