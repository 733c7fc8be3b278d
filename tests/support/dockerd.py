"""A real, private dockerd for the docker backend tests, plus a base image made with debootstrap.

The daemon runs without iptables or a bridge on the vfs storage driver (works inside containers and CI VMs) and
listens on a unix socket in a temp dir; builds and runs use --network=host. The base image is Debian bookworm
minbase with python3, python3-pip and python3-venv, made by debootstrap and `docker import`. Its rootfs tarball
is cached in LEGACYRUN_TEST_CACHE (default /tmp/legacyrun-test-cache) so local reruns skip debootstrap; CI starts
without it. The daemon is stopped by its pid at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

RAW_IMAGE = "legacyrun-test/bookworm-py-rootfs:1"
BASE_IMAGE = "legacyrun-test/bookworm-py:1"
SUITE = "bookworm"
INCLUDE = "python3-minimal,python3-pip,python3-venv"
MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class DockerDaemon:
    host: str
    client: Any
    base_image: str
    pid: int


def _which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin")


def _cache_dir() -> Path:
    return Path(os.environ.get("LEGACYRUN_TEST_CACHE", "/tmp/legacyrun-test-cache"))


def rootfs_tarball() -> Path:
    """The debootstrap rootfs as a tarball, made once and cached (temp name + rename: never half-written)."""
    cache = _cache_dir()
    target = cache / f"{SUITE}-py-slim.tar"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    debootstrap = _which("debootstrap")
    assert debootstrap is not None
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=cache) as tmp:
        rootfs = Path(tmp) / "rootfs"
        cp = subprocess.run(
            [debootstrap, "--variant=minbase", f"--include={INCLUDE}", SUITE, str(rootfs), MIRROR],
            capture_output=True,
            text=True,
            check=False,
        )
        if cp.returncode != 0:
            raise RuntimeError(f"debootstrap failed (exit {cp.returncode}): {cp.stdout[-2000:]}{cp.stderr[-2000:]}")
        partial = Path(tmp) / "rootfs.tar"
        with tarfile.open(partial, "w") as tar:
            tar.add(rootfs, arcname=".", filter=_slim)
        os.replace(partial, target)
    return target


# Downloaded .debs, apt lists and docs are half the rootfs; on the vfs driver every layer copies all of it.
_DROP = ("var/cache/apt/archives/", "var/lib/apt/lists/", "usr/share/doc/", "usr/share/man/", "usr/share/locale/")


def _slim(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if info.isdir():
        return info
    return None if info.name.removeprefix("./").startswith(_DROP) else info


def _with_host_ca(client: Any, raw: str) -> None:
    """Tag BASE_IMAGE: the imported rootfs plus this machine's CA bundle, so pip in builds trusts what the host
    trusts (CI and labs often reach PyPI through a TLS-inspecting proxy)."""
    import io

    ca = Path("/etc/ssl/certs/ca-certificates.crt")
    lines = [f"FROM {raw}"]
    files: dict[str, bytes] = {}
    if ca.is_file():
        files["host-ca.crt"] = ca.read_bytes()
        lines += [
            "COPY host-ca.crt /usr/local/share/legacyrun-test/host-ca.crt",
            "ENV PIP_CERT=/usr/local/share/legacyrun-test/host-ca.crt "
            "SSL_CERT_FILE=/usr/local/share/legacyrun-test/host-ca.crt",
        ]
    files["Dockerfile"] = ("\n".join(lines) + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    client.images.build(fileobj=buf, custom_context=True, tag=BASE_IMAGE, rm=True, pull=False)


def _wait_ready(host: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> Any:
    from docker.client import DockerClient

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited with {proc.returncode}: {log.read_text(errors='replace')[-3000:]}")
        try:
            client = DockerClient(base_url=host, timeout=600)
            client.ping()
            return client
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.5)
    raise RuntimeError(f"dockerd did not answer on {host} within {timeout}s: {last}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def running_dockerd() -> Iterator[DockerDaemon]:
    """Start dockerd on a private socket, import the debootstrap base image; stop the daemon by pid on exit.

    Used by the session fixture and by bench/build.py. Raises RuntimeError when the daemon cannot start.
    """
    missing = [t for t in ("dockerd", "docker", "debootstrap") if _which(t) is None]
    if missing:
        raise FileNotFoundError(f"needs {', '.join(missing)} (apt-get install docker.io debootstrap)")
    # Short paths: containerd's sockets live under exec-root and unix socket paths are limited to 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="lr-dockerd-", dir="/tmp"))
    sock = root / "docker.sock"
    host = f"unix://{sock}"
    log = root / "dockerd.log"
    argv = [
        str(_which("dockerd")),
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--storage-driver=vfs",
        "--host",
        host,
        "--data-root",
        str(root / "data"),
        "--exec-root",
        str(root / "exec"),
        "--pidfile",
        str(root / "dockerd.pid"),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        client = _wait_ready(host, proc, log)
        tarball = rootfs_tarball()
        cp = subprocess.run(
            [str(_which("docker")), "-H", host, "import", str(tarball), RAW_IMAGE],
            capture_output=True,
            text=True,
            check=False,
        )
        if cp.returncode != 0:
            raise RuntimeError(f"docker import failed: {cp.stderr.strip()}")
        _with_host_ca(client, RAW_IMAGE)
        yield DockerDaemon(host=host, client=client, base_image=BASE_IMAGE, pid=proc.pid)
        client.close()
    finally:
        _stop(proc)
        # dockerd leaves its network namespace mounted under exec-root; unmount it so the dir can go.
        for ns in sorted((root / "exec" / "netns").glob("*")):
            subprocess.run(["umount", str(ns)], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dockerd() -> Iterator[DockerDaemon]:
    """A private dockerd for the whole session (skipped with the reason when the tools or root are missing)."""
    pytest.importorskip("docker")
    missing = [t for t in ("dockerd", "docker", "debootstrap") if _which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install docker.io debootstrap)")
    if os.geteuid() != 0:
        pytest.skip("dockerd and debootstrap need root")
    try:
        with running_dockerd() as daemon:
            yield daemon
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def docker_host(dockerd: DockerDaemon, monkeypatch: pytest.MonkeyPatch) -> DockerDaemon:
    """The session daemon, with DOCKER_HOST pointing at it for this test (the SDK and the CLI read it)."""
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    return dockerd


__all__ = ["BASE_IMAGE", "DockerDaemon", "docker_host", "dockerd", "rootfs_tarball", "running_dockerd"]
