"""How close an inferred recipe comes to a curated one, field by field (the scaffold's accuracy, tracked over time).

Compared are what a person would otherwise write by hand: the faithful pins (torch, torchvision, CUDA, Python),
the sources (each curated source by URL and commit; the project's own by URL, since a test mirror may re-make its
commit), the faithful build steps (source and working directory), the tasks (name and script) and the adapt keys
(key and rule). Every curated item is one row; a row matches or it does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from legacyrun.recipe.models import Recipe

PIN_KEYS = ("torch", "torchvision", "cuda", "python")


@dataclass(frozen=True)
class Row:
    area: str  # pins | sources | build | tasks | adapt
    item: str
    curated: str
    inferred: str

    @property
    def ok(self) -> bool:
        return self.curated == self.inferred


def _script(argv: list[str]) -> str:
    """The script a task runs (`train_net.py`, `train.sh`), whatever launches it."""
    return next((a for a in argv if a.endswith((".py", ".sh"))), " ".join(argv[:2]))


def _faithful(recipe: Recipe) -> Any:
    profiles = recipe.env.profiles
    return profiles.get("faithful") or next(iter(profiles.values()))


def compare(inferred: Recipe, curated: Recipe) -> list[Row]:
    rows: list[Row] = []
    fi, fc = _faithful(inferred), _faithful(curated)
    for key in PIN_KEYS:
        want = getattr(fc, key)
        if want is None:
            continue
        rows.append(Row("pins", key, str(want), str(getattr(fi, key) or "-")))
    own = curated.sources[0].name
    by_url = {s.origin.rstrip("/").removesuffix(".git").lower(): s for s in inferred.sources}
    for src in curated.sources:
        got = by_url.get(src.origin.rstrip("/").removesuffix(".git").lower())
        if src.name == own:
            rows.append(Row("sources", src.name, src.origin, got.origin if got else "-"))
        else:
            rows.append(Row("sources", src.name, src.pin, got.pin if got else "-"))
    names = {s.name: s.origin.rstrip("/").removesuffix(".git").lower() for s in curated.sources}
    inames = {s.name: s.origin.rstrip("/").removesuffix(".git").lower() for s in inferred.sources}
    isteps = {(inames.get(b.source, b.source), b.cwd, b.cpu) for b in fi.build}
    for b in fc.build:
        step = (names.get(b.source, b.source), b.cwd, b.cpu)
        rows.append(Row("build", b.name, f"{b.cwd} cpu={b.cpu}", f"{b.cwd} cpu={b.cpu}" if step in isteps else "-"))
    for name, task in curated.tasks.items():
        itask = inferred.tasks.get(name)
        rows.append(Row("tasks", name, _script(task.argv), _script(itask.argv) if itask else "-"))
    ikeys = {(k.key, k.rule) for k in inferred.adapt.keys} if inferred.adapt else set()
    if curated.adapt:
        want_ref = curated.adapt.reference_gpus
        rows.append(Row("adapt", "reference_gpus", str(want_ref),
                        str(inferred.adapt.reference_gpus) if inferred.adapt else "-"))  # fmt: skip
        for k in curated.adapt.keys:
            rows.append(Row("adapt", k.key, k.rule, k.rule if (k.key, k.rule) in ikeys else "-"))
    return rows


def score(rows: list[Row]) -> float:
    return sum(r.ok for r in rows) / len(rows) if rows else 1.0


def render(project: str, rows: list[Row]) -> str:
    """A fixed-width table, one row per curated item, and the score per area."""
    lines = [f"{project}: {sum(r.ok for r in rows)}/{len(rows)} ({score(rows):.0%})"]
    for r in rows:
        mark = "ok  " if r.ok else "MISS"
        lines.append(f"  {mark} {r.area:<8} {r.item:<28} curated={r.curated:<44} inferred={r.inferred}")
    by_area: dict[str, list[Row]] = {}
    for r in rows:
        by_area.setdefault(r.area, []).append(r)
    lines.append("  " + ", ".join(f"{a} {sum(x.ok for x in rs)}/{len(rs)}" for a, rs in by_area.items()))
    return "\n".join(lines)


__all__ = ["PIN_KEYS", "Row", "compare", "render", "score"]
