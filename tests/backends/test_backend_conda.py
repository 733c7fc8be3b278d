"""conda backend against a real local channel: solve, install, conda-lock.yml, install from the lock alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.backend_plans import PlanFactory, gpu_host, resolution
from support.conda_channel import LocalChannel

from legacyrun.backends.conda import CondaBackend, installed
from legacyrun.backends.prefix import prefix_exec
from legacyrun.errors import BuildError

# The build string is pinned as the resolver must: otherwise a CPU build of the same version satisfies it.
SPECS = ["python 3.8.*", "pytorch 1.9.0 *cuda11.3*", "cudatoolkit 11.3.*"]


def _res(channel: LocalChannel, cuda_max: str = "12.4", specs: list[str] | None = None) -> object:
    return resolution(
        profile="faithful",
        python="3.8",
        torch="1.9.0",
        cuda="11.3",
        installer="conda",
        conda_channels=[str(channel.path)],
        conda_specs=specs or SPECS,
        host=gpu_host(cuda_max),
    )


def test_solve_install_lock_then_install_from_lock_alone(
    conda_channel: LocalChannel, make_plan: PlanFactory, tmp_path: Path
) -> None:
    plan = make_plan(_res(conda_channel), workspace=tmp_path / "ws1")
    backend = CondaBackend()
    lines: list[str] = []
    ref = backend.build(plan, lines.append)
    assert ref.built
    got = installed(plan.workspace.env)
    names = {(n, v, b) for n, v, b, _ in got}
    assert ("pytorch", "1.9.0", "py3.8_cuda11.3_0") in names
    assert ("cudatoolkit", "11.3.1", "h_0") in names
    assert ("python", "3.8.12", "h_0") in names
    lock = plan.workspace.conda_lockfile
    assert lock.exists()

    # conda-lock itself accepts the file.
    from conda_lock.lockfile import parse_conda_lock_file

    parsed = parse_conda_lock_file(lock)
    assert {p.name for p in parsed.package} == {"python", "pytorch", "cudatoolkit"}

    # A second build with the same inputs does nothing.
    again = backend.build(plan, lines.append)
    assert not again.built

    # A fresh workspace with only the lock installs the same packages, without the channel's repodata.
    for sub in ("linux-64", "noarch"):
        (conda_channel.path / sub / "repodata.json").unlink()
    ws2 = tmp_path / "ws2"
    ws2.mkdir()
    shutil.copy(lock, ws2 / "conda-lock.yml")
    plan2 = make_plan(_res(conda_channel), workspace=ws2)
    lines2: list[str] = []
    backend.build(plan2, lines2.append)
    assert any("no solve" in ln for ln in lines2)
    assert installed(plan2.workspace.env) == got
    assert (ws2 / "conda-lock.yml").read_text() == lock.read_text()

    # exec: the env's bin comes first on PATH.
    stream = prefix_exec(ref, ["python", "-c", "print(1)"], cwd=tmp_path)
    out = list(stream)
    assert stream.returncode == 0
    assert out[0].startswith("fake-python 3.8.12")


def test_cuda_too_old_names_the_driver(conda_channel: LocalChannel, make_plan: PlanFactory) -> None:
    plan = make_plan(_res(conda_channel, cuda_max="10.2"))
    with pytest.raises(BuildError) as err:
        CondaBackend().build(plan)
    msg = err.value.message
    assert "465.19.01" in msg and "CUDA 11.3" in msg and "10.2" in msg
    assert "\n" not in msg


def test_unsatisfiable_is_one_line(conda_channel: LocalChannel, make_plan: PlanFactory) -> None:
    plan = make_plan(_res(conda_channel, specs=["python 3.8.*", "pytorch 1.4.0"]))
    with pytest.raises(BuildError) as err:
        CondaBackend().build(plan)
    assert "cannot solve" in err.value.message and "pytorch" in err.value.message
    assert "\n" not in err.value.message
    assert err.value.hint


def test_render_is_deterministic(conda_channel: LocalChannel, make_plan: PlanFactory) -> None:
    plan = make_plan(_res(conda_channel), mirrors={conda_channel.url: "file:///mirror/x"})
    one, two = CondaBackend().render(plan), CondaBackend().render(plan)
    assert one == two
    assert "file:///mirror/x" in one.files["environment.yml"]
