"""Plans for the oldest GPUs (issue 13): Kepler sm_30/35/37 get an explained plan (binaries that carry the arch,
a docker source build rendered as text, the CPU), never an opaque refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import run_inproc

from legacyrun.host import assumed_host
from legacyrun.knowledge import kb
from legacyrun.recipe.loader import load_path
from legacyrun.resolution import GpuInfo
from legacyrun.resolve.oldgpu import old_gpu_plan

ROOT = Path(__file__).resolve().parents[2]


def _gpu(cc: str, name: str = "GPU") -> GpuInfo:
    return GpuInfo(name=name, compute_capability=cc)


def test_newer_gpus_get_no_old_gpu_plan() -> None:
    assert old_gpu_plan(load_path(ROOT / "recipes/pix2pix.yaml"), _gpu("5.0")) is None


def test_gtx_760_masktextspotter_builds_torch_1_2_for_sm_30_from_the_cuda_10_runfile() -> None:
    plan = old_gpu_plan(load_path(ROOT / "recipes/masktextspotter.yaml"), _gpu("3.0", "GeForce GTX 760"))
    assert plan is not None and plan.binaries == []
    lines = plan.lines()
    assert "sm_30 (Kepler)" in lines[0]
    assert lines[1].startswith("1. binaries with sm_30: none")
    assert "build torch 1.2.0 from source" in lines[2] and "CUDA 10.0" in lines[2]
    assert lines[3].startswith("3. the CPU: --cpu")
    text = plan.source_builds[0].dockerfile()
    assert text.splitlines()[1] == "FROM ubuntu:18.04"
    assert text.splitlines()[2] == "# base not pinned by digest: the knowledge base records no digest for ubuntu:18.04"
    row = kb().runfile("10.0")
    assert row is not None and row.sha256
    assert f"ARG CUDA_RUNFILE_URLS={row.url}" in text
    # The checksum is the knowledge base's: no build argument to pass, nothing unchecked.
    assert f'echo "{row.sha256}  /tmp/cuda.run" | sha256sum -c -' in text and "CUDA_RUNFILE_SHA256" not in text
    assert "--silent --override --toolkit --toolkitpath=/usr/local/cuda-10.0" in text
    # The runfile is fetched with the Python installed before it, and its perl installer is in the apt line.
    assert text.index("ENV PATH=/opt/py/bin:$PATH") < text.index("ARG CUDA_RUNFILE_URLS")
    assert "libopenblas-dev perl &&" in text
    assert "gcc-7 g++-7" in text and "ENV CC=gcc-7 CXX=g++-7" in text
    assert "python=3.7" in text
    assert 'ENV TORCH_CUDA_ARCH_LIST="3.0"' in text
    assert "--branch v1.2.0 --recursive https://github.com/pytorch/pytorch" in text
    assert text.rstrip().endswith("get_arch_list') else '')\"")


def test_sm_35_lists_the_binaries_and_uses_an_existing_image_where_there_is_one() -> None:
    plan = old_gpu_plan(load_path(ROOT / "recipes/mask2former.yaml"), _gpu("3.5", "Tesla K40m"))
    assert plan is not None
    assert plan.binaries and max(b.torch for b in plan.binaries if b.torch.startswith("1.3")) == "1.3.0"
    assert all(not b.profiles for b in plan.binaries)  # mask2former's profiles need torch >= 1.9
    assert "none within the recipe's profiles" in plan.lines()[1]
    sb = plan.source_builds[0]
    assert (sb.torch, sb.cuda, sb.runfile_url) == ("1.9.0", "11.1", None)
    text = sb.dockerfile()
    assert text.splitlines()[1].startswith("FROM nvidia/cuda:11.1")
    assert "CUDA_RUNFILE" not in text and 'TORCH_CUDA_ARCH_LIST="3.5"' in text


def test_pix2pix_sm_30_uses_cuda_8() -> None:
    plan = old_gpu_plan(load_path(ROOT / "recipes/pix2pix.yaml"), _gpu("3.0"))
    assert plan is not None
    sb = plan.source_builds[0]
    assert (sb.torch, sb.cuda, sb.base_image) == ("0.2.0", "8.0", "ubuntu:16.04")
    row = kb().runfile("8.0")
    assert row is not None and row.ubuntu == "16.04"
    assert f"ARG CUDA_RUNFILE_URLS={row.url}" in sb.dockerfile() and row.sha256 in sb.dockerfile()


def test_k80_binaries_are_admitted() -> None:
    plan = old_gpu_plan(load_path(ROOT / "recipes/masktextspotter.yaml"), _gpu("3.7", "Tesla K80"))
    assert plan is not None and any(b.profiles for b in plan.binaries)
    assert "admit some" in plan.lines()[1]


def test_resolve_explains_instead_of_refusing() -> None:
    res = run_inproc("resolve", ROOT / "recipes/masktextspotter.yaml", "--gpu", "GeForce GTX 760", "--driver", "418")
    assert res.exit_code != 0
    assert "Kepler" in res.stderr and "build torch 1.2.0 from source" in res.stderr and "--cpu" in res.stderr
    assert "--source-build" in res.stderr


def test_resolve_source_build_prints_the_dockerfile() -> None:
    res = run_inproc("resolve", ROOT / "recipes/masktextspotter.yaml", "--gpu", "GTX 760", "--source-build")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith("# legacyrun: torch 1.2.0 built from source for sm_30")
    bad = run_inproc("resolve", ROOT / "recipes/masktextspotter.yaml", "--gpu", "H100", "--source-build")
    assert bad.exit_code != 0 and "Kepler" in bad.stderr


@pytest.mark.parametrize("name", ["GeForce GTX 760", "Tesla K80", "GeForce GTX 780 Ti"])
def test_kepler_hosts_resolve_or_explain(name: str) -> None:
    host = assumed_host(name, "418")
    assert host.gpus[0].compute_capability in ("3.0", "3.5", "3.7")
