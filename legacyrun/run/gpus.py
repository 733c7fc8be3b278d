"""`--gpus N|ID,ID`: which devices a task sees, and how many processes the GPU-count adaptation plans for."""

from __future__ import annotations

from dataclasses import dataclass

from legacyrun.errors import UsageError


@dataclass(frozen=True)
class GpuSelection:
    """The devices a task gets; `count` drives the adaptation, `ids` become CUDA_VISIBLE_DEVICES."""

    count: int
    ids: tuple[str, ...]
    available: int

    @property
    def cuda_visible_devices(self) -> str:
        # On a host without GPUs an empty value hides nothing that exists and keeps launchers from guessing.
        return ",".join(self.ids)

    def describe(self) -> str:
        if not self.ids:
            return f"{self.count} process(es), no GPU on this host (CPU)"
        return f"{self.count} GPU(s): {self.cuda_visible_devices}"


def select_gpus(spec: str | None, available: int) -> GpuSelection:
    """Parse --gpus. None means every visible GPU (at least one process); 'N' the first N; '0,2' those ids."""
    if spec is None or spec.strip() == "":
        count = max(available, 1)
        return GpuSelection(count, tuple(str(i) for i in range(available)), available)
    spec = spec.strip()
    if "," in spec or (spec.isdigit() and spec.startswith("0") and len(spec) > 1):
        ids = tuple(part.strip() for part in spec.split(",") if part.strip())
        if not ids or not all(i.isdigit() for i in ids):
            raise UsageError(f"--gpus {spec!r}: expected a count (2) or device ids (0,1)")
        if len(set(ids)) != len(ids):
            raise UsageError(f"--gpus {spec!r}: a device is listed twice")
        if available and any(int(i) >= available for i in ids):
            raise UsageError(f"--gpus {spec!r}: this host has {available} GPU(s) (ids 0..{available - 1})")
        return GpuSelection(len(ids), ids, available)
    if not spec.isdigit() or int(spec) < 1:
        raise UsageError(f"--gpus {spec!r}: expected a count >= 1 or device ids such as 0,1")
    count = int(spec)
    if available and count > available:
        raise UsageError(f"--gpus {count}: this host has only {available} GPU(s)", hint=f"use --gpus {available}")
    return GpuSelection(count, tuple(str(i) for i in range(min(count, available))), available)


__all__ = ["GpuSelection", "select_gpus"]
