"""The CUDA 8-10.2 time capsule as rendered text: the toolkit from NVIDIA's archived runfile with the knowledge
base's URL and checksum, the host compiler of the base image's Ubuntu, mirrors as a build argument (issue 13 item 5).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.backend_plans import PlanFactory, resolution
from support.cli import run_inproc

from legacyrun.backends.docker import DockerBackend, render_dockerfile
from legacyrun.backends.toolkit import build_args, runfile_for
from legacyrun.errors import BuildError
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import DATA, OVERLAY_ENV, reset_kb, version_key

ROOT = Path(__file__).resolve().parents[2]
CUDA_10 = "https://developer.nvidia.com/compute/cuda/10.0/Prod/local_installers/cuda_10.0.130_410.48_linux"
SHA_10 = "92351f0e4346694d0fcb4ea1539856c9eb82060c25654463bfd8574ec35ee39a"


@pytest.fixture
def overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A LEGACYRUN_KB_OVERLAY folder; the shared knowledge base is parsed again with it and without it after."""
    folder = tmp_path / "kb-overlay"
    folder.mkdir()
    monkeypatch.setenv(OVERLAY_ENV, str(folder))
    reset_kb()
    yield folder
    monkeypatch.delenv(OVERLAY_ENV)
    reset_kb()


def _runfiles_with(folder: Path, cuda: str, **changes: object) -> None:
    data = json.loads((DATA / "runfiles.json").read_text(encoding="utf-8"))
    for row in data["runfiles"]:
        if row["cuda"] == cuda:
            row.update(changes)
            for key in [k for k, v in changes.items() if v is None]:
                del row[key]
    (folder / "runfiles.json").write_text(json.dumps(data), encoding="utf-8")
    reset_kb()


def test_every_deleted_cuda_from_8_to_10_2_has_a_checked_runfile() -> None:
    for cuda in ("8.0", "9.0", "9.1", "9.2", "10.0", "10.1", "10.2"):
        assert not kb().images_for(cuda), cuda
        row = kb().runfile(cuda)
        assert row is not None and row.sha256 and re.fullmatch(r"[0-9a-f]{64}", row.sha256), cuda
        assert row.url.startswith(("https://developer.nvidia.com/compute/cuda/", "https://developer.download.nvidia"))
        assert row.filename.startswith(f"cuda_{row.cuda}_"), row
        # The installer changed in 10.1: a binary taking --installpath (needs libxml2) replaced the perl one.
        newer = version_key(row.cuda) >= (10, 1)
        assert row.path_option == ("--installpath" if newer else "--toolkitpath"), row
        assert ("libxml2" if newer else "perl") in row.apt and "ca-certificates" in row.apt
        # NVIDIA built it for an Ubuntu whose gcc that nvcc accepts: the resolver's fallback image.
        ubuntu = kb().ubuntu(row.ubuntu)
        gmax = kb().gcc_max(cuda)
        assert ubuntu is not None and gmax is not None and min(ubuntu.gcc) <= gmax, row


def test_cuda_10_faithful_plan_installs_the_runfile_with_gcc_7(make_plan: PlanFactory) -> None:
    res = resolution(cuda="10.0", gcc="7", base_image="ubuntu:18.04", pip_specs=["torch==1.2.0"])
    plan = make_plan(res)
    text = render_dockerfile(plan)
    lines = text.splitlines()
    assert lines[3].startswith("# base not pinned by digest") and lines[4] == "FROM ubuntu:18.04"
    apt = next(ln for ln in lines if "apt-get install -y --no-install-recommends ca-certificates" in ln)
    assert apt.split("--no-install-recommends ")[1].split(" \\")[0] == "ca-certificates g++-7 gcc-7 perl"
    assert "ENV CC=gcc-7 CXX=g++-7" in lines
    assert f"ARG CUDA_RUNFILE_URLS={CUDA_10}" in lines
    assert f'echo "{SHA_10}  /tmp/cuda.run" | sha256sum -c -' in text
    assert "--silent --override --toolkit --toolkitpath=/usr/local/cuda-10.0" in text
    assert "ln -s /usr/local/cuda-10.0 /usr/local/cuda" in text and "&& /usr/local/cuda/bin/nvcc --version" in text
    assert "ENV PATH=/usr/local/cuda/bin:$PATH LD_LIBRARY_PATH=/usr/local/cuda/lib64" in lines
    # Order: the venv's Python downloads it; the toolkit layer comes before the pip layer (it changes less).
    assert lines.index("ENV PATH=/opt/legacyrun/env/bin:$PATH VIRTUAL_ENV=/opt/legacyrun/env") < lines.index(
        f"ARG CUDA_RUNFILE_URLS={CUDA_10}"
    )
    assert text.index("sha256sum -c -") < text.index("COPY requirements.txt")
    summary = DockerBackend().render(plan).summary
    assert any("CUDA 10.0.130 toolkit from NVIDIA's archived runfile cuda_10.0.130_410.48_linux" in s for s in summary)


def test_cuda_10_2_uses_the_new_installer(make_plan: PlanFactory) -> None:
    text = render_dockerfile(make_plan(resolution(cuda="10.2", gcc="8", base_image="ubuntu:18.04")))
    assert "--installpath=/usr/local/cuda-10.2" in text and " libxml2 " in text + " "
    assert "560d07fdcf4a46717f2242948cd4f92c5f9b6fc7eae10dd996614da913d5ca11" in text


def test_a_mirror_is_a_build_argument_and_keeps_the_image_id(make_plan: PlanFactory) -> None:
    res = resolution(cuda="10.0", gcc="7", base_image="ubuntu:18.04")
    plain = make_plan(res)
    mirrored = make_plan(res, mirrors={"https://developer.nvidia.com/": "http://127.0.0.1:8111/nv/"})
    assert build_args(plain) == {"CUDA_RUNFILE_URLS": CUDA_10}
    local = "http://127.0.0.1:8111/nv/compute/cuda/10.0/Prod/local_installers/cuda_10.0.130_410.48_linux"
    # The mirror first, NVIDIA's URL last (the mirror rules' order); the same checksum checks either.
    assert build_args(mirrored) == {"CUDA_RUNFILE_URLS": f"{local} {CUDA_10}"}
    backend = DockerBackend()
    assert backend.render(plain).files == backend.render(mirrored).files
    assert backend.render(plain).env_id == backend.render(mirrored).env_id
    assert any("through the mirror http://127.0.0.1:8111/nv/" in s for s in backend.render(mirrored).summary)


def test_no_runfile_where_a_tag_exists_or_the_base_is_nvidia_cuda(make_plan: PlanFactory) -> None:
    assert runfile_for(make_plan(resolution(cuda="11.8", base_image="nvidia/cuda:11.8.0-devel-ubuntu22.04"))) is None
    assert runfile_for(make_plan(resolution(cuda="11.8"), base_image="legacyrun-test/bookworm-py:1")) is None
    lab = make_plan(resolution(cuda="10.0"), base_image="nvidia/cuda:10.0-devel-ubuntu18.04")
    assert runfile_for(lab) is None and "CUDA_RUNFILE" not in render_dockerfile(lab)
    assert build_args(make_plan(resolution())) == {}
    assert "# no CUDA toolkit (CPU build)" in render_dockerfile(make_plan(resolution(base_image="ubuntu:22.04")))


def test_a_deleted_cuda_without_a_runfile_is_a_located_build_error(make_plan: PlanFactory) -> None:
    with pytest.raises(BuildError, match=r"CUDA 7\.0: .*no archived runfile") as err:
        render_dockerfile(make_plan(resolution(cuda="7.0", base_image="ubuntu:16.04")))
    assert "--base-image" in (err.value.hint or "")


def test_an_unverified_row_is_refused_and_md5_is_checked(make_plan: PlanFactory, overlay: Path) -> None:
    _runfiles_with(overlay, "10.0.130", sha256=None)
    plan = make_plan(resolution(cuda="10.0", base_image="ubuntu:18.04"))
    with pytest.raises(BuildError, match="no checksum in the knowledge base") as err:
        render_dockerfile(plan)
    assert "LEGACYRUN_KB_OVERLAY" in (err.value.hint or "")
    _runfiles_with(overlay, "10.0.130", sha256=None, md5="9375304c8dc8d42e7f9a9ae37e80b42b")
    text = render_dockerfile(plan)
    assert 'echo "9375304c8dc8d42e7f9a9ae37e80b42b  /tmp/cuda.run" | md5sum -c -' in text
    assert "sha256sum" not in text


def test_masktextspotter_faithful_renders_the_capsule_through_the_cli(tmp_path: Path) -> None:
    ws = tmp_path / "mts"
    recipe = ROOT / "recipes" / "masktextspotter.yaml"
    lock = run_inproc("lock", recipe, "-w", ws, "-p", "faithful", "--gpu", "RTX 2070", "--driver", "450.80")
    assert lock.exit_code == 0, lock.stderr
    res = run_inproc(
        "build",
        recipe,
        "-w",
        ws,
        "-b",
        "docker",
        "--dry-run",
        "--mirror",
        "https://developer.nvidia.com/=http://127.0.0.1:9/",
    )
    assert res.exit_code == 0, res.stderr
    assert "FROM ubuntu:18.04" in res.stdout and f"ARG CUDA_RUNFILE_URLS={CUDA_10}" in res.stdout
    assert SHA_10 in res.stdout and "g++-7 gcc-7" in res.stdout
    assert "through the mirror http://127.0.0.1:9/compute/cuda/10.0/Prod/local_installers/" in res.stdout
    why = run_inproc("resolve", recipe, "-p", "faithful", "--gpu", "RTX 2070", "--driver", "450.80")
    assert "installed in the image from NVIDIA's archived runfile cuda_10.0.130_410.48_linux" in why.stdout
