"""`legacyrun doctor`: the host report and a verdict per recipe (which profile, or why none)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from legacyrun.errors import LegacyrunError
from legacyrun.resolution import HostInfo
from legacyrun.resolve.engine import gpu_label, resolve
from legacyrun.share.registry import available, load


@dataclass
class Verdict:
    recipe: str
    ok: bool
    profile: str | None = None
    torch: str | None = None
    cuda: str | None = None
    reason: str = ""
    hint: str | None = None


@dataclass
class DoctorReport:
    host: HostInfo
    verdicts: list[Verdict] = field(default_factory=list)

    def host_lines(self) -> list[str]:

        h = self.host
        lines = [f"host{' (assumed)' if h.assumed else ''}: {h.arch}"]
        if h.gpus:
            # Identical boards in a row collapse into one line ('gpu 0-7: 8x ...').
            start = 0
            for i, gpu in enumerate(h.gpus):
                if i + 1 < len(h.gpus) and h.gpus[i + 1].same_board(gpu):
                    continue
                mem = f", {gpu.memory_mib} MiB" if gpu.memory_mib else ""
                cc = gpu.compute_capability or "unknown"
                which = f"gpu {start}" if start == i else f"gpu {start}-{i}: {i - start + 1}x"
                sep = ":" if start == i else ""
                lines.append(f"  {which}{sep} {gpu.name} ({gpu_label(gpu)}, compute capability {cc}{mem})")
                start = i + 1
        else:
            lines.append("  gpu: none")
        lines.append(
            f"  driver: {h.driver or 'none'}" + (f" (runs CUDA <= {h.cuda_driver_max})" if h.cuda_driver_max else "")
        )
        lines.append(f"  nvcc: {h.nvcc or 'not found'}")
        lines.append(f"  gcc: {', '.join(h.gcc) if h.gcc else 'not found'}")
        lines.append(f"  docker daemon: {'answers' if h.docker else 'not reachable'}")
        if h.free_disk_bytes is not None:
            lines.append(f"  free disk: {h.free_disk_bytes / 2**30:.1f} GiB")
        lines.extend(f"  note: {n}" for n in h.notes)
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "host": self.host.model_dump(mode="json"),
            "gpu_count": len(self.host.gpus),
            "recipes": [asdict(v) for v in self.verdicts],
        }


def diagnose(host: HostInfo, recipe: str | None = None) -> DoctorReport:
    """Resolve each recipe (or the one named) for `host`; failures become verdicts, never exceptions."""

    report = DoctorReport(host=host)
    specs = [recipe] if recipe else [ref.name for ref in available()]
    for spec in specs:
        try:
            loaded = load(spec)
        except LegacyrunError as exc:
            if recipe:
                raise
            report.verdicts.append(Verdict(spec, False, reason=exc.message.splitlines()[0]))
            continue
        try:
            res = resolve(loaded, host)
        except LegacyrunError as exc:
            report.verdicts.append(Verdict(loaded.recipe.name, False, reason=exc.message, hint=exc.hint))
            continue
        report.verdicts.append(
            Verdict(loaded.recipe.name, True, res.profile, res.torch, res.cuda, reason=res.reasons[0])
        )
    return report


__all__ = ["DoctorReport", "Verdict", "diagnose"]
