"""Cold and warm build times of the docker and conda backends (figures, not assertions).

    .venv/bin/python bench/build.py [--skip-docker] [--skip-conda]

conda: a local channel of small fake packages (tests/support/conda_channel.py): cold = solve + install + write
conda-lock.yml; warm = second build (no-op); from-lock = a fresh workspace installing from conda-lock.yml alone.
docker: a private dockerd on vfs with the debootstrap base image (tests/support/dockerd.py, needs root, docker.io,
debootstrap, PyPI): cold = build with no layer cache (venv + `pip install six`); warm = same inputs again (tag
lookup); source-only = a changed source file (dependency layers from cache).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _timed(label: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    out = fn()
    print(f"{label:<34} {time.perf_counter() - start:8.2f} s", flush=True)
    return out


def bench_conda(tmp: Path) -> None:
    from support.backend_plans import gpu_host, plan_factory, resolution
    from support.conda_channel import make_channel

    from legacyrun.backends.conda import CondaBackend

    channel = make_channel(tmp / "channel")
    res = resolution(
        profile="faithful",
        python="3.8",
        torch="1.9.0",
        cuda="11.3",
        installer="conda",
        conda_channels=[str(channel.path)],
        conda_specs=["python 3.8.*", "pytorch 1.9.0 *cuda11.3*", "cudatoolkit 11.3.*", "torchvision 0.10.0"],
        host=gpu_host("12.4"),
    )
    make = plan_factory(tmp)
    plan = make(res, workspace=tmp / "ws1")
    backend = CondaBackend()
    _timed("conda cold (solve+install+lock)", lambda: backend.build(plan))
    _timed("conda warm (no-op)", lambda: backend.build(plan))
    (tmp / "ws2").mkdir()
    shutil.copy(plan.workspace.conda_lockfile, tmp / "ws2" / "conda-lock.yml")
    plan2 = make(res, workspace=tmp / "ws2")
    _timed("conda from conda-lock.yml", lambda: backend.build(plan2))


def bench_docker(tmp: Path) -> None:
    from support.backend_plans import plan_factory, resolution
    from support.dockerd import running_dockerd

    from legacyrun.backends.docker import DockerBackend

    profiles = {"modern": {"python": "3.11", "torch": "2.13.0", "pip": ["six==1.16.0"]}}
    ws = tmp / "dws"
    (ws / "src" / "proj").mkdir(parents=True)
    (ws / "src" / "proj" / "hello.py").write_text("GREETING = 'v1'\n")
    make = plan_factory(tmp)
    with running_dockerd() as daemon:
        import os

        os.environ["DOCKER_HOST"] = daemon.host
        plan = make(resolution(pip_specs=[]), profiles=profiles, workspace=ws, base_image=daemon.base_image)
        _timed("docker cold (no layer cache)", lambda: DockerBackend(no_cache=True).build(plan))
        _timed("docker warm (same inputs)", lambda: DockerBackend().build(plan))
        (ws / "src" / "proj" / "hello.py").write_text("GREETING = 'v2'\n")
        plan2 = make(resolution(pip_specs=[]), profiles=profiles, workspace=ws, base_image=daemon.base_image)
        _timed("docker source-only rebuild", lambda: DockerBackend().build(plan2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-docker", action="store_true")
    parser.add_argument("--skip-conda", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="legacyrun-bench-") as tmp:
        import os

        os.environ.setdefault("LEGACYRUN_CACHE_DIR", str(Path(tmp) / "cache"))
        if not args.skip_conda:
            bench_conda(Path(tmp))
        if not args.skip_docker:
            try:
                bench_docker(Path(tmp))
            except (FileNotFoundError, RuntimeError) as exc:
                print(f"docker: skipped ({exc})")


if __name__ == "__main__":
    main()
