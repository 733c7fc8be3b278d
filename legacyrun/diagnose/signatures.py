"""Failure signatures as data: load and validate data/signatures.yaml (or another file) into a SignatureSet.

Each pattern has an *anchor*, a literal that every match contains (`pattern_anchor`, or the signature's
`anchors:`). Loading files the compiled patterns under *gates*, short literals from data/gates.yaml that the
pure-Python scan looks up with str.find, and collects the anchors as *needles* for the `grep -F` prefilter of big
logs (see scanner.py).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legacyrun.errors import UsageError

DATA_DIR = Path(__file__).with_name("data")
SIGNATURES_FILE = DATA_DIR / "signatures.yaml"
GATES_FILE = DATA_DIR / "gates.yaml"
_REQUIRED = ("id", "title", "patterns", "priority", "cause", "fix", "sources")
_OPTIONAL = ("generic", "catalog_rules", "cpu_rules", "anchors")
_MIN_ANCHOR = 4
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class SignatureFileError(UsageError):
    """The signatures file is malformed (names the file, the signature and the field)."""


@dataclass(frozen=True)
class Signature:
    """One known failure: how to recognise it and what to do about it."""

    id: str
    title: str
    patterns: tuple[str, ...]
    priority: int
    cause: str
    fix: str
    sources: tuple[str, ...]
    generic: bool = False
    catalog_rules: tuple[str, ...] = ()
    # Catalog rules (direction `device`) that fix it on a CPU plan, in the file of the failure's innermost traceback
    # frame in the project: hard-coded CUDA devices, ops with only a CUDA kernel. Never chosen by a scan.
    cpu_rules: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignatureSet:
    """The loaded signatures plus the gate index: gate literal -> (signature index, compiled pattern) pairs.

    needles: the anchors, less those holding a shorter one (grep -F finds every line that can match).
    """

    signatures: tuple[Signature, ...]
    gates: tuple[tuple[str, tuple[tuple[int, re.Pattern[str]], ...]], ...] = field(repr=False)
    needles: tuple[str, ...] = field(default=(), repr=False)

    def by_id(self, sig_id: str) -> Signature:
        for sig in self.signatures:
            if sig.id == sig_id:
                return sig
        raise KeyError(sig_id)


def load_signatures(path: Path | None = None) -> SignatureSet:
    """Load and validate a signatures file (default: the packaged one, loaded once per process)."""
    if path is None:
        return _default_signatures()
    return _load(path)


@functools.lru_cache(maxsize=1)
def _default_signatures() -> SignatureSet:
    return _load(SIGNATURES_FILE)


def load_gates(path: Path | None = None) -> tuple[str, ...]:
    """The gate literals in their order (default: the packaged data/gates.yaml, loaded once per process)."""
    if path is None:
        return _default_gates()
    return _load_gates(path)


@functools.lru_cache(maxsize=1)
def _default_gates() -> tuple[str, ...]:
    return _load_gates(GATES_FILE)


def _read_yaml(path: Path, what: str) -> object:
    import yaml

    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise SignatureFileError(f"{path}: cannot read {what}: {exc}".replace("\n", " ")) from exc


def _load_gates(path: Path) -> tuple[str, ...]:
    data = _read_yaml(path, "gates")
    gates = data.get("gates") if isinstance(data, dict) else None
    if not isinstance(gates, list) or not gates or not all(isinstance(g, str) and g for g in gates):
        raise SignatureFileError(f"{path}: expected a mapping with a 'gates' list of non-empty strings")
    return tuple(gates)


def _load(path: Path) -> SignatureSet:
    data = _read_yaml(path, "signatures")
    if not isinstance(data, dict) or not isinstance(data.get("signatures"), list):
        raise SignatureFileError(f"{path}: expected a mapping with a 'signatures' list")
    sigs: list[Signature] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["signatures"]):
        sig = _parse_one(path, i, raw)
        if sig.id in seen:
            raise SignatureFileError(f"{path}: signatures[{i}]: duplicate id {sig.id!r}")
        seen.add(sig.id)
        sigs.append(sig)
    ordered = tuple(sorted(sigs, key=lambda s: (-s.priority, s.id)))
    return SignatureSet(signatures=ordered, gates=_gate_index(ordered, load_gates()), needles=_needles(ordered))


def _parse_one(path: Path, i: int, raw: object) -> Signature:
    where = f"{path}: signatures[{i}]"
    if not isinstance(raw, dict):
        raise SignatureFileError(f"{where}: expected a mapping")
    if isinstance(raw.get("id"), str):
        where = f"{path}: signature {raw['id']!r}"
    missing = [k for k in _REQUIRED if raw.get(k) in (None, "", [])]
    if missing:
        raise SignatureFileError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise SignatureFileError(f"{where}: unknown field(s) {', '.join(unknown)}")
    if not _ID.match(str(raw["id"])):
        raise SignatureFileError(f"{where}: id must be a lower-case slug")
    prio = raw["priority"]
    if not isinstance(prio, int) or isinstance(prio, bool) or not 0 <= prio <= 100:
        raise SignatureFileError(f"{where}: priority must be an integer 0-100")
    patterns = _str_list(where, "patterns", raw["patterns"])
    anchors = _str_list(where, "anchors", raw.get("anchors") or [])
    for j, pat in enumerate(patterns):
        try:
            compiled = re.compile(pat, re.MULTILINE)
        except re.error as exc:
            raise SignatureFileError(f"{where}: patterns[{j}]: invalid regex: {exc}") from exc
        if compiled.search(""):
            raise SignatureFileError(f"{where}: patterns[{j}]: matches the empty string")
        if compiled.flags & re.IGNORECASE:
            raise SignatureFileError(f"{where}: patterns[{j}]: no global (?i); anchors are case-sensitive")
        if len(pattern_anchor(pat)) < _MIN_ANCHOR and not anchors:
            raise SignatureFileError(
                f"{where}: patterns[{j}]: no literal of {_MIN_ANCHOR}+ characters outside groups; add `anchors:`"
            )
    for key in ("title", "cause", "fix"):
        if not isinstance(raw[key], str):
            raise SignatureFileError(f"{where}: {key} must be text")
    return Signature(
        id=str(raw["id"]),
        title=raw["title"].strip(),
        patterns=tuple(patterns),
        priority=prio,
        cause=" ".join(raw["cause"].split()),
        fix=" ".join(raw["fix"].split()),
        sources=tuple(_str_list(where, "sources", raw["sources"])),
        generic=bool(raw.get("generic", False)),
        catalog_rules=tuple(_str_list(where, "catalog_rules", raw.get("catalog_rules") or [])),
        cpu_rules=tuple(_str_list(where, "cpu_rules", raw.get("cpu_rules") or [])),
        anchors=tuple(anchors),
    )


def _str_list(where: str, key: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SignatureFileError(f"{where}: {key} must be a list of non-empty strings")
    return list(value)


@functools.lru_cache(maxsize=1024)  # loading asks three times per pattern (check, gate, needle)
def pattern_anchor(pattern: str) -> str:
    """The longest run of literal characters at the top level of a regex: text that every match contains."""
    import importlib
    import sys

    # The regex parser is internal to `re`; its module moved in Python 3.11.
    parser: Any = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")
    parsed = parser.parse(pattern)
    best = cur = ""
    for op, av in parsed:
        if op is parser.LITERAL:
            cur += chr(av)
        else:
            best = max(best, cur, key=len)
            cur = ""
    return max(best, cur, key=len)


def _gate_index(
    sigs: tuple[Signature, ...], gate_list: tuple[str, ...]
) -> tuple[tuple[str, tuple[tuple[int, re.Pattern[str]], ...]], ...]:
    index: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
    for i, sig in enumerate(sigs):
        for pat in sig.patterns:
            auto = pattern_anchor(pat)
            anchors = list(sig.anchors) if sig.anchors else [auto]
            compiled = re.compile(pat, re.MULTILINE)
            for anchor in anchors:
                gate = next((g for g in gate_list if g in anchor), anchor)
                entries = index.setdefault(gate, [])
                if (i, compiled) not in entries:
                    entries.append((i, compiled))
    return tuple((gate, tuple(entries)) for gate, entries in index.items())


def _needles(sigs: tuple[Signature, ...]) -> tuple[str, ...]:
    anchors = {a for sig in sigs for p in sig.patterns for a in (sig.anchors or (pattern_anchor(p),))}
    # A line holding "No module named 'apex'" holds "No module named '": the shorter needle is enough.
    return tuple(sorted(a for a in anchors if not any(o != a and o in a for o in anchors)))


__all__ = [
    "GATES_FILE",
    "SIGNATURES_FILE",
    "Signature",
    "SignatureFileError",
    "SignatureSet",
    "load_gates",
    "load_signatures",
    "pattern_anchor",
]
