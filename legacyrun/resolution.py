"""What the resolver produces: complete pins for one recipe profile on one (real or assumed) host.

Every later step reads this (lock, patch conditions, backends, run), so it is the contract between them. Plain
values with no legacyrun import, low in the tree: the lock (`legacyrun/lock.py`) holds a Resolution, and the host
probe (`legacyrun/host.py`) makes the HostInfo that `legacyrun/resolve/` resolves against.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GpuInfo(_Frozen):
    """One GPU as probed or assumed."""

    name: str = Field(description="Marketing name, e.g. 'NVIDIA H100 80GB HBM3'.")
    compute_capability: str | None = Field(default=None, description="'9.0'; None when unknown.")
    memory_mib: int | None = Field(default=None, description="Total memory in MiB.")
    # Left out of dumps when None, so locks (which never name devices) keep their text.
    index: str | None = Field(
        default=None,
        description="nvidia-smi index (physical, PCI bus order); None when assumed from flags.",
        exclude_if=lambda v: v is None,
    )
    uuid: str | None = Field(
        default=None, description="nvidia-smi UUID ('GPU-...'); None when assumed.", exclude_if=lambda v: v is None
    )

    def same_board(self, other: GpuInfo) -> bool:
        """The same kind of board (name, compute capability, memory), whichever device it is."""
        return (self.name, self.compute_capability, self.memory_mib) == (
            other.name,
            other.compute_capability,
            other.memory_mib,
        )


class HostInfo(_Frozen):
    """The machine a resolution is for (probed, or assumed with --gpu/--driver/--cpu)."""

    assumed: bool = Field(default=False, description="True when planned for another machine via flags.")
    gpus: list[GpuInfo] = Field(default_factory=list, description="Visible GPUs (CUDA_VISIBLE_DEVICES applied).")
    driver: str | None = Field(default=None, description="NVIDIA driver version, e.g. '550.54.15'.")
    cuda_driver_max: str | None = Field(default=None, description="Newest CUDA the driver supports, e.g. '12.4'.")
    nvcc: str | None = Field(default=None, description="nvcc version on PATH.")
    gcc: list[str] = Field(default_factory=list, description="GCC versions found on PATH (gcc, gcc-N).")
    docker: bool = Field(default=False, description="A docker daemon answers.")
    free_disk_bytes: int | None = Field(default=None, description="Free space where the workspace goes.")
    arch: str = Field(default="x86_64", description="Machine architecture.")
    notes: list[str] = Field(default_factory=list, description="Probe remarks (no nvidia-smi, hidden GPUs, ...).")

    @property
    def cpu_only(self) -> bool:
        return not self.gpus


class Resolution(_Frozen):
    """Complete pins plus the reasons for them."""

    recipe: str = Field(description="Recipe name.")
    recipe_hash: str = Field(description="Hash of the recipe this was resolved from.")
    profile: str = Field(description="Chosen profile, e.g. 'faithful' or 'modern'.")
    python: str = Field(description="Exact Python version, e.g. '3.8'.")
    torch: str = Field(description="Exact torch version, e.g. '1.9.0'.")
    torchvision: str | None = Field(default=None, description="Exact torchvision version.")
    cuda: str | None = Field(default=None, description="CUDA toolkit version, None for a CPU build.")
    cudnn: str | None = Field(default=None, description="cuDNN version, None for a CPU build.")
    gcc: str | None = Field(default=None, description="Host GCC major version for native extensions.")
    base_image: str | None = Field(default=None, description="Docker base image (an nvidia/cuda tag that exists).")
    base_image_note: str | None = Field(default=None, description="Why a fallback image was chosen, if one was.")
    torch_cuda_arch_list: str | None = Field(default=None, description="TORCH_CUDA_ARCH_LIST, e.g. '8.6;9.0+PTX'.")
    pip_index_url: str | None = Field(default=None, description="PyTorch wheel index for this CUDA variant.")
    pip_find_links: str | None = Field(default=None, description="Legacy find-links page (torch < 1.x wheels).")
    pip_specs: list[str] = Field(default_factory=list, description="pip requirement lines, torch first.")
    conda_channels: list[str] = Field(default_factory=list, description="Conda channels, in priority order.")
    conda_specs: list[str] = Field(default_factory=list, description="Conda match specs, python and torch first.")
    installer: Literal["pip", "conda"] = Field(default="pip", description="How torch itself is installed.")
    host: HostInfo = Field(description="The host it was resolved for.")
    pins: dict[str, str] = Field(
        default_factory=dict,
        description="--pin NAME=VERSION overrides it was resolved with (torch, torchvision, python, cuda, gcc).",
    )
    reasons: list[str] = Field(default_factory=list, description="One line per decision, most important first.")

    @property
    def gpu_count(self) -> int:
        return len(self.host.gpus)

    def to_json(self) -> dict[str, Any]:
        """`legacyrun resolve --json`'s result: every field, and the GPU count."""
        data = self.model_dump(mode="json")
        data["gpu_count"] = self.gpu_count
        return data


__all__ = ["GpuInfo", "HostInfo", "Resolution"]
