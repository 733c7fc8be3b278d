"""The GPU selection a task gets, as a value: what the backends, the runner and the GPU-count adaptation receive.

The selection carries physical ids (nvidia-smi indices), never positions in a renumbered list:
- a venv or conda task gets CUDA_VISIBLE_DEVICES of those physical ids, with CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA
  numbers devices the way nvidia-smi does (the user's CUDA_VISIBLE_DEVICES=1,3 and `--gpus 1` give the task `1`);
- docker gets a device request for those ids and the task inside sees them renumbered 0..n-1.
The count drives the GPU-count adaptation; `memory_mib` (the smallest chosen board) the memory-aware rules.
Which devices a task gets (`--gpus` against the host's GPUs) is decided in `legacyrun.run.gpus`; this value sits
low in the tree so the backends (layer 3) can take it without importing the run layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from legacyrun.resolution import GpuInfo


@dataclass(frozen=True)
class GpuSelection:
    """The devices a task gets; `count` drives the adaptation, `ids` are physical (nvidia-smi) device ids."""

    count: int
    ids: tuple[str, ...]
    available: int
    gpus: tuple[GpuInfo, ...] = field(default=())

    @property
    def cuda_visible_devices(self) -> str:
        # On a host without GPUs an empty value hides nothing that exists and keeps launchers from guessing.
        return ",".join(self.ids)

    @property
    def container_visible_devices(self) -> str:
        """CUDA_VISIBLE_DEVICES inside a container: the runtime exposes only the requested devices, as 0..n-1."""
        return ",".join(str(i) for i in range(len(self.ids)))

    @property
    def memory_mib(self) -> int | None:
        """Memory of the smallest chosen board (a data-parallel job is bound by it); None when unknown."""
        known = [g.memory_mib for g in self.gpus if g.memory_mib]
        return min(known) if known else None

    def task_env(self) -> dict[str, str]:
        """Environment of a task started on this host (venv, conda): physical ids in nvidia-smi's order.

        It replaces the user's CUDA_VISIBLE_DEVICES (the ids already went through it); CUDA's default order
        (fastest first) can differ from nvidia-smi's on mixed boards, hence PCI_BUS_ID with the ids."""
        if not self.ids:
            return {"CUDA_VISIBLE_DEVICES": ""}
        return {"CUDA_VISIBLE_DEVICES": self.cuda_visible_devices, "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}

    def describe(self) -> str:
        if not self.ids:
            return f"{self.count} process(es), no GPU on this host (CPU)"
        return f"{self.count} GPU(s): {self.cuda_visible_devices}"

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "ids": list(self.ids),
            "available": self.available,
            "devices": [g.model_dump(mode="json") for g in self.gpus],
        }


__all__ = ["GpuSelection"]
