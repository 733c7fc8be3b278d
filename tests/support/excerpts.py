"""The excerpts of `legacyrun explain`'s tests (tests/diagnose/excerpts/, one YAML file per excerpt), read for the
collector in tests/diagnose/conftest.py.

File format: `signature` (the id `legacyrun explain` must report first), `excerpt` (the log text as a user sees it)
and, for the MMDetection FAQ's entries, `faq` (the entry it stands for). The file is named after its signature,
`<id>.yaml`, and further excerpts of the same signature `<id>-2.yaml`, `<id>-3.yaml`, ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

EXCERPTS = Path(__file__).resolve().parents[1] / "diagnose" / "excerpts"
_KEYS = {"signature", "excerpt", "faq"}


@dataclass(frozen=True)
class Excerpt:
    name: str  # the file name without .yaml: the test id
    signature: str
    text: str
    faq: str | None = None


def _load(path: Path) -> Excerpt:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not {"signature", "excerpt"} <= set(data) <= _KEYS:
        raise ValueError(f"{path}: expected the keys signature, excerpt (and faq), got {sorted(data or ())}")
    sig, text, faq = data["signature"], data["excerpt"], data.get("faq")
    if not isinstance(sig, str) or not isinstance(text, str) or not text.strip() or not isinstance(faq, str | None):
        raise ValueError(f"{path}: signature, excerpt and faq must be text")
    if not re.fullmatch(rf"{re.escape(sig)}(-[2-9]|-[1-9][0-9]+)?", path.stem):
        raise ValueError(f"{path}: the file name does not match its signature {sig!r} (<id>.yaml or <id>-N.yaml)")
    return Excerpt(name=path.stem, signature=sig, text=text, faq=faq)


def load_excerpts() -> list[Excerpt]:
    return [_load(path) for path in sorted(EXCERPTS.glob("*.yaml"))]
