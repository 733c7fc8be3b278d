"""Docker base image and host GCC for a CUDA toolkit: an nvidia/cuda devel tag that still exists, or a stated
fallback when NVIDIA deleted the tags for that CUDA (all 10.x/9.x/8.0 and several 11.x patches, 2023)."""

from __future__ import annotations

from dataclasses import dataclass

from legacyrun.knowledge import kb
from legacyrun.knowledge.base import minor, version_key
from legacyrun.resolve.match import matches

CPU_UBUNTU = "22.04"


@dataclass(frozen=True)
class ImageChoice:
    base_image: str
    gcc: str | None
    ubuntu: str
    note: str | None
    reason: str


def _gcc_on(ubuntu: str, gcc_max: int | None, pin: str | None) -> int | None:
    """The GCC to use on an Ubuntu release: its default when nvcc accepts it, else the newest accepted gcc-N."""
    row = kb().ubuntu(ubuntu)
    if row is None:
        return None
    ok = [g for g in row.gcc if (gcc_max is None or g <= gcc_max) and matches(str(g), pin)]
    if not ok:
        return None
    return row.default_gcc if row.default_gcc in ok else max(ok)


def choose_image(cuda: str, cudnn: str | None, gcc_pin: str | None) -> ImageChoice | None:
    """Best existing devel tag for a CUDA minor (newest patch, cuDNN flavour, newest Ubuntu with a usable GCC)."""
    knowledge = kb()
    tags = knowledge.images_for(cuda)
    tags.sort(key=lambda t: (version_key(t.cuda), t.cudnn is not None, version_key(t.ubuntu)), reverse=True)
    for tag in tags:
        gmax = knowledge.gcc_max(tag.cuda)
        gcc = _gcc_on(tag.ubuntu, gmax, gcc_pin)
        if gcc is None:
            continue
        status = " (EOL but still published)" if tag.status == "eol" else ""
        reason = (
            f"base image {tag.tag}{status}; gcc {gcc}: nvcc {minor(tag.cuda)} accepts gcc <= {gmax}, "
            f"ubuntu{tag.ubuntu} ships gcc {knowledge.ubuntu(tag.ubuntu).default_gcc}"  # type: ignore[union-attr]
        )
        return ImageChoice(tag.tag, str(gcc), tag.ubuntu, None, reason)
    deleted = knowledge.deleted_images(cuda)
    if not deleted:
        return None
    gmax = knowledge.gcc_max(cuda)
    ubuntus = sorted({u for d in deleted for u in d["ubuntu"]}, key=version_key, reverse=True)
    for ubuntu in ubuntus:
        gcc = _gcc_on(ubuntu, gmax, gcc_pin)
        if gcc is None:
            continue
        flavour = f"cudnn{cudnn.split('.')[0]}-devel" if cudnn else "devel"
        gone = f"nvidia/cuda:{minor(cuda)}-{flavour}-ubuntu{ubuntu}"
        runfile = knowledge.runfile(cuda)
        toolkit = (
            f"the CUDA {runfile.cuda} toolkit installed in the image from NVIDIA's archived runfile "
            f"{runfile.filename} ({'checksum' if runfile.verified else 'NO checksum'} in the knowledge base)"
            if runfile
            else f"no archived CUDA {minor(cuda)} runfile known: pass --base-image with the toolkit"
        )
        note = (
            f"{gone} was deleted from Docker Hub (NVIDIA's 2023 deletion of CUDA {minor(cuda)} tags); "
            f"using ubuntu:{ubuntu} with {toolkit} "
            "(or rebuild the tag from gitlab.com/nvidia/container-images/cuda)"
        )
        reason = (
            f"base image ubuntu:{ubuntu} (fallback: {gone} was deleted); "
            f"gcc {gcc}: nvcc {minor(cuda)} accepts gcc <= {gmax}"
        )
        return ImageChoice(f"ubuntu:{ubuntu}", str(gcc), ubuntu, note, reason)
    return None


def cpu_image(gcc_pin: str | None) -> ImageChoice:
    """CPU builds need no CUDA image: plain Ubuntu with a GCC matching the recipe's pin when it has one."""
    for row in sorted(kb().ubuntu_gcc, key=lambda r: version_key(r.ubuntu), reverse=True):
        if version_key(row.ubuntu) > version_key(CPU_UBUNTU):
            continue
        gcc = _gcc_on(row.ubuntu, None, gcc_pin)
        if gcc is not None:
            return ImageChoice(
                f"ubuntu:{row.ubuntu}",
                str(gcc),
                row.ubuntu,
                None,
                f"base image ubuntu:{row.ubuntu} (CPU build); gcc {gcc}",
            )
    return ImageChoice(f"ubuntu:{CPU_UBUNTU}", None, CPU_UBUNTU, None, f"base image ubuntu:{CPU_UBUNTU} (CPU build)")


__all__ = ["ImageChoice", "choose_image", "cpu_image"]
