"""`--gpus N|ID,ID`: which devices a task gets, decided once in the core and passed on as a value.

The value, `GpuSelection`, is in `legacyrun.gpus` (what it means for venv, conda and docker tasks). Ids given with
`--gpus 0,2` are positions among the GPUs the user exposed (what CUDA numbers 0, 1, ... for a process started with
the user's CUDA_VISIBLE_DEVICES), mapped to the physical (nvidia-smi) devices behind them.
"""

from __future__ import annotations

from collections.abc import Sequence

from legacyrun.errors import UsageError
from legacyrun.gpus import GpuSelection
from legacyrun.resolution import GpuInfo


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


__all__ = ["select_gpus"]
