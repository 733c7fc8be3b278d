"""Requirements that a repository's imports imply without naming them (legacyrun/infer/data/imports.yaml):
`from torch.utils.tensorboard import SummaryWriter` needs the `tensorboard` package, which no requirements file of
that era lists because torch once shipped without the writer's dependency checks."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DATA = Path(__file__).with_name("data") / "imports.yaml"


@dataclass(frozen=True)
class ImpliedRequirement:
    requirement: str
    where: str  # FILE:LINE of the first import
    why: str


@functools.cache
def _table() -> tuple[tuple[re.Pattern[str], str, str], ...]:
    rows = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    out = []
    for row in rows:
        mod = re.escape(row["module"])
        pattern = re.compile(rf"^\s*(?:from\s+{mod}(?:\.\w+)*\s+import\b|import\s+{mod}\b)", re.MULTILINE)
        out.append((pattern, str(row["requirement"]), str(row["why"])))
    return tuple(out)


def implied_requirements(root: Path, files: list[Path]) -> list[ImpliedRequirement]:
    """One entry per requirement of the table that some Python file under `root` imports (first file by path)."""
    found: dict[str, ImpliedRequirement] = {}
    for path in sorted(p for p in files if p.suffix == ".py"):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for pattern, requirement, why in _table():
            if requirement in found:
                continue
            m = pattern.search(text)
            if m:
                line = text.count("\n", 0, m.start()) + 1
                found[requirement] = ImpliedRequirement(requirement, f"{path.relative_to(root).as_posix()}:{line}", why)
    return [found[k] for k in sorted(found)]


__all__ = ["ImpliedRequirement", "implied_requirements"]
