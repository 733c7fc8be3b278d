"""The CUDA 10.0 time capsule against the real dockerd: the runfile, replaced by a small stand-in served on
127.0.0.1, is reached through a mirror rule, checked against the knowledge base's sha256 and installed where nvcc
is expected; a mirror serving other bytes fails the build (issue 13 item 5)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.backend_plans import PlanFactory, resolution
from support.dockerd import DockerDaemon
from support.http_server import FileServer

from legacyrun.backends.docker import DockerBackend
from legacyrun.errors import BuildError
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import DATA, OVERLAY_ENV, reset_kb

pytestmark = [pytest.mark.slow, pytest.mark.docker]

PATH = "compute/cuda/10.0/Prod/local_installers/cuda_10.0.130_410.48_linux"
PROFILES = {"modern": {"python": "3.11", "torch": "2.13.0"}}

# Stands in for NVIDIA's runfile: takes the real installer's options and "installs" an nvcc where they say.
STAND_IN = """#!/bin/sh
set -e
target=
for arg in "$@"; do
  case "$arg" in
    --toolkitpath=*) target="${arg#--toolkitpath=}" ;;
    --installpath=*) target="${arg#--installpath=}" ;;
  esac
done
[ -n "$target" ] || { echo "stand-in: no --toolkitpath" >&2; exit 2; }
mkdir -p "$target/bin"
printf '#!/bin/sh\\necho "Cuda compilation tools, release 10.0, V10.0.130 (legacyrun test stand-in)"\\n' \\
  > "$target/bin/nvcc"
chmod 755 "$target/bin/nvcc"
echo "$*" > "$target/installer-args"
"""


@pytest.fixture
def kb_overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "kb-overlay"
    folder.mkdir()
    monkeypatch.setenv(OVERLAY_ENV, str(folder))
    reset_kb()
    yield folder
    monkeypatch.delenv(OVERLAY_ENV)
    reset_kb()


def _row_10_0(folder: Path, sha256: str) -> None:
    """The shipped runfiles.json with the 10.0 row's checksum set to `sha256`; its URL stays NVIDIA's. The
    stand-in needs no packages beyond the test base image (the real row adds perl and ca-certificates)."""
    data = json.loads((DATA / "runfiles.json").read_text(encoding="utf-8"))
    for row in data["runfiles"]:
        if row["cuda"] == "10.0.130":
            row.update(sha256=sha256, apt=[])
    (folder / "runfiles.json").write_text(json.dumps(data), encoding="utf-8")
    reset_kb()


def test_runfile_comes_through_the_mirror_is_checked_and_installs_nvcc(
    docker_host: DockerDaemon, make_plan: PlanFactory, http_server: FileServer, kb_overlay: Path, tmp_path: Path
) -> None:
    data = STAND_IN.encode()
    http_server.put(PATH, data)
    _row_10_0(kb_overlay, hashlib.sha256(data).hexdigest())
    row = kb().runfile("10.0")
    assert row is not None and row.url == f"https://developer.nvidia.com/{PATH}"

    ws = tmp_path / "ws"
    (ws / "src" / "proj").mkdir(parents=True)
    # The rule a user gives as --mirror https://developer.nvidia.com/=http://127.0.0.1:PORT/
    mirrors = {"https://developer.nvidia.com/": http_server.base + "/"}
    res = resolution(cuda="10.0", pip_specs=[])
    plan = make_plan(res, profiles=PROFILES, workspace=ws, base_image=docker_host.base_image, mirrors=mirrors)
    backend = DockerBackend()
    lines: list[str] = []
    ref = backend.build(plan, lines.append)
    assert ref.built
    assert http_server.count(PATH) == 1
    log = "\n".join(lines)
    assert f"downloading {http_server.base}/{PATH}" in log and "/tmp/cuda.run: OK" in log

    stream = backend.exec(
        ref,
        ["sh", "-c", 'nvcc --version; readlink /usr/local/cuda; cat /usr/local/cuda/installer-args; echo "$CUDA_HOME"'],
        cwd=ws,
        workspace=plan.workspace,
    )
    out = list(stream)
    assert stream.returncode == 0, out
    assert out[0].startswith("Cuda compilation tools, release 10.0, V10.0.130")
    assert out[1] == "/usr/local/cuda-10.0"
    assert out[2] == "--silent --override --toolkit --toolkitpath=/usr/local/cuda-10.0 --tmpdir=/tmp/cuda-installer"
    assert out[3] == "/usr/local/cuda"

    # The mirror now serves other bytes than the knowledge base's checksum: the build stops at the check.
    _row_10_0(kb_overlay, hashlib.sha256(data + b"# other\n").hexdigest())
    with pytest.raises(BuildError, match=r"docker build of .* failed") as err:
        backend.build(plan, lambda _line: None)
    build_log = (plan.workspace.logs / "build-docker.log").read_text(encoding="utf-8")
    assert "/tmp/cuda.run: FAILED" in build_log, build_log[-2000:]
    assert err.value.exit_code == 6
    assert http_server.count(PATH) == 2  # the mirror answered; NVIDIA's URL was never tried
