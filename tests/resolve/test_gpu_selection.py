"""`--gpus` against a fake nvidia-smi: the selection carries physical ids through the user's CUDA_VISIBLE_DEVICES,
a venv/conda task gets those ids, docker requests them by id and the task inside sees them as 0..n-1 (issue 13)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from legacyrun import proc
from legacyrun.backends.base import EnvRef
from legacyrun.backends.docker import DockerBackend, device_requests, gpus_flag
from legacyrun.errors import UsageError
from legacyrun.host import probe_host
from legacyrun.resolve.locking import stable_host
from legacyrun.run.gpus import select_gpus
from legacyrun.workspace import Workspace

SmiEnv = Callable[..., dict[str, str]]
UUID = "GPU-4e5f6071-0000-0000-0000-00000000a10"


@pytest.mark.parametrize(
    ("visible", "spec", "ids"),
    [
        (None, None, ("0", "1", "2", "3", "4", "5", "6", "7")),
        (None, "2", ("0", "1")),
        (None, "0,2", ("0", "2")),
        ("1,3", "1", ("1",)),  # the case: never 0, a GPU the user hid
        ("1,3", None, ("1", "3")),
        ("1,3", "0,1", ("1", "3")),
        ("1,3", "1,0", ("3", "1")),
        ("5,2,7", "2", ("5", "2")),
        ("6", "1", ("6",)),
        (f"{UUID}4,{UUID}6", "1,0", ("6", "4")),  # UUIDs resolve to the devices' indices
    ],
)
def test_physical_ids_through_the_users_visible_devices(
    fake_smi: SmiEnv, visible: str | None, spec: str | None, ids: tuple[str, ...]
) -> None:
    extra = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    host = probe_host(env=fake_smi("a100x8_535.csv", **extra))
    sel = select_gpus(spec, host.gpus)
    assert sel.ids == ids and sel.count == len(ids)
    assert sel.task_env() == {"CUDA_VISIBLE_DEVICES": ",".join(ids), "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    assert sel.memory_mib == 81920
    assert [d["index"] for d in sel.to_json()["devices"]] == list(ids)


@pytest.mark.parametrize(("visible", "spec"), [("1,3", "3"), ("1,3", "0,2"), ("", "0,1"), (None, "9")])
def test_more_than_the_user_exposed_is_refused(fake_smi: SmiEnv, visible: str | None, spec: str) -> None:
    extra = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    host = probe_host(env=fake_smi("a100x8_535.csv", **extra))
    if not host.gpus:
        # every GPU hidden: ids cannot name one, a count plans processes on the CPU
        assert select_gpus("2", host.gpus).ids == ()
        return
    with pytest.raises(UsageError, match="visible"):
        select_gpus(spec, host.gpus)


def test_lock_host_names_no_device(fake_smi: SmiEnv) -> None:
    host = probe_host(env=fake_smi("a100x8_535.csv", CUDA_VISIBLE_DEVICES="3"))
    assert host.gpus[0].index == "3" and host.gpus[0].uuid
    dumped = stable_host(host).model_dump(mode="json")
    assert "index" not in dumped["gpus"][0] and "uuid" not in dumped["gpus"][0]


def test_old_driver_listing_keeps_ids(fake_smi: SmiEnv) -> None:
    host = probe_host(env=fake_smi("k80_418_old.csv", old=True, CUDA_VISIBLE_DEVICES="1"))
    sel = select_gpus(None, host.gpus)
    assert sel.ids == ("1",) and host.gpus[0].compute_capability == "3.7"


def test_the_task_process_sees_the_physical_ids(fake_smi: SmiEnv, tmp_path: Path) -> None:
    """A real child process started the way a venv task is (its environment replaces the user's value)."""
    env = fake_smi("a100x8_535.csv", CUDA_VISIBLE_DEVICES="1,3")
    sel = select_gpus("1", probe_host(env=env).gpus)
    child = {**env, **sel.task_env()}
    done = proc.run(
        [sys.executable, "-c", "import os; print(os.environ['CUDA_VISIBLE_DEVICES'], os.environ['CUDA_DEVICE_ORDER'])"],
        env={**{k: None for k in os.environ if k not in child}, **child},
    )
    assert done.stdout.strip() == "1 PCI_BUS_ID"


def test_cpu_selection_is_unchanged() -> None:
    sel = select_gpus("2", [])
    assert (sel.count, sel.ids, sel.task_env()) == (2, (), {"CUDA_VISIBLE_DEVICES": ""})
    assert device_requests(sel) == [] and gpus_flag(sel) == []


def test_docker_requests_the_devices_by_id(fake_smi: SmiEnv, tmp_path: Path) -> None:
    host = probe_host(env=fake_smi("a100x8_535.csv", CUDA_VISIBLE_DEVICES="2,4,6"))
    sel = select_gpus("0,2", host.gpus)
    assert device_requests(sel) == [{"Driver": "", "Count": 0, "DeviceIDs": ["2", "6"], "Capabilities": [["gpu"]]}]
    assert gpus_flag(sel) == ["--gpus", '"device=2,6"']
    if shutil.which("docker") is None:
        pytest.skip("needs the docker CLI on PATH for the run argv")
    ws = Workspace.at(tmp_path / "ws")
    ws.root.mkdir(parents=True)
    argv = DockerBackend.run_argv(
        EnvRef("docker", "x", "img"), ["true"], cwd=ws.root, env=sel.task_env(), gpus=sel, workspace=ws
    )
    joined = " ".join(argv)
    assert '--gpus "device=2,6"' in joined
    assert "-e CUDA_VISIBLE_DEVICES=0,1" in joined and "CUDA_VISIBLE_DEVICES=2,6" not in joined
