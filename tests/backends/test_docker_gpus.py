"""docker backend and `--gpus` against a real dockerd: what reaches the daemon is a device request naming the physical
ids, and the container's CUDA_VISIBLE_DEVICES counts the requested devices from 0 (issue 13).

A recording proxy on a unix socket sits between the docker CLI and the test daemon. Without a GPU and the NVIDIA
runtime the daemon cannot start such a container; the create request it received is the proof."""

from __future__ import annotations

import contextlib
import json
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.dockerd import DockerDaemon

from legacyrun.backends.base import EnvRef
from legacyrun.backends.docker import DockerBackend
from legacyrun.resolution import GpuInfo
from legacyrun.run.gpus import select_gpus
from legacyrun.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.docker]


class _Proxy:
    """Forwards every connection to the daemon's socket; keeps the bytes the client sent and the daemon answered."""

    def __init__(self, upstream: str, path: Path) -> None:
        self.upstream = upstream
        self.sent = bytearray()
        self.answered = bytearray()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(16)
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            daemon.connect(self.upstream)
            threading.Thread(target=self._pipe, args=(client, daemon, self.sent), daemon=True).start()
            threading.Thread(target=self._pipe, args=(daemon, client, self.answered), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, record: bytearray) -> None:
        try:
            while chunk := src.recv(65536):
                with self.lock:
                    record.extend(chunk)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def create_body(self) -> dict[str, object]:
        """The JSON body of the POST .../containers/create the client sent."""
        data = bytes(self.sent)
        start = data.index(b"/containers/create")
        head_end = data.index(b"\r\n\r\n", start)
        headers = data[start:head_end].decode("latin-1").lower()
        body = data[head_end + 4 :]
        if "content-length:" in headers:
            length = int(headers.split("content-length:")[1].split("\r\n")[0].strip())
            return dict(json.loads(body[:length]))
        size, _, rest = body.partition(b"\r\n")  # chunked: the CLI sends the body as one chunk
        return dict(json.loads(rest[: int(size, 16)]))

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def proxy(docker_host: DockerDaemon, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Proxy]:
    folder = Path(tempfile.mkdtemp(prefix="lr-px-", dir="/tmp"))  # unix socket paths are short
    recorder = _Proxy(docker_host.host.removeprefix("unix://"), folder / "d.sock")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{folder / 'd.sock'}")
    yield recorder
    recorder.close()
    (folder / "d.sock").unlink(missing_ok=True)
    folder.rmdir()


def test_device_request_by_physical_id(proxy: _Proxy, docker_host: DockerDaemon, tmp_path: Path) -> None:
    # The user exposed physical GPUs 1 and 3 (CUDA_VISIBLE_DEVICES=1,3) and asked for --gpus 0,1.
    visible = [GpuInfo(name="Tesla V100-SXM2-16GB", index=i) for i in ("1", "3")]
    sel = select_gpus("0,1", visible)
    ws = Workspace.at(tmp_path / "ws")
    ws.root.mkdir(parents=True)
    stream = DockerBackend().exec(
        EnvRef("docker", "x", docker_host.base_image),
        ["python3", "-c", "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])"],
        cwd=ws.root,
        env=sel.task_env(),
        gpus=sel,
        workspace=ws,
    )
    out = list(stream)
    body = proxy.create_body()
    host_config = body["HostConfig"]
    assert isinstance(host_config, dict)
    requests = host_config["DeviceRequests"]
    assert requests == [{"Driver": "", "Count": 0, "DeviceIDs": ["1", "3"], "Capabilities": [["gpu"]], "Options": {}}]
    env = body["Env"]
    assert isinstance(env, list)
    assert "CUDA_VISIBLE_DEVICES=0,1" in env and "CUDA_VISIBLE_DEVICES=1,3" not in env
    if stream.returncode == 0:  # a daemon with the NVIDIA runtime ran it: the task counts from 0
        assert out[-1] == "0,1"
    else:  # no NVIDIA runtime here: the daemon says it has no driver for the request
        assert any("capabilities" in line or "device driver" in line for line in out), out
    for container in docker_host.client.containers.list(all=True, filters={"ancestor": docker_host.base_image}):
        container.remove(force=True)
