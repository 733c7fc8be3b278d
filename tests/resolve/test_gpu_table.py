"""Every NVIDIA GPU by name since Kepler (issue 13): 73 recorded nvidia-smi lines from a GTX 760 and a K80 to an H200
and the RTX 50 series resolve to the right board, compute capability and memory, and to a plan for each built-in
recipe (a profile, or for Kepler the explained source build; 'refused' where the recorded driver is too old).
Old drivers print no compute_cap: those lines go through the name table, also through a real fake nvidia-smi."""

from __future__ import annotations

import csv
import re
import sys
from functools import cache
from pathlib import Path

import pytest

import legacyrun.knowledge
from legacyrun.errors import LegacyrunError, UsageError
from legacyrun.host import parse_gpu_spec, parse_smi_csv, probe_host
from legacyrun.knowledge import kb
from legacyrun.recipe.loader import LoadedRecipe, load_path
from legacyrun.resolution import GpuInfo, HostInfo
from legacyrun.resolve.engine import resolve
from legacyrun.resolve.oldgpu import old_gpu_plan

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RECIPES = ("mask2former", "masktextspotter", "pix2pix")
BOARDS = [line.split("|") for line in (HERE / "smi" / "boards.csv").read_text().splitlines() if line[:1] != "#"]


@cache
def _recipe(name: str) -> LoadedRecipe:
    return load_path(ROOT / "recipes" / f"{name}.yaml")


def _plan(loaded: LoadedRecipe, gpu: GpuInfo, driver: str | None) -> str:
    """What `legacyrun resolve RECIPE --gpu NAME --driver X` decides, in a few words."""
    host = HostInfo(assumed=True, gpus=[gpu], driver=driver, cuda_driver_max=kb().max_cuda_for_driver(driver or ""))
    try:
        res = resolve(loaded, host)
    except LegacyrunError as exc:
        old = old_gpu_plan(loaded, gpu)
        if old is not None:
            assert exc.hint and "Kepler" in exc.hint and "--cpu" in exc.hint, exc.hint
            if old.source_builds:
                sb = old.source_builds[0]
                return f"source {sb.torch} cu{sb.cuda}"
        return "refused"
    assert res.cuda is not None
    return f"{res.profile} {res.torch} cu{res.cuda}"


def test_the_table_is_big_enough() -> None:
    assert len(BOARDS) >= 60
    names = " ".join(b[0] for b in BOARDS)
    for needed in ("GTX 760", "K80", "H200", "RTX 5090", "RTX 2070 SUPER"):
        assert needed in names


@pytest.mark.parametrize("row", BOARDS, ids=[re.sub(r"\W+", "_", b[0].split(",")[2].strip()) for b in BOARDS])
def test_recorded_line(row: list[str]) -> None:
    smi, board, cc, memory_gb, *plans = row
    has_cc = len(smi.split(",")) == 6
    parsed = parse_smi_csv(smi, has_cc=has_cc)
    assert not parsed.notes, parsed.notes
    gpu = parsed.gpus[0][2]
    assert gpu.compute_capability == cc
    match = kb().gpu_model(gpu.name)
    assert match is not None and match.model.name == board and match.model.cc == cc
    assert match.memory_gb == int(memory_gb)
    # nvidia-smi reports what the driver can use: a little under the board's nominal size
    assert gpu.memory_mib is not None and 0.85 <= gpu.memory_mib / (int(memory_gb) * 1024) <= 1.05
    got = [_plan(_recipe(name), gpu, parsed.driver) for name in RECIPES]
    assert got == plans


@pytest.mark.parametrize(
    ("name", "board"),
    [
        ("NVIDIA GeForce GTX 760", "GeForce GTX 760"),
        ("GeForce GTX 760", "GeForce GTX 760"),
        ("GTX 760", "GeForce GTX 760"),
        ("gtx760", "GeForce GTX 760"),
        ("Tesla K80", "Tesla K80"),
        ("K80", "Tesla K80"),
        ("NVIDIA H200", "H200"),
        ("H200", "H200"),
        ("GTX1080Ti", "GeForce GTX 1080 Ti"),
        ("GeForce GTX TITAN X", "GeForce GTX TITAN X"),
        ("NVIDIA TITAN X (Pascal)", "TITAN X (Pascal)"),
        ("Quadro RTX 6000", "Quadro RTX 6000"),
        ("RTX 6000 Ada", "RTX 6000 Ada Generation"),
        ("RTX A6000", "RTX A6000"),
        ("A10G", "A10G"),
        ("A100", "A100"),
        ("RTX 5090", "GeForce RTX 5090"),
        ("Jetson AGX Orin", "Jetson AGX Orin"),
        ("Jetson Nano", "Jetson Nano"),
        ("Jetson TK1", "Jetson TK1"),
        ("GB200", "GB200"),
    ],
)
def test_name_variants(name: str, board: str) -> None:
    match = kb().gpu_model(name)
    assert match is not None and match.model.name == board
    gpu = parse_gpu_spec(name)[0]
    assert gpu.compute_capability == match.model.cc and gpu.memory_mib == match.memory_gb * 1024


def test_every_row_has_sources_and_sane_values() -> None:
    path = Path(legacyrun.knowledge.__file__).parent / "data" / "gpu_models.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) >= 140
    families = {r["family"] for r in rows}
    assert families == {"geforce", "titan", "quadro", "datacenter", "jetson"}
    for r in rows:
        assert r["cc_source"].startswith("https://developer.nvidia.com/cuda-"), r
        assert r["memory_source"].startswith("https://"), r
        assert re.fullmatch(r"\d{1,2}\.\d", r["cc"]) and float(r["cc"]) >= 3.0, r
        assert all(int(m) > 0 for m in r["memory_gb"].split(";")), r
    # every board's own name finds itself (no shorter key of another board shadows it)
    for model in kb().gpu_models:
        for name in (model.name, *model.aliases):
            found = kb().gpu_model(name)
            assert found is not None and found.model == model, (name, found)


@pytest.mark.parametrize("name", ["RTX 6000", "Radeon VII", "GTX 9999", "Orin Super X"])
def test_unknown_names_say_what_to_pass(name: str) -> None:
    if kb().gpu_cc(name) is not None:  # the older pattern table knows a family
        return
    with pytest.raises(UsageError) as info:
        parse_gpu_spec(name)
    assert "unknown GPU model" in info.value.message and "--gpu sm_86" in (info.value.hint or "")


@pytest.mark.parametrize(("spec", "cc"), [("sm_30", "3.0"), ("8.6", "8.6"), ("sm_120", "12.0"), ("2xsm_37", "3.7")])
def test_compute_capability_given_by_the_user(spec: str, cc: str) -> None:
    assert {g.compute_capability for g in parse_gpu_spec(spec)} == {cc}


def test_old_driver_through_a_fake_nvidia_smi(tmp_path: Path) -> None:
    """A driver-418 machine rejects the compute_cap field; the probe asks again and fills it from the table."""
    lines = [b[0] for b in BOARDS if len(b[0].split(",")) == 5][:6]
    recording = tmp_path / "old.csv"
    recording.write_text("".join(line.replace("0, ", f"{i}, ", 1) + "\n" for i, line in enumerate(lines)))
    launcher = tmp_path / "nvidia-smi"
    fake = HERE / "smi" / "fake_nvidia_smi.py"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {fake} "$@"\n')
    launcher.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "LEGACYRUN_NVIDIA_SMI": str(launcher),
        "FAKE_SMI_FILE": str(recording),
        "FAKE_SMI_OLD": "1",
        "DOCKER_HOST": f"unix://{tmp_path}/none.sock",
    }
    host = probe_host(env=env)
    assert [g.compute_capability for g in host.gpus] == [b[2] for b in BOARDS if b[0] in lines]
    assert [g.index for g in host.gpus] == [str(i) for i in range(len(lines))]
    assert not any("unknown" in n for n in host.notes)


def test_an_unknown_board_on_an_old_driver_asks_for_its_arch() -> None:
    parsed = parse_smi_csv("0, GPU-x, Some Future Board, 418.87.01, 8000", has_cc=False)
    assert parsed.gpus[0][2].compute_capability is None
    assert any("--gpu sm_XY" in n for n in parsed.notes)
