"""A local conda channel of tiny fake packages (python, pytorch, torchvision, cudatoolkit...) with the real
dependency constraints between them, indexed by py-rattler; file:// URLs, so no conda channel is contacted.

Packages are written as .tar.bz2 archives by hand: info/index.json, info/paths.json and the payload files.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

FAKE_PYTHON = """#!/bin/sh
# A stand-in interpreter: prints what it was asked to run, and the prefix it lives in.
echo "fake-python $PYTHON_VERSION_FAKE args: $*"
echo "prefix: $(dirname "$(dirname "$0")")"
"""


@dataclass(frozen=True)
class FakePackage:
    name: str
    version: str
    build: str
    depends: tuple[str, ...] = ()
    subdir: str = "linux-64"
    files: tuple[tuple[str, str, int], ...] = ()  # (path, text, mode)
    track_features: str = ""


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 1_600_000_000
    tar.addfile(info, io.BytesIO(data))


def write_package(channel: Path, pkg: FakePackage) -> Path:
    """Write one .tar.bz2 conda package into channel/<subdir>/."""
    build_number = int(pkg.build.rsplit("_", 1)[-1]) if pkg.build.rsplit("_", 1)[-1].isdigit() else 0
    index = {
        "name": pkg.name,
        "version": pkg.version,
        "build": pkg.build,
        "build_number": build_number,
        "depends": list(pkg.depends),
        "subdir": pkg.subdir,
        "arch": "x86_64" if pkg.subdir == "linux-64" else None,
        "platform": "linux" if pkg.subdir == "linux-64" else None,
        "license": "BSD-3-Clause",
        "timestamp": 1_600_000_000_000,
    }
    if pkg.track_features:
        index["track_features"] = pkg.track_features
    if pkg.subdir == "noarch":
        index.pop("arch")
        index.pop("platform")
    payload = list(pkg.files) or [(f"share/{pkg.name}/VERSION", f"{pkg.name} {pkg.version} {pkg.build}\n", 0o644)]
    paths = {
        "paths": [
            {
                "_path": path,
                "path_type": "hardlink",
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "size_in_bytes": len(text.encode()),
            }
            for path, text, _mode in payload
        ],
        "paths_version": 1,
    }
    out_dir = channel / pkg.subdir
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{pkg.name}-{pkg.version}-{pkg.build}.tar.bz2"
    with tarfile.open(target, "w:bz2") as tar:
        _tar_add(tar, "info/index.json", json.dumps(index, indent=2).encode())
        _tar_add(tar, "info/paths.json", json.dumps(paths, indent=2).encode())
        _tar_add(tar, "info/files", "".join(p + "\n" for p, _t, _m in payload).encode())
        for path, text, mode in payload:
            _tar_add(tar, path, text.encode(), mode)
    return target


def _python(version: str, build: str) -> FakePackage:
    short = ".".join(version.split(".")[:2])
    script = FAKE_PYTHON.replace("$PYTHON_VERSION_FAKE", version)
    return FakePackage(
        "python",
        version,
        build,
        files=((f"bin/python{short}", script, 0o755), ("bin/python", script, 0o755)),
    )


# The constraints mirror the real channels: pytorch builds pin python minor and a cudatoolkit minor;
# cudatoolkit needs a driver that supports it (__cuda); torchvision pins its pytorch.
DEFAULT_PACKAGES: tuple[FakePackage, ...] = (
    _python("3.6.13", "h_0"),
    _python("3.8.12", "h_0"),
    FakePackage("cudatoolkit", "10.2.89", "h_0", ("__cuda >=10.2",)),
    FakePackage("cudatoolkit", "11.3.1", "h_0", ("__cuda >=11.3",)),
    FakePackage("pytorch", "1.4.0", "py3.6_cuda10.1_0", ("python >=3.6,<3.7.0a0", "cudatoolkit >=10.1,<10.2")),
    FakePackage("pytorch", "1.9.0", "py3.8_cuda10.2_0", ("python >=3.8,<3.9.0a0", "cudatoolkit >=10.2,<10.3")),
    FakePackage("pytorch", "1.9.0", "py3.8_cuda11.3_0", ("python >=3.8,<3.9.0a0", "cudatoolkit >=11.3,<11.4")),
    FakePackage("pytorch", "1.9.0", "py3.8_cpu_0", ("python >=3.8,<3.9.0a0", "cpuonly")),
    # As on the pytorch channel: cpuonly carries a track feature, so the solver prefers the CUDA builds.
    FakePackage("cpuonly", "2.0", "0", (), subdir="noarch", track_features="cpuonly"),
    FakePackage("torchvision", "0.10.0", "py38_cu113", ("python >=3.8,<3.9.0a0", "pytorch 1.9.0")),
    FakePackage("ninja", "1.10.2", "h_0", ()),
)


@dataclass(frozen=True)
class LocalChannel:
    path: Path

    @property
    def url(self) -> str:
        return self.path.as_uri()


def make_channel(root: Path, packages: tuple[FakePackage, ...] = DEFAULT_PACKAGES) -> LocalChannel:
    """Write the packages and index the channel with rattler.index.index_fs."""
    import rattler.index

    (root / "noarch").mkdir(parents=True, exist_ok=True)
    (root / "linux-64").mkdir(parents=True, exist_ok=True)
    for pkg in packages:
        write_package(root, pkg)
    asyncio.run(rattler.index.index_fs(root, write_zst=False, write_shards=False))
    return LocalChannel(root)


@pytest.fixture
def conda_channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalChannel]:
    """A fresh local channel per test (cheap: a dozen tiny archives)."""
    pytest.importorskip("rattler")
    yield make_channel(tmp_path_factory.mktemp("channel"))


__all__ = ["DEFAULT_PACKAGES", "FakePackage", "LocalChannel", "conda_channel", "make_channel", "write_package"]
