"""Pure parts of the backends: rendered Dockerfiles, ids, build contexts, backend choice; plus native steps run
for real as subprocesses."""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import pytest
from support.backend_plans import PlanFactory, gpu_host, resolution

from legacyrun.backends import default_backend, get_backend
from legacyrun.backends.docker import DockerBackend, render_dockerfile, write_context
from legacyrun.backends.identity import source_tree_hash
from legacyrun.backends.native import run_local_steps
from legacyrun.backends.requirements import pip_lines
from legacyrun.errors import BuildError, UsageError

LEGACY = {
    "faithful": {
        "python": "3.7",
        "torch": "1.4.0",
        "cuda": "10.1",
        "gcc": "7",
        "pip": ["yacs==0.1.8", "torch==9.9"],
        "apt": ["libgl1"],
        "build": [
            {
                "name": "maskrcnn",
                "source": "proj",
                "argv": ["python", "setup.py", "build", "develop"],
                "clean": ["build"],
                "env": {"MAX_JOBS": "2"},
            }
        ],
    }
}


def _legacy_res() -> object:
    return resolution(
        profile="faithful",
        python="3.7",
        torch="1.4.0",
        torchvision="0.5.0",
        cuda="10.1",
        cudnn="7",
        gcc="7",
        base_image="nvidia/cuda:10.1-cudnn7-devel-ubuntu18.04",
        torch_cuda_arch_list="7.0;7.5+PTX",
        pip_index_url="https://download.pytorch.org/whl/cu101",
        pip_specs=["torch==1.4.0", "torchvision==0.5.0"],
        host=gpu_host("11.4"),
    )


def test_dockerfile_is_deterministic_and_layered(make_plan: PlanFactory) -> None:
    plan = make_plan(_legacy_res(), profiles=LEGACY, commits={"proj": "a" * 40}, patch_hash="b" * 64)
    text = render_dockerfile(plan)
    assert text == render_dockerfile(plan)
    assert text.startswith("# Rendered by legacyrun")
    assert "FROM nvidia/cuda:10.1-cudnn7-devel-ubuntu18.04\n" in text
    assert "apt-get install -y --no-install-recommends g++-7 gcc-7 libgl1" in text
    assert "ENV CC=gcc-7 CXX=g++-7" in text
    assert "python3.7 -m venv /opt/legacyrun/env" in text
    assert "--extra-index-url https://download.pytorch.org/whl/cu101 -r /opt/legacyrun/requirements.txt" in text
    assert 'TORCH_CUDA_ARCH_LIST="7.0;7.5+PTX"' in text
    assert '"FORCE_CUDA=1"' in text and '"MAX_JOBS=2"' in text and '"setup.py", "build", "develop"' in text
    # Order: dependencies, then sources, then the native build, then labels.
    order = [text.index(s) for s in ("apt-get install", "pip install", "COPY src/", "setup.py", "LABEL ")]
    assert order == sorted(order)
    assert '"aaaaaaaa' in text and "b" * 64 in text
    files = DockerBackend().render(plan).files
    # The resolution's torch pin wins over the profile's extra of the same name.
    # ninja comes with native build steps (parallel cpp_extension builds).
    assert files["requirements.txt"] == "torch==1.4.0\ntorchvision==0.5.0\nyacs==0.1.8\nninja\n"


def test_base_image_override_and_missing(make_plan: PlanFactory) -> None:
    plan = make_plan(_legacy_res(), profiles=LEGACY, base_image="lab/cuda:offline")
    assert "FROM lab/cuda:offline\n" in render_dockerfile(plan)
    bare = make_plan(resolution(), base_image=None)
    with pytest.raises(UsageError, match="--base-image"):
        render_dockerfile(bare)


def test_env_id_follows_sources_only_when_they_change(make_plan: PlanFactory, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    src = ws / "src" / "proj"
    src.mkdir(parents=True)
    (src / "a.py").write_text("x = 1\n")
    (src / ".git").write_text("gitdir: elsewhere\n")
    plan = make_plan(_legacy_res(), profiles=LEGACY, workspace=ws)
    one = DockerBackend().render(plan).env_id
    assert DockerBackend().render(plan).env_id == one
    (src / ".git").write_text("gitdir: moved\n")  # .git is not part of the sources
    assert DockerBackend().render(plan).env_id == one
    os.utime(src / "a.py", (1, 1))  # nor are mtimes, nor bytecode that running the code writes
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert DockerBackend().render(plan).env_id == one
    (src / "a.py").write_text("x = 2\n")
    assert DockerBackend().render(plan).env_id != one
    assert source_tree_hash(ws / "src") != source_tree_hash(tmp_path / "nowhere")


def test_build_context_is_byte_identical(make_plan: PlanFactory, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "src" / "proj" / "pkg").mkdir(parents=True)
    (ws / "src" / "proj" / "pkg" / "m.py").write_text("y = 2\n")
    (ws / "src" / "proj" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(ws / "src" / "proj" / "run.sh", 0o755)
    (ws / "src" / "proj" / ".git").mkdir()
    (ws / "src" / "proj" / ".git" / "HEAD").write_text("ref\n")
    plan = make_plan(_legacy_res(), profiles=LEGACY, workspace=ws)
    rendered = DockerBackend().render(plan)
    a, b = io.BytesIO(), io.BytesIO()
    write_context(plan, rendered, a)
    os.utime(ws / "src" / "proj" / "pkg" / "m.py", (5, 5))
    write_context(plan, rendered, b)
    assert a.getvalue() == b.getvalue()
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(a.getvalue())) as tar:
        names = tar.getnames()
        assert tar.getmember("src/proj/run.sh").mode == 0o755
        assert all(m.mtime == 0 and m.uid == 0 for m in tar.getmembers())
    assert "Dockerfile" in names and "src/proj/pkg/m.py" in names
    assert not any(".git" in n for n in names)


def test_unknown_backend_lists_names() -> None:
    with pytest.raises(UsageError, match="docker, conda, venv"):
        get_backend("podman")


def test_default_backend_without_daemon(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    name, why = default_backend()
    assert name == "conda"
    assert "no docker daemon answers" in why


def test_conda_installer_keeps_torch_out_of_pip(make_plan: PlanFactory) -> None:
    res = resolution(installer="conda", pip_specs=["torch==1.4.0", "dominate==2.3.1"])
    plan = make_plan(res, profiles={"modern": {"python": "3.11", "torch": "2.13.0", "pip": ["visdom==0.1.6.1"]}})
    assert pip_lines(plan) == ["dominate==2.3.1", "visdom==0.1.6.1"]


def _fake_prefix(tmp_path: Path) -> Path:
    prefix = tmp_path / "env"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "python").symlink_to(sys.executable)
    return prefix


def test_native_steps_clean_env_and_log(make_plan: PlanFactory, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    src = ws / "src" / "proj"
    (src / "build" / "lib").mkdir(parents=True)
    (src / "build" / "lib" / "stale.so").write_text("old")
    script = (
        "import os, pathlib; "
        "assert not pathlib.Path('build').exists(), 'stale build dir kept'; "
        "print('ARCH', os.environ['TORCH_CUDA_ARCH_LIST'], os.environ['FORCE_CUDA'], os.environ['CC'], "
        "os.environ['MAX_JOBS'], os.environ['PATH'].split(os.pathsep)[0])"
    )
    profiles = {"faithful": {**LEGACY["faithful"], "build": [{**LEGACY["faithful"]["build"][0]}]}}
    profiles["faithful"]["build"][0]["argv"] = ["python", "-c", script]
    plan = make_plan(_legacy_res(), profiles=profiles, workspace=ws)
    prefix = _fake_prefix(tmp_path)
    lines: list[str] = []
    logs = run_local_steps(plan, prefix, lines.append)
    assert logs == [ws / ".legacyrun" / "logs" / "build-maskrcnn.log"]
    arch = next(ln for ln in logs[0].read_text().splitlines() if ln.startswith("ARCH "))
    _, archs, force, cc, jobs, first_path = arch.split(" ")
    assert (archs, force, jobs, first_path) == ("7.0;7.5+PTX", "1", "2", str(prefix / "bin"))
    # Outside docker the compiler is one this machine has, never the base image's gcc-7.
    if shutil.which("gcc-7") is None:
        assert cc != "gcc-7"
    assert shutil.which(cc) is not None


def test_native_step_failure_names_log_and_calls_hook(make_plan: PlanFactory, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "src" / "proj").mkdir(parents=True)
    profiles = {"faithful": {**LEGACY["faithful"], "build": [{**LEGACY["faithful"]["build"][0]}]}}
    profiles["faithful"]["build"][0]["argv"] = ["python", "-c", "import sys; print('nvcc fatal: boom'); sys.exit(3)"]
    plan = make_plan(_legacy_res(), profiles=profiles, workspace=ws)
    seen: list[str] = []
    with pytest.raises(BuildError) as err:
        run_local_steps(plan, _fake_prefix(tmp_path), lambda _l: None, on_failure=seen.append)
    assert "build step maskrcnn failed (exit 3)" in err.value.message
    assert str(ws / ".legacyrun" / "logs" / "build-maskrcnn.log") in err.value.message
    assert seen and "nvcc fatal: boom" in seen[0]


def test_channel_urls_and_mirrors() -> None:
    from legacyrun.backends.conda import driver_for
    from legacyrun.backends.requirements import channel_url

    assert channel_url("pytorch") == "https://conda.anaconda.org/pytorch"
    assert channel_url("defaults") == "https://repo.anaconda.com/pkgs/main"
    assert channel_url("/srv/chan") == "file:///srv/chan"
    mirrors = {"https://conda.anaconda.org": "https://mirror.example/conda", "https://conda.anaconda.org/pytorch": "x"}
    assert channel_url("pytorch", mirrors) == "x"
    assert channel_url("conda-forge", mirrors) == "https://mirror.example/conda/conda-forge"
    assert driver_for("11.3.1") == "465.19.01" and driver_for("10.2") == "440.33"


def test_docker_run_argv(make_plan: PlanFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from legacyrun.backends.base import EnvRef

    if shutil.which("docker") is None:
        pytest.skip("needs the docker CLI on PATH (apt-get install docker.io)")
    ws = tmp_path / "ws"
    for sub in ("src", "data", "runs"):
        (ws / sub).mkdir(parents=True)
    plan = make_plan(_legacy_res(), profiles=LEGACY, workspace=ws)
    from legacyrun.resolution import GpuInfo
    from legacyrun.run.gpus import select_gpus

    # The user's own CUDA_VISIBLE_DEVICES went into the selection already; the backend never reads it again.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    visible = [GpuInfo(name="T4", index=i) for i in ("1", "2")]
    ref = EnvRef("docker", "x", "legacyrun/tinyproj:abc", sources_in_env=True)
    argv = DockerBackend.run_argv(
        ref,
        ["python", "train.py"],
        cwd=ws / "src",
        env={"A": "1", "CUDA_VISIBLE_DEVICES": "1,2"},
        gpus=select_gpus("2", visible),
        workspace=plan.workspace,
    )
    joined = " ".join(argv)
    assert "--network=host" in argv and f"--user {os.getuid()}:{os.getgid()}" in joined
    assert f"-v {ws / 'data'}:{ws / 'data'}" in joined and f"{ws / 'src'}:" not in joined
    assert '--gpus "device=1,2"' in joined and "-e A=1" in joined
    # inside, the runtime renumbers the two devices 0 and 1
    assert "-e CUDA_VISIBLE_DEVICES=0,1" in joined and "CUDA_VISIBLE_DEVICES=1,2" not in joined
    assert argv[-3:] == ["legacyrun/tinyproj:abc", "python", "train.py"]
    whole = DockerBackend.run_argv(EnvRef("docker", "x", "img"), ["true"], cwd=ws, gpus=None, workspace=plan.workspace)
    assert f"-v {ws}:{ws}" in " ".join(whole) and "--gpus" not in whole
