"""The CUDA 8-10.2 time capsule: the toolkit from NVIDIA's archived runfile when the nvidia/cuda image is gone.

NVIDIA deleted every nvidia/cuda tag of CUDA <= 10.2 in 2023, so a faithful plan for such a CUDA starts from plain
Ubuntu (resolve/image.py). The docker image then downloads the runfile the knowledge base names
(knowledge/data/runfiles.json), checks its sha256 (or md5 where only that is known) and installs the toolkit into
/usr/local/cuda-X.Y, linked as /usr/local/cuda. A runfile row without any checksum is refused: never an unchecked
download.

The URL is not written into the Dockerfile's RUN line but into a build argument (CUDA_RUNFILE_URLS, the
mirror-rewritten candidates first, NVIDIA's URL last): a mirror is how the bytes travel, so the rendered text and
the image id stay the same with or without `--mirror`, and the checksum proves the bytes are the same.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING

from legacyrun.errors import BuildError
from legacyrun.fetch.mirrors import rewrite_prefix
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import CudaRunfile, minor

if TYPE_CHECKING:
    from legacyrun.backends.base import BuildPlan

URLS_ARG = "CUDA_RUNFILE_URLS"
RUNFILE_TMP = "/tmp/cuda.run"
ARCHIVE_PAGE = "https://developer.nvidia.com/cuda-toolkit-archive"

# One download attempt with the image's Python (present in every legacyrun image, unlike curl or wget); the shell
# loop tries the next candidate when it fails. urllib follows NVIDIA's redirect to its download host.
_FETCH = (
    "python -c 'import shutil, sys, urllib.request as r; "
    'shutil.copyfileobj(r.urlopen(sys.argv[1], timeout=120), open(sys.argv[2], "wb"))\''
)


def runfile_for(plan: BuildPlan) -> CudaRunfile | None:
    """The runfile a docker plan installs: a CUDA plan whose CUDA has no published nvidia/cuda devel tag and whose
    base image is not an nvidia/cuda one. A BuildError when the knowledge base has no runfile for that CUDA."""
    cuda = plan.resolution.cuda
    base = plan.image_base or ""
    if not cuda or base.startswith("nvidia/cuda:") or kb().images_for(cuda):
        return None
    row = kb().runfile(cuda)
    if row is None:
        raise BuildError(
            f"CUDA {cuda}: its nvidia/cuda images were deleted and the knowledge base has no archived runfile for it",
            hint=f"pass --base-image with an image that has /usr/local/cuda-{minor(cuda)}, or add the runfile to "
            "runfiles.json through LEGACYRUN_KB_OVERLAY (docs/gpus.md)",
        )
    return row


def candidate_urls(row: CudaRunfile, mirrors: Mapping[str, str] | None) -> list[str]:
    """Where the build downloads the runfile from, in order: the mirror's copy, then NVIDIA's."""
    mirrored = rewrite_prefix(row.url, mirrors)
    return [mirrored, row.url] if mirrored != row.url else [row.url]


def build_args(plan: BuildPlan) -> dict[str, str]:
    """Docker build arguments of the plan: the runfile's candidate URLs when it installs one."""
    row = runfile_for(plan)
    return {URLS_ARG: " ".join(candidate_urls(row, plan.mirrors))} if row else {}


def _check_line(row: CudaRunfile) -> str:
    if row.sha256:
        return f'echo "{row.sha256}  {RUNFILE_TMP}" | sha256sum -c -'
    if row.md5:
        # NVIDIA's own md5sum.txt pages give only md5; weaker, but still a check of every byte.
        return f'echo "{row.md5}  {RUNFILE_TMP}" | md5sum -c -'
    raise BuildError(
        f"the CUDA {row.cuda} runfile ({row.filename}) has no checksum in the knowledge base (an unverified row)",
        hint="add its sha256 (or NVIDIA's md5) to runfiles.json through LEGACYRUN_KB_OVERLAY (docs/gpus.md)",
    )


def install_lines(row: CudaRunfile) -> list[str]:
    """Shell lines (joined with &&) that download, check and install the toolkit; skipped when the base image
    already has this toolkit's nvcc. Needs `python` on PATH and the build argument CUDA_RUNFILE_URLS."""
    prefix = f"/usr/local/cuda-{minor(row.cuda)}"
    check = _check_line(row)
    cont = " \\\n    "
    return [
        f"if [ -x {prefix}/bin/nvcc ]; then echo 'CUDA {minor(row.cuda)} is in the base image'; else"
        + cont
        + f'ok=; for url in ${URLS_ARG}; do echo "downloading $url";'
        + cont
        + f'if {_FETCH} "$url" {RUNFILE_TMP}; then ok=1; break; fi; done;'
        + cont
        + '[ -n "$ok" ] || { echo "no candidate URL answered" >&2; exit 1; };'
        + cont
        + f"{check}"
        + cont
        + f"&& mkdir -p /tmp/cuda-installer && sh {RUNFILE_TMP} --silent --override --toolkit"
        + f" {row.path_option}={prefix} --tmpdir=/tmp/cuda-installer"
        + cont
        + f"&& rm -rf {RUNFILE_TMP} /tmp/cuda-installer; fi",
        f"{{ [ -e /usr/local/cuda ] || ln -s {prefix} /usr/local/cuda; }}",
        "/usr/local/cuda/bin/nvcc --version",
    ]


def toolkit_block(plan: BuildPlan) -> str:
    """The Dockerfile lines that install the plan's toolkit from the runfile, or a comment saying none is needed."""
    row = runfile_for(plan)
    if row is None:
        return "# CUDA toolkit: from the base image" if plan.resolution.cuda else "# no CUDA toolkit (CPU build)"
    return "\n".join(runfile_dockerfile_lines(row))


def runfile_dockerfile_lines(row: CudaRunfile) -> list[str]:
    """ARG, RUN and ENV lines of the runfile install (also used by the Kepler source-build Dockerfile)."""
    checksum = f"sha256 {row.sha256}" if row.sha256 else f"md5 {row.md5}" if row.md5 else "no checksum"
    return [
        f"# CUDA {row.cuda}: its nvidia/cuda images were deleted; the toolkit comes from NVIDIA's archived runfile",
        f"# {row.filename} ({ARCHIVE_PAGE}), checked against the knowledge base's",
        f"# {checksum} ({row.source}).",
        f"# --mirror rewrites the URL through the build argument {URLS_ARG}.",
        f"ARG {URLS_ARG}={shlex.quote(row.url)}",
        "RUN " + " \\\n && ".join(install_lines(row)),
        "ENV PATH=/usr/local/cuda/bin:$PATH LD_LIBRARY_PATH=/usr/local/cuda/lib64",
    ]


def apt_packages(plan: BuildPlan) -> tuple[str, ...]:
    """Ubuntu packages the runfile's download and installer need (knowledge base row), none without a runfile."""
    row = runfile_for(plan)
    return row.apt if row else ()


__all__ = [
    "URLS_ARG",
    "apt_packages",
    "build_args",
    "candidate_urls",
    "install_lines",
    "runfile_dockerfile_lines",
    "runfile_for",
    "toolkit_block",
]
