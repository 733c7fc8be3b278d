"""The step environment of native builds (no compile): honest CPU plans, the host compiler choice outside docker,
CUDA headers and libraries from the env's nvidia-* wheels, MAX_JOBS, and the docker rendering of skipped steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.backend_plans import PlanFactory, gpu_host, resolution

from legacyrun.backends.docker import DockerBackend, render_dockerfile
from legacyrun.backends.native import (
    HostCompiler,
    choose_compiler,
    host_compilers,
    local_cuda_env,
    run_local_steps,
    step_env,
)
from legacyrun.backends.requirements import pip_lines
from legacyrun.backends.venv import VenvBackend

GCC12 = [HostCompiler("gcc-12", "g++-12", 12, True), HostCompiler("gcc", "g++", 12, False)]


def _profiles(steps: list[dict[str, Any]], gcc: str | None = ">=9") -> dict[str, dict[str, Any]]:
    prof: dict[str, Any] = {"python": "3.11", "torch": "2.13.0", "build": steps}
    if gcc:
        prof["gcc"] = gcc
    return {"modern": prof}


def _step(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "source": "proj", "argv": ["python", "-c", "pass"], **kw}


def _cuda_res() -> Any:
    return resolution(cuda="13.0", gcc="11", torch_cuda_arch_list="9.0", host=gpu_host("13.0"))


# -- compiler choice ------------------------------------------------------------------------------------------------


def test_docker_gcc_is_not_used_on_a_host_that_lacks_it() -> None:
    # The resolution's gcc 11 is the base image's; this host has only gcc 12.
    choice = choose_compiler(GCC12, gcc_spec=">=9", pinned="11", nvcc_gcc_max=15)
    assert choice.pair == ("gcc-12", "g++-12") and choice.note is None
    # A plain C++ step (no nvcc) gets the same.
    assert choose_compiler(GCC12, gcc_spec=">=9", pinned="11", nvcc_gcc_max=None).pair == ("gcc-12", "g++-12")


def test_pinned_gcc_wins_when_the_host_has_it() -> None:
    both = [HostCompiler("gcc-11", "g++-11", 11, True), *GCC12]
    assert choose_compiler(both, gcc_spec=">=9", pinned="11", nvcc_gcc_max=15).pair == ("gcc-11", "g++-11")


def test_nvcc_limit_picks_an_older_gcc_n() -> None:
    host = [HostCompiler("gcc-14", "g++-14", 14, True), HostCompiler("gcc-10", "g++-10", 10, True)]
    host.append(HostCompiler("gcc", "g++", 14, False))
    assert choose_compiler(host, gcc_spec=">=5.4,<11", pinned=None, nvcc_gcc_max=10).pair == ("gcc-10", "g++-10")
    assert choose_compiler(host, gcc_spec=None, pinned=None, nvcc_gcc_max=13).pair == ("gcc-10", "g++-10")
    assert choose_compiler(host, gcc_spec=None, pinned=None, nvcc_gcc_max=None).pair == ("gcc-14", "g++-14")


def test_default_gcc_with_a_note_when_the_spec_cannot_hold() -> None:
    choice = choose_compiler(GCC12, gcc_spec=">=5.4,<11", pinned="10", nvcc_gcc_max=15)
    assert choice.pair == ("gcc", "g++")
    assert choice.note and "gcc >=5.4,<11" in choice.note and "default gcc 12" in choice.note


def test_nothing_accepted_or_nothing_found() -> None:
    choice = choose_compiler([HostCompiler("gcc", "g++", 14, False)], gcc_spec=None, pinned=None, nvcc_gcc_max=10)
    assert choice.pair == ("gcc", "g++") and choice.note and "nvcc may refuse" in choice.note
    empty = choose_compiler([], gcc_spec=None, pinned=None, nvcc_gcc_max=10)
    assert empty.pair is None and empty.note and "no gcc on PATH" in empty.note


def _tool(folder: Path, name: str, body: str = "exit 0") -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def test_host_compilers_probe_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("gcc-9", "g++-9", "gcc-13", "g++-13", "gcc-7"):  # gcc-7 without g++-7 is no pair
        _tool(bin_dir, name)
    _tool(bin_dir, "gcc", "echo 13.2.0")
    _tool(bin_dir, "g++")
    found = host_compilers(str(bin_dir))
    assert found == [
        HostCompiler("gcc-13", "g++-13", 13, True),
        HostCompiler("gcc-9", "g++-9", 9, True),
        HostCompiler("gcc", "g++", 13, False),
    ]


# -- the step environment ---------------------------------------------------------------------------------------


def test_cpu_plan_unsets_cuda_variables(make_plan: PlanFactory) -> None:
    plan = make_plan(resolution(), profiles=_profiles([_step("op", env={"FORCE_CUDA": "1", "X": "y"})]))
    env = step_env(plan, plan.profile_spec.build[0], cuda_home="/usr/local/cuda", compiler=("gcc-12", "g++-12"))
    assert env["FORCE_CUDA"] is None and env["TORCH_CUDA_ARCH_LIST"] is None
    assert "CUDA_HOME" not in env and env["X"] == "y" and env["CXX"] == "g++-12"


def test_cuda_plan_sets_force_cuda_only_for_cuda_steps(make_plan: PlanFactory) -> None:
    steps = [_step("op"), _step("pure", cuda=False)]
    plan = make_plan(_cuda_res(), profiles=_profiles(steps))
    op, pure = plan.profile_spec.build
    env = step_env(plan, op, cuda_home="/opt/cuda", compiler=None)
    assert (env["FORCE_CUDA"], env["TORCH_CUDA_ARCH_LIST"], env["CUDA_HOME"]) == ("1", "9.0", "/opt/cuda")
    assert "CC" not in env
    assert "FORCE_CUDA" not in step_env(plan, pure, cuda_home="/opt/cuda", compiler=None)


def test_wheel_headers_and_cudart_link(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    nv = prefix / "lib" / "python3.11" / "site-packages" / "nvidia"
    for pkg in ("cu13", "cudnn"):
        (nv / pkg / "include").mkdir(parents=True)
        (nv / pkg / "lib").mkdir()
    (nv / "cu13" / "lib" / "libcudart.so.13").write_text("")
    bare = tmp_path / "cuda"  # nvcc and headers only: no libcudart.so
    (bare / "lib").mkdir(parents=True)
    env = local_cuda_env(prefix, str(bare))
    assert env["CPATH"].split(os.pathsep)[:2] == [str(nv / "cu13" / "include"), str(nv / "cudnn" / "include")]
    link_dir = Path(env["LIBRARY_PATH"].split(os.pathsep)[0])
    assert (link_dir / "libcudart.so").resolve() == (nv / "cu13" / "lib" / "libcudart.so.13").resolve()
    (bare / "lib" / "libcudart.so").write_text("")  # a full toolkit links its own
    assert str(link_dir) not in local_cuda_env(prefix, str(bare))["LIBRARY_PATH"]


def _fake_prefix(tmp_path: Path) -> Path:
    prefix = tmp_path / "env"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "python").symlink_to(sys.executable)
    return prefix


SHOW = (
    "import json, os; "
    "print('SEEN', json.dumps([os.environ.get(k) for k in ('FORCE_CUDA', 'TORCH_CUDA_ARCH_LIST', 'MAX_JOBS', 'CC')]))"
)


def test_cpu_plan_runs_build_steps_and_skips_cuda_only_ones(
    make_plan: PlanFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_CUDA", "1")  # from the user's shell: must not reach a CPU build
    monkeypatch.setenv("TORCH_CUDA_ARCH_LIST", "8.6")
    monkeypatch.delenv("MAX_JOBS", raising=False)
    steps = [_step("cpuop", argv=["python", "-c", SHOW]), _step("cudaop", cpu="skip", argv=["false"])]
    ws = tmp_path / "ws"
    (ws / "src" / "proj").mkdir(parents=True)
    plan = make_plan(resolution(gcc="11"), profiles=_profiles(steps), workspace=ws)
    lines: list[str] = []
    logs = run_local_steps(plan, _fake_prefix(tmp_path), lines.append)
    assert [p.name for p in logs] == ["build-cpuop.log"]
    assert any("cudaop: skipped on this CPU plan" in ln for ln in lines)
    seen = next(ln for ln in lines if ln.startswith("SEEN"))
    force, arch, jobs, cc = json.loads(seen[5:])
    assert (force, arch, jobs) == (None, None, str(os.cpu_count()))
    assert cc != "gcc-11" or Path("/usr/bin/gcc-11").exists()


def test_user_max_jobs_is_kept(make_plan: PlanFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_JOBS", "1")
    ws = tmp_path / "ws"
    (ws / "src" / "proj").mkdir(parents=True)
    plan = make_plan(resolution(), profiles=_profiles([_step("op", argv=["python", "-c", SHOW])]), workspace=ws)
    lines: list[str] = []
    run_local_steps(plan, _fake_prefix(tmp_path), lines.append)
    assert json.loads(next(ln for ln in lines if ln.startswith("SEEN"))[5:])[2] == "1"


def test_docker_render_leaves_out_skipped_steps_and_force_cuda(make_plan: PlanFactory) -> None:
    steps = [_step("cpuop", env={"FORCE_CUDA": "1"}), _step("cudaop", cpu="skip")]
    plan = make_plan(resolution(gcc="11"), profiles=_profiles(steps), base_image="ubuntu:22.04")
    text = render_dockerfile(plan)
    assert "# build step cudaop: skipped on this CPU plan" in text
    assert "FORCE_CUDA" not in text and '"CC=gcc-11"' in text  # inside the image its own gcc-11 is right
    cuda = make_plan(_cuda_res(), profiles=_profiles(steps), base_image="nvidia/cuda:13.0.0-devel-ubuntu24.04")
    cuda_text = render_dockerfile(cuda)
    assert cuda_text.count('"FORCE_CUDA=1"') == 2 and "skipped" not in cuda_text
    summary = DockerBackend().render(plan).summary
    assert summary[-1] == "native build steps: cpuop; skipped on this CPU plan: cudaop"
    assert VenvBackend().render(cuda).summary[-1] == "native build steps: cpuop (CUDA), cudaop (CUDA)"


def test_ninja_comes_with_build_steps(make_plan: PlanFactory) -> None:
    res = resolution(pip_specs=["torch==2.13.0"])
    assert pip_lines(make_plan(res, profiles=_profiles([_step("op")]))) == ["torch==2.13.0", "ninja"]
    assert pip_lines(make_plan(res)) == ["torch==2.13.0"]


def test_ccache_wrappers_route_compilers_and_nvcc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wrapper scripts: CC/CXX names resolve to them through PATH (after the env's bin), an absolute CC is
    replaced by its wrapper, nvcc goes through ccache and its own host-compiler calls do not."""
    from legacyrun.backends.ccache import INSIDE_NVCC, wrap_compilers

    tools = tmp_path / "tools"
    tools.mkdir()
    calls = tmp_path / "calls.txt"
    for name in ("ccache", "gcc-77", "g++-77", "nvcc", "mycc"):
        (tools / name).write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\n')
        (tools / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.delenv("CCACHE_DIR", raising=False)
    prefix = tmp_path / "env"
    (prefix / "bin").mkdir(parents=True)
    env: dict[str, str | None] = {"CC": "gcc-77", "CXX": "g++-77", "PATH": f"{prefix / 'bin'}{os.pathsep}{tools}"}
    note = wrap_compilers(env, prefix, tmp_path, nvcc=str(tools / "nvcc"))
    wrappers = prefix / ".legacyrun-ccache"
    assert note and "ccache" in note
    assert str(env["PATH"]).split(os.pathsep)[:2] == [str(prefix / "bin"), str(wrappers)]
    assert env["CC"] == "gcc-77" and env["PYTORCH_NVCC"] == str(wrappers / "nvcc")
    assert env["CCACHE_BASEDIR"] == str(tmp_path) and str(env["CCACHE_DIR"]).endswith("ccache")
    run_env = {k: v for k, v in env.items() if v is not None}
    subprocess.run(["gcc-77", "-c", "x.c"], env=run_env, check=True)
    subprocess.run([str(wrappers / "nvcc"), "-c", "y.cu"], env=run_env, check=True)
    subprocess.run(["gcc-77", "-E", "z"], env={**run_env, INSIDE_NVCC: "1"}, check=True)
    assert calls.read_text().splitlines() == [
        f"ccache {tools / 'gcc-77'} -c x.c",
        f"ccache {tools / 'nvcc'} -c y.cu",
        "gcc-77 -E z",
    ]
    absolute: dict[str, str | None] = {"CC": str(tools / "mycc"), "PATH": str(prefix / "bin")}
    wrap_compilers(absolute, prefix, tmp_path, nvcc=None)
    assert absolute["CC"] == str(wrappers / "mycc") and "PYTORCH_NVCC" not in absolute
    monkeypatch.setenv("LEGACYRUN_CCACHE", "0")
    off: dict[str, str | None] = {"CC": "gcc-77"}
    assert wrap_compilers(off, prefix, tmp_path, nvcc=None) is None and off == {"CC": "gcc-77"}
