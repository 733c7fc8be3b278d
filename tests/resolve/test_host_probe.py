"""Host probe on recorded nvidia-smi outputs (a fake nvidia-smi replays them), gcc/nvcc/docker detection, and
the assumed host built from --gpu/--driver/--cpu and LEGACYRUN_ASSUME_*."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from legacyrun.errors import UsageError
from legacyrun.host import (
    apply_visible_devices,
    docker_answers,
    gcc_versions,
    host_from_flags,
    nvcc_version,
    parse_gpu_spec,
    probe_host,
    query_nvidia_smi,
)

SmiEnv = Callable[..., dict[str, str]]

# recording, old driver (no compute_cap), expected name, cc, driver, newest CUDA the driver runs, count
RECORDINGS = [
    ("k80_418_old.csv", True, "Tesla K80", "3.7", "418.87.01", "10.1", 2),
    ("p100_450_old.csv", True, "Tesla P100-PCIE-16GB", "6.0", "450.80.02", "11.0", 1),
    ("v100_470_old.csv", True, "Tesla V100-SXM2-16GB", "7.0", "470.82.01", "11.4", 1),
    ("v100_535.csv", False, "Tesla V100-SXM2-32GB", "7.0", "535.104.05", "12.2", 1),
    ("t4_535.csv", False, "Tesla T4", "7.5", "535.104.05", "12.2", 1),
    ("a100x8_535.csv", False, "NVIDIA A100-SXM4-80GB", "8.0", "535.129.03", "12.2", 8),
    ("rtx3090_525.csv", False, "NVIDIA GeForce RTX 3090", "8.6", "525.85.12", "12.0", 1),
    ("rtx3090_460_old.csv", True, "GeForce RTX 3090", "8.6", "460.32.03", "11.2", 1),
    ("rtx4090_550.csv", False, "NVIDIA GeForce RTX 4090", "8.9", "550.54.15", "12.4", 1),
    ("l4_550.csv", False, "NVIDIA L4", "8.9", "550.90.07", "12.4", 1),
    ("h100x2_550.csv", False, "NVIDIA H100 80GB HBM3", "9.0", "550.54.15", "12.4", 2),
    # recorded verbatim on a real H100 (tests/resolve/device/record_smi.sh)
    ("h100_580_device.csv", False, "NVIDIA H100 80GB HBM3", "9.0", "580.159.04", "13.0", 1),
]


@pytest.mark.parametrize(("recording", "old", "name", "cc", "driver", "cuda_max", "count"), RECORDINGS)
def test_probe_recorded_gpus(
    fake_smi: SmiEnv, recording: str, old: bool, name: str, cc: str, driver: str, cuda_max: str, count: int
) -> None:
    host = probe_host(env=fake_smi(recording, old=old))
    assert len(host.gpus) == count
    assert {g.name for g in host.gpus} == {name}
    assert {g.compute_capability for g in host.gpus} == {cc}
    assert host.driver == driver
    assert host.cuda_driver_max == cuda_max
    assert not host.assumed
    assert all(g.memory_mib and g.memory_mib > 10000 for g in host.gpus)


def test_old_driver_without_compute_cap_uses_name_table(fake_smi: SmiEnv) -> None:
    # The first query fails the way old drivers do; the probe asks again without compute_cap.
    result = query_nvidia_smi(fake_smi("k80_418_old.csv", old=True))
    assert [g.compute_capability for _, _, g in result.gpus] == ["3.7", "3.7"]


def test_unknown_gpu_name_on_old_driver_is_noted(fake_smi: SmiEnv, tmp_path: Path) -> None:
    rec = tmp_path / "odd.csv"
    rec.write_text("0, GPU-x, Mystery Accelerator 9000, 470.82.01, 8000\n")
    env = fake_smi(old=True, FAKE_SMI_FILE=str(rec))
    host = probe_host(env=env)
    assert host.gpus[0].compute_capability is None
    assert any("--gpu sm_XY" in n for n in host.notes)


def test_broken_driver_means_no_gpu(fake_smi: SmiEnv) -> None:
    host = probe_host(env=fake_smi(fail=True))
    assert host.gpus == [] and host.driver is None
    assert any("couldn't communicate" in n for n in host.notes)


def test_missing_nvidia_smi(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    host = probe_host(env=env)
    assert host.gpus == [] and host.cpu_only
    assert any("nvidia-smi not found" in n for n in host.notes)


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        (None, 8),
        ("0,2", 2),
        ("3", 1),
        ("", 0),
        ("-1", 0),
        ("1,-1,2", 1),
        ("GPU-4e5f6071-0000-0000-0000-00000000a105", 1),
        ("GPU-nope", 0),
    ],
)
def test_cuda_visible_devices(fake_smi: SmiEnv, visible: str | None, expected: int) -> None:
    extra = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    host = probe_host(env=fake_smi("a100x8_535.csv", **extra))
    assert len(host.gpus) == expected
    if expected < 8:
        assert any("CUDA_VISIBLE_DEVICES" in n for n in host.notes)


def test_visible_devices_keep_the_given_order() -> None:
    from legacyrun.resolution import GpuInfo

    found = [(str(i), f"GPU-{i}", GpuInfo(name=f"g{i}")) for i in range(3)]
    assert [g.name for g in apply_visible_devices(found, "2,0")] == ["g2", "g0"]


def _script(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def test_gcc_versions_on_path(tmp_path: Path) -> None:
    _script(tmp_path, "gcc", "echo 12")
    _script(tmp_path, "gcc-9", "exit 0")
    _script(tmp_path, "gcc-10", "exit 0")
    _script(tmp_path, "gcc-ar-12", "exit 0")  # binutils wrapper, not a compiler
    _script(tmp_path, "x86_64-linux-gnu-gcc-7", "exit 0")
    assert gcc_versions({"PATH": str(tmp_path)}) == ["9", "10", "12"]


def test_nvcc_version(tmp_path: Path) -> None:
    _script(tmp_path, "nvcc", "echo 'Cuda compilation tools, release 11.1, V11.1.105'")
    assert nvcc_version({"PATH": str(tmp_path)}) == "11.1"


def test_docker_answers_on_a_real_socket(tmp_path: Path) -> None:
    path = tmp_path / "d.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert docker_answers({"DOCKER_HOST": f"unix://{path}"})
    finally:
        thread.join(timeout=5)
        server.close()
    assert not docker_answers({"DOCKER_HOST": f"unix://{tmp_path}/missing.sock"})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert not docker_answers({"DOCKER_HOST": f"tcp://127.0.0.1:{port}"})


@pytest.mark.parametrize(
    ("spec", "name", "cc", "count"),
    [
        ("H100", "H100", "9.0", 1),
        ("RTX 3090", "RTX 3090", "8.6", 1),
        ("rtx3090", "rtx3090", "8.6", 1),
        ("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090", "8.9", 1),
        ("sm_86", "sm_86 GPU", "8.6", 1),
        ("sm90", "sm_90 GPU", "9.0", 1),
        ("8.0", "sm_80 GPU", "8.0", 1),
        ("sm_120", "sm_120 GPU", "12.0", 1),
        ("2xA100", "A100", "8.0", 2),
        ("V100:4", "V100", "7.0", 4),
        ("K80", "K80", "3.7", 1),
        ("L4", "L4", "8.9", 1),
        ("T4", "T4", "7.5", 1),
        ("P100", "P100", "6.0", 1),
    ],
)
def test_parse_gpu_spec(spec: str, name: str, cc: str, count: int) -> None:
    gpus = parse_gpu_spec(spec)
    assert len(gpus) == count
    assert gpus[0].name == name and gpus[0].compute_capability == cc


def test_unknown_gpu_spec_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown GPU model"):
        parse_gpu_spec("Voodoo 5")


def test_host_from_flags(fake_smi: SmiEnv) -> None:
    env = fake_smi("rtx3090_525.csv")
    probed = host_from_flags(env=env)
    assert not probed.assumed and probed.gpus[0].compute_capability == "8.6"
    h100 = host_from_flags("H100", "550.54.15", env=env)
    assert h100.assumed and h100.gpus[0].compute_capability == "9.0" and h100.cuda_driver_max == "12.4"
    cpu = host_from_flags(cpu=True, env=env)
    assert cpu.assumed and cpu.cpu_only and cpu.driver is None
    # --driver alone keeps the real GPUs and assumes the driver
    drv = host_from_flags(driver="470.82.01", env=env)
    assert drv.assumed and drv.gpus[0].name == "NVIDIA GeForce RTX 3090" and drv.driver == "470.82.01"
    with pytest.raises(UsageError):
        host_from_flags("H100", cpu=True, env=env)
    with pytest.raises(UsageError, match="--driver"):
        host_from_flags("H100", "latest", env=env)


def test_assume_environment_variables(fake_smi: SmiEnv) -> None:
    env = fake_smi("rtx3090_525.csv", LEGACYRUN_ASSUME_GPU="A100", LEGACYRUN_ASSUME_DRIVER="535.129.03")
    host = host_from_flags(env=env)
    assert host.assumed and host.gpus[0].compute_capability == "8.0" and host.driver == "535.129.03"
    assert host_from_flags("H100", env=env).gpus[0].compute_capability == "9.0"  # the flag wins
    cpu = host_from_flags(env=fake_smi("rtx3090_525.csv", LEGACYRUN_ASSUME_GPU="cpu"))
    assert cpu.cpu_only


def test_this_machine_probe_does_not_crash() -> None:
    host = probe_host(env=dict(os.environ))
    assert host.arch
