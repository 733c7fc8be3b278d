"""Loads the catalog before/after fixture tables and builds legacy-style repositories from them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
MODERN = "torch=2.6,python=3.12,cuda=12.4"


@dataclass(frozen=True)
class Fixture:
    rule: str
    file: str
    before: str
    after: str | None
    target: str

    @property
    def name(self) -> str:
        return f"{self.rule}:{self.file}"


def load_fixtures() -> list[Fixture]:
    out = []
    for table in sorted(HERE.glob("*.yaml")):
        for raw in yaml.safe_load(table.read_text(encoding="utf-8")):
            out.append(Fixture(raw["rule"], raw["file"], raw["before"], raw.get("after"), raw.get("target", MODERN)))
    return out


def build_repos(base: Path) -> dict[str, Path]:
    """One legacy-style repository per fixture target: every fixture's `before` at its path (a second fixture
    with the same path goes under a folder named for its rule). Returns {target: repo root}."""
    groups: dict[str, list[Fixture]] = defaultdict(list)
    for fx in load_fixtures():
        groups[fx.target].append(fx)
    repos = {}
    for i, (target, fixtures) in enumerate(sorted(groups.items())):
        root = base / f"repo{i}"
        for fx in fixtures:
            path = root / fx.file
            if path.exists():
                path = root / fx.rule / fx.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(fx.before, encoding="utf-8")
        repos[target] = root
    return repos
