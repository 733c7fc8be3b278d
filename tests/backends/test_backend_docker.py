"""docker backend against a real dockerd: build a small env from PyPI, run in it, cache hit, source-only rebuild
(of a built source: the native step layer reruns, the requirement layers stay cached)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.backend_plans import PlanFactory, resolution
from support.dockerd import DockerDaemon

from legacyrun.backends.base import BuildPlan
from legacyrun.backends.docker import DockerBackend

pytestmark = [pytest.mark.slow, pytest.mark.docker]

PROFILES = {"modern": {"python": "3.11", "torch": "2.13.0", "pip": ["six==1.16.0"]}}


def _steps(lines: list[str]) -> list[tuple[str, bool]]:
    """(instruction, from cache) for every step of a classic-builder stream."""
    out: list[tuple[str, bool]] = []
    for line in lines:
        m = re.match(r"Step \d+/\d+ : (.*)", line)
        if m:
            out.append((m.group(1), False))
        elif "Using cache" in line and out:
            out[-1] = (out[-1][0], True)
    return out


# A native step that builds from the sources: the patch-only rebuild below must rerun it (and only what follows the
# sources layer), while the requirement layers come from the cache.
GEN = {
    "name": "gen",
    "source": "proj",
    "argv": ["python", "-c", "import hello; open('built.txt', 'w').write(hello.GREETING)"],
    "cuda": False,
}
BUILT = {"modern": {**PROFILES["modern"], "build": [GEN]}}


def _plan(make_plan: PlanFactory, ws: Path, base: str, patch_hash: str | None) -> BuildPlan:
    res = resolution(pip_specs=[])
    return make_plan(res, profiles=BUILT, workspace=ws, base_image=base, patch_hash=patch_hash)


def test_build_run_cache_and_source_only_rebuild(
    docker_host: DockerDaemon, make_plan: PlanFactory, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    src = ws / "src" / "proj"
    src.mkdir(parents=True)
    (src / "hello.py").write_text("GREETING = 'v1'\n")
    backend = DockerBackend()

    plan = _plan(make_plan, ws, docker_host.base_image, None)
    first: list[str] = []
    ref = backend.build(plan, first.append)
    assert ref.built
    assert backend.exists(plan)
    image = docker_host.client.images.get(ref.location)
    assert image.labels["org.legacyrun.recipe"] == "tinyproj"
    assert "0123456789abcdef" in image.labels["org.legacyrun.commits"]

    stream = backend.exec(
        ref,
        [
            "python",
            "-c",
            "import six, hello, sys; print(six.__version__, hello.GREETING, sys.prefix, open('built.txt').read())",
        ],
        cwd=src,
        workspace=plan.workspace,
    )
    out = list(stream)
    assert stream.returncode == 0, out
    assert out[-1] == "1.16.0 v1 /opt/legacyrun/env v1"

    # Same inputs: the tag exists, nothing is built.
    second: list[str] = []
    assert not backend.build(plan, second.append).built
    assert not any(line.startswith("Step ") for line in second)

    # A patch changes only the sources: the dependency layers come from cache, the COPY of src/ and later rebuild.
    (src / "hello.py").write_text("GREETING = 'v2'\n")
    patched = _plan(make_plan, ws, docker_host.base_image, "f" * 64)
    third: list[str] = []
    ref2 = backend.build(patched, third.append)
    assert ref2.built and ref2.location != ref.location
    steps = _steps(third)[1:]  # FROM never reports a cache hit
    rebuilt = [i for i, (_instr, cached) in enumerate(steps) if not cached]
    first_rebuilt = steps[rebuilt[0]][0]
    assert first_rebuilt.startswith("COPY src/"), steps
    assert rebuilt[0] > 0 and all(cached for _instr, cached in steps[: rebuilt[0]])
    assert any(instr.startswith("RUN python -m pip install") and cached for instr, cached in steps)
    assert rebuilt == list(range(rebuilt[0], len(steps)))
    assert any(instr.startswith("RUN") and "built.txt" in instr for instr, cached in steps if not cached)

    stream = backend.exec(
        ref2,
        ["python", "-c", "import hello; print(hello.GREETING, open('built.txt').read())"],
        cwd=src,
        workspace=patched.workspace,
    )
    assert list(stream)[-1] == "v2 v2" and stream.returncode == 0  # the step rebuilt from the patched source
    backend.remove(ref)
    assert not backend.exists(plan)


def test_native_step_runs_in_image_and_exec_keeps_its_output(
    docker_host: DockerDaemon, make_plan: PlanFactory, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    src = ws / "src" / "proj"
    src.mkdir(parents=True)
    (src / "stale").mkdir()
    (src / "stale" / "old.o").write_text("old")
    (ws / "data").mkdir()
    script = (
        "import os; assert not os.path.exists('stale'); "
        "open('built.txt', 'w').write(os.environ['TORCH_CUDA_ARCH_LIST'] + ' ' + os.environ['MAX_JOBS'])"
    )
    profiles = {
        "modern": {
            **PROFILES["modern"],
            "build": [
                {
                    "name": "gen",
                    "source": "proj",
                    "argv": ["python", "-c", script],
                    "clean": ["stale"],
                    "env": {"MAX_JOBS": "2"},
                    "cuda": False,
                }
            ],
        }
    }
    res = resolution(pip_specs=[], torch_cuda_arch_list="9.0")
    plan = make_plan(res, profiles=profiles, workspace=ws, base_image=docker_host.base_image)
    backend = DockerBackend()
    ref = backend.build(plan)
    assert ref.sources_in_env
    probe = f"print(open('built.txt').read()); open({str(ws / 'data' / 'out.txt')!r}, 'w').write('from the container')"
    stream = backend.exec(ref, ["python", "-c", probe], cwd=src, workspace=plan.workspace)
    out = list(stream)
    assert stream.returncode == 0, out
    assert out[-1] == "9.0 2"  # the image's built sources, not the host's (which have no built.txt)
    assert not (src / "built.txt").exists()
    assert (ws / "data" / "out.txt").read_text() == "from the container"
