"""`--gpus N|ID,ID`: which devices a task gets, decided once in the core and passed on as a value.

The selection carries physical ids (nvidia-smi indices), never positions in a renumbered list:
- ids given with `--gpus 0,2` are positions among the GPUs the user exposed (what CUDA numbers 0, 1, ... for a
  process started with the user's CUDA_VISIBLE_DEVICES), mapped to the devices behind them;
- a venv or conda task gets CUDA_VISIBLE_DEVICES of those physical ids, with CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA
  numbers devices the way nvidia-smi does (the user's CUDA_VISIBLE_DEVICES=1,3 and `--gpus 1` give the task `1`);
- docker gets a device request for those ids and the task inside sees them renumbered 0..n-1.
The count drives the GPU-count adaptation; `memory_mib` (the smallest chosen board) the memory-aware rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from legacyrun.errors import UsageError
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


def _physical(gpu: GpuInfo, position: int) -> str:
    # A probed GPU knows its nvidia-smi index; an assumed one (--gpu flags) only its position.
    return gpu.index if gpu.index is not None else str(position)


def select_gpus(spec: str | None, visible: int | Sequence[GpuInfo]) -> GpuSelection:
    """Parse --gpus against the visible GPUs (a count, for callers that know no more).

    None means every visible GPU (at least one process); 'N' the first N; '0,2' those positions among the visible.
    """
    gpus: tuple[GpuInfo, ...] = (
        tuple(GpuInfo(name="GPU") for _ in range(visible)) if isinstance(visible, int) else tuple(visible)
    )
    available = len(gpus)

    def chosen(positions: Sequence[int]) -> tuple[tuple[str, ...], tuple[GpuInfo, ...]]:
        picked = tuple(gpus[p] for p in positions)
        return tuple(_physical(gpus[p], p) for p in positions), picked if not isinstance(visible, int) else ()

    if spec is None or spec.strip() == "":
        ids, picked = chosen(range(available))
        return GpuSelection(max(available, 1), ids, available, picked)
    spec = spec.strip()
    if "," in spec or (spec.isdigit() and spec.startswith("0") and len(spec) > 1):
        parts = tuple(part.strip() for part in spec.split(",") if part.strip())
        if not parts or not all(i.isdigit() for i in parts):
            raise UsageError(f"--gpus {spec!r}: expected a count (2) or device ids (0,1)")
        if len(set(parts)) != len(parts):
            raise UsageError(f"--gpus {spec!r}: a device is listed twice")
        if available and any(int(i) >= available for i in parts):
            raise UsageError(
                f"--gpus {spec!r}: {available} GPU(s) are visible (ids 0..{available - 1})",
                hint="ids count the GPUs CUDA_VISIBLE_DEVICES leaves visible, from 0",
            )
        if not available:
            return GpuSelection(len(parts), parts, 0)
        ids, picked = chosen([int(i) for i in parts])
        return GpuSelection(len(parts), ids, available, picked)
    if not spec.isdigit() or int(spec) < 1:
        raise UsageError(f"--gpus {spec!r}: expected a count >= 1 or device ids such as 0,1")
    count = int(spec)
    if available and count > available:
        raise UsageError(f"--gpus {count}: only {available} GPU(s) are visible", hint=f"use --gpus {available}")
    ids, picked = chosen(range(min(count, available)))
    return GpuSelection(count, ids, available, picked)


__all__ = ["GpuSelection", "select_gpus"]
