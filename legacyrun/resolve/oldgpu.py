"""Plans for the oldest GPUs (Kepler, sm_30/sm_35/sm_37) when no profile's torch binary carries their arch.

Never an opaque refusal: the plan says (1) which official torch binaries still carry the arch, and whether a recipe
profile admits one; (2) how to build torch from source for that arch in docker, as seed 004 did for a GTX 760
(the Dockerfile is rendered here as text; building it takes hours); (3) that the CPU always works (--cpu).

The source build uses the newest toolkit that can still compile the arch (CUDA 10.2 for sm_30, 11.8 for sm_35/37)
within what the profile allows. When NVIDIA's image for that toolkit was deleted from Docker Hub, the Dockerfile
installs the toolkit from NVIDIA's archived runfile with the URL and checksum of the knowledge base
(runfiles.json), as the docker backend does (backends/toolkit.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from legacyrun.backends.toolkit import runfile_dockerfile_lines
from legacyrun.errors import UsageError
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import cc_key, cc_text, version_key
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.resolution import GpuInfo, HostInfo
from legacyrun.resolve.match import matches

KEPLER_MAJOR = 3
MICROMAMBA_URL = "https://micro.mamba.pm/api/micromamba/linux-64/latest"


@dataclass(frozen=True)
class Binary:
    """An official torch build whose arch list runs on the GPU (cubin of the same major, or PTX it can JIT)."""

    torch: str
    cuda: str
    channel: str
    arch_list: str
    profiles: tuple[str, ...]  # recipe profiles whose torch and cuda specs admit it


@dataclass(frozen=True)
class SourceBuild:
    """torch built from source for one arch inside docker."""

    profile: str
    torch: str
    python: str
    cuda: str
    arch: str  # TORCH_CUDA_ARCH_LIST, e.g. '3.0'
    base_image: str
    runfile_url: str | None  # set when the toolkit comes from NVIDIA's archived runfile (image deleted)
    gcc: int | None

    def dockerfile(self) -> str:
        return render_source_build(self)


@dataclass
class OldGpuPlan:
    """What can run on an old GPU, in the order a user would try it."""

    gpu: str
    cc: str
    binaries: list[Binary] = field(default_factory=list)
    source_builds: list[SourceBuild] = field(default_factory=list)

    def lines(self) -> list[str]:
        sm = f"sm_{self.cc.replace('.', '')}"
        out = [f"{self.gpu} is {sm} (Kepler): no profile's torch binary carries it."]
        admitted = [b for b in self.binaries if b.profiles]
        if self.binaries:
            newest = max(self.binaries, key=lambda b: version_key(b.torch))
            oldest = min(self.binaries, key=lambda b: version_key(b.torch))
            out.append(
                f"1. binaries with {sm}: {len(self.binaries)} official builds, torch {oldest.torch} .. "
                f"{newest.torch} (newest: {newest.torch} CUDA {newest.cuda}, {newest.channel}: {newest.arch_list})"
                + (
                    f"; profile(s) {', '.join(sorted({p for b in admitted for p in b.profiles}))} admit some"
                    if admitted
                    else "; none within the recipe's profiles (--pin torch=VERSION tries one)"
                )
            )
        else:
            out.append(f"1. binaries with {sm}: none; no official torch build ever carried it")
        for i, sb in enumerate(self.source_builds[:1]):
            toolkit = (
                f"CUDA {sb.cuda} from NVIDIA's archived runfile (its nvidia/cuda image was deleted; checksum from "
                "the knowledge base)"
                if sb.runfile_url
                else f"{sb.base_image}"
            )
            out.append(
                f"{2 + i}. build torch {sb.torch} from source for {sm} in docker (profile {sb.profile}, Python "
                f"{sb.python}, {toolkit}, TORCH_CUDA_ARCH_LIST={sb.arch}); hours of compiling, as in seed 004"
            )
        if not self.source_builds:
            out.append("2. source build: no toolkit within the recipe's profiles can compile this arch")
        out.append("3. the CPU: --cpu (slow, but every profile's CPU build runs)")
        return out


def is_kepler(gpu: GpuInfo) -> bool:
    return gpu.compute_capability is not None and cc_key(gpu.compute_capability)[0] == KEPLER_MAJOR


def _binaries(loaded: LoadedRecipe, cc: tuple[int, int]) -> list[Binary]:
    knowledge = kb()
    profiles = loaded.recipe.env.profiles
    out: list[Binary] = []
    for release in knowledge.torch_releases:
        if release.proxy:  # extrapolated releases have no arch facts of their own
            continue
        for cuda in release.cudas():
            for channel in ("pip", "conda"):
                table = release.pip if channel == "pip" else release.conda
                if cuda not in table:
                    continue
                arch = knowledge.arch_list(release.facts_from, cuda, channel)
                if arch is None or not (arch.has_cubin_for(cc) or arch.has_ptx_for(cc)):
                    continue
                ok = tuple(
                    sorted(
                        name
                        for name, p in profiles.items()
                        if matches(release.torch, p.torch) and (p.cuda is None or matches(cuda, p.cuda))
                    )
                )
                out.append(Binary(release.torch, cuda, channel, arch.text, ok))
    return out


def _newest_toolkit(cc: tuple[int, int], spec: str | None, torch_cudas: list[str]) -> str | None:
    """The newest CUDA minor that compiles `cc` among those the release was built with (its source builds with
    them), admitted by the profile's spec."""
    knowledge = kb()
    fits = [c for c in torch_cudas if knowledge.toolkit_knows(c, cc) and (spec is None or matches(c, spec))]
    return max(fits, key=version_key) if fits else None


def _source_builds(loaded: LoadedRecipe, cc: tuple[int, int]) -> list[SourceBuild]:
    knowledge = kb()
    recipe = loaded.recipe
    order = list(recipe.env.prefer) or list(recipe.env.profiles)
    out: list[SourceBuild] = []
    for name in order:
        prof = recipe.env.profiles[name]
        releases = [r for r in knowledge.torch_releases if not r.proxy and matches(r.torch, prof.torch)]
        for release in sorted(releases, key=lambda r: r.key, reverse=True):
            cuda = _newest_toolkit(cc, prof.cuda, release.cudas())
            if cuda is None:
                continue
            pythons = [p for p in release.python if matches(p, prof.python)]
            if not pythons:
                continue
            images = knowledge.images_for(cuda)
            runfile = None
            if images:
                tag = images[0]
                flavour = f"-{tag.cudnn}" if tag.cudnn else ""
                base = f"nvidia/cuda:{tag.cuda}{flavour}-devel-ubuntu{tag.ubuntu}"
            else:
                row = knowledge.runfile(cuda)
                if row is None:
                    continue
                runfile = row.url
                base = f"ubuntu:{row.ubuntu}"
            python = max(pythons, key=version_key)
            out.append(
                SourceBuild(name, release.torch, python, cuda, cc_text(cc), base, runfile, knowledge.gcc_max(cuda))
            )
            break
    return out


def old_gpu_plan(loaded: LoadedRecipe, gpu: GpuInfo) -> OldGpuPlan | None:
    """The explained plan for a Kepler GPU; None for newer GPUs (the resolver's own answer stands)."""
    if not is_kepler(gpu) or gpu.compute_capability is None:
        return None
    cc = cc_key(gpu.compute_capability)
    return OldGpuPlan(gpu.name, cc_text(cc), _binaries(loaded, cc), _source_builds(loaded, cc))


def source_build_dockerfile(loaded: LoadedRecipe, host: HostInfo) -> str:
    """The Dockerfile of the first source build for the host's Kepler GPU; a UsageError when there is none."""
    for gpu in host.gpus:
        plan = old_gpu_plan(loaded, gpu)
        if plan is not None and plan.source_builds:
            return plan.source_builds[0].dockerfile()
        if plan is not None:
            raise UsageError(f"{loaded.recipe.name}: no profile allows a toolkit that compiles sm_{plan.cc}")
    raise UsageError(
        "--source-build is for Kepler GPUs (sm_30/sm_35/sm_37)", hint="give one with --gpu, e.g. --gpu 'GTX 760'"
    )


def render_source_build(sb: SourceBuild) -> str:
    """Dockerfile text: toolkit (image or archived runfile), Python, torch's source at v<torch>, one arch's wheel."""
    digest = None if "@sha256:" in sb.base_image else kb().image_digest(sb.base_image)
    ref = f"{sb.base_image}@{digest}" if digest else sb.base_image
    pin_note = (
        "# base pinned by digest"
        if "@sha256:" in ref
        else f"# base not pinned by digest: the knowledge base records no digest for {sb.base_image}"
    )
    lines = [
        f"# legacyrun: torch {sb.torch} built from source for sm_{sb.arch.replace('.', '')} "
        f"(profile {sb.profile}); no official binary carries this arch.",
        f"FROM {ref}",
        pin_note,
        "ENV DEBIAN_FRONTEND=noninteractive",
    ]
    row = kb().runfile(sb.cuda) if sb.runfile_url else None
    gcc = f"gcc-{sb.gcc} g++-{sb.gcc}" if sb.gcc else "gcc g++"
    extra = "".join(f" {p}" for p in row.apt if p != "ca-certificates") if row else ""
    lines.append(
        "RUN apt-get update && apt-get install -y --no-install-recommends "
        f"ca-certificates curl git cmake make {gcc} libopenblas-dev{extra} && rm -rf /var/lib/apt/lists/*"
    )
    lines += [
        "# Python from micromamba: the distribution's Python of that era is too old for the build's tooling.",
        f"RUN curl -fsSL {MICROMAMBA_URL} | tar -xj -C /usr/local bin/micromamba \\",
        f"    && micromamba create -y -p /opt/py -c conda-forge python={sb.python} numpy pyyaml typing_extensions "
        "setuptools cffi ninja",
        "ENV PATH=/opt/py/bin:$PATH",
    ]
    if row is not None:
        lines += runfile_dockerfile_lines(row)
    if sb.gcc:
        lines.append(f"ENV CC=gcc-{sb.gcc} CXX=g++-{sb.gcc}")
    lines += [
        f'ENV TORCH_CUDA_ARCH_LIST="{sb.arch}" USE_CUDA=1 USE_CUDNN=0 USE_NCCL=0 BUILD_TEST=0 MAX_JOBS=4',
        f"RUN git clone --depth 1 --branch v{sb.torch} --recursive https://github.com/pytorch/pytorch /opt/pytorch",
        "WORKDIR /opt/pytorch",
        'RUN python setup.py bdist_wheel && pip install dist/*.whl && python -c "import torch; '
        "print(torch.__version__, torch.cuda.get_arch_list() if hasattr(torch.cuda, 'get_arch_list') else '')\"",
    ]
    return "\n".join(lines) + "\n"


__all__ = [
    "Binary",
    "OldGpuPlan",
    "SourceBuild",
    "is_kepler",
    "old_gpu_plan",
    "render_source_build",
    "source_build_dockerfile",
]
