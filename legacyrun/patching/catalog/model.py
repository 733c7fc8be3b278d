"""The catalog's data model: rules loaded from rules.yaml, target versions, findings, rule sets."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from legacyrun.errors import PatchError, UsageError
from legacyrun.patching.globs import matches

SET_PREFIX = "set:"
SET_NAMES = (
    "python-forward",
    "numpy-forward",
    "cpp-forward",
    "thc",
    "shell-forward",
    "config-forward",
    "reverse",
    "cpu-plan",
    "all",
)
LANGS = ("python", "cpp", "cuda", "shell", "config")


@dataclass(frozen=True)
class TargetVersions:
    """The stack the patched code must run on; `python`/`cuda` unknown means "any"."""

    torch: str
    python: str | None = None
    cuda: str | None = None

    @classmethod
    def parse(cls, text: str) -> TargetVersions:
        """`torch=1.4[,python=3.7][,cuda=10.1]` (a bare version means torch)."""
        values: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep:
                key, value = "torch", part
            key = key.strip().lower()
            if key not in ("torch", "python", "cuda") or not _VERSION.fullmatch(value.strip()):
                raise UsageError(f"--target {text!r}: expected torch=X.Y[,python=3.Z][,cuda=A.B], got {part!r}")
            values[key] = value.strip()
        if "torch" not in values:
            raise UsageError(f"--target {text!r}: the torch version is required (torch=X.Y)")
        return cls(torch=values["torch"], python=values.get("python"), cuda=values.get("cuda"))

    def as_dict(self) -> dict[str, str | None]:
        return {"torch": self.torch, "python": self.python, "cuda": self.cuda}


_VERSION = re.compile(r"\d+(?:\.\d+){0,3}(?:[a-z]+\d*)?(?:\+[\w.]+)?")


@dataclass(frozen=True)
class Rule:
    """One catalog rule (see the header of rules.yaml for the meaning of each field)."""

    id: str
    lang: str
    direction: str
    broke_in: str
    applies: dict[str, str]
    detect: str
    keywords: tuple[str, ...]
    files: tuple[str, ...]
    error: str
    what_breaks: str
    fix: str
    auto_fixable: bool
    sets: tuple[str, ...]
    transform: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # packages the fixed code imports that the legacy code did not (py-tensorboardx -> tensorboard): a recipe that
    # applies the rule needs them in its profile's pip list (the scaffold adds them)
    requires: tuple[str, ...] = ()
    manual_if: str | None = None
    file_requires: str | None = None
    detect_re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    manual_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    requires_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detect_re", re.compile(self.detect, re.MULTILINE))
        object.__setattr__(self, "manual_re", re.compile(self.manual_if) if self.manual_if else None)
        object.__setattr__(self, "requires_re", re.compile(self.file_requires) if self.file_requires else None)

    def applies_to(self, target: TargetVersions | None) -> bool:
        """Forward rules only when no target is given; otherwise every declared version range must hold."""
        if target is None:
            return self.direction in ("forward", "device")
        for key, spec in self.applies.items():
            value = getattr(target, key)
            if value is not None and not _in_range(value, spec):
                return False
        return True

    def versions_text(self) -> str:
        """`torch>=1.11, cuda>=9.0` or `any version`."""
        return ", ".join(f"{k}{v}" for k, v in self.applies.items()) or "any version"

    def matches_file(self, relpath: str) -> bool:
        return matches(relpath, self.files)


@dataclass(frozen=True)
class Finding:
    """One site a rule flags: 1-based line and column."""

    path: str
    line: int
    column: int
    rule_id: str
    lang: str
    what_breaks: str
    broke_in: str
    fix: str
    auto_fixable: bool
    excerpt: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "rule_id": self.rule_id,
            "lang": self.lang,
            "what_breaks": self.what_breaks,
            "broke_in": self.broke_in,
            "fix": self.fix,
            "auto_fixable": self.auto_fixable,
            "excerpt": self.excerpt,
        }


@functools.lru_cache(maxsize=256)
def _in_range(version: str, spec: str) -> bool:
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        v = Version(version.split("+", 1)[0])
    except InvalidVersion as exc:
        raise PatchError(f"target version {version!r} is not a version number") from exc
    return SpecifierSet(spec).contains(v, prereleases=True)


@functools.lru_cache(maxsize=1)
def get_rules() -> tuple[Rule, ...]:
    """Every catalog rule, in application order."""
    import yaml

    text = resources.files("legacyrun.patching.catalog").joinpath("rules.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    rules = []
    for raw in data["rules"]:
        raw = dict(raw)
        for key in ("keywords", "files", "sets"):
            raw[key] = tuple(raw[key])
        raw["requires"] = tuple(raw.get("requires", ()))
        rules.append(Rule(**raw))
    return tuple(rules)


@functools.lru_cache(maxsize=1)
def rules_by_id() -> dict[str, Rule]:
    return {r.id: r for r in get_rules()}


def rule_sets() -> dict[str, list[str]]:
    """`set:<name>` -> member rule ids, in application order."""
    out: dict[str, list[str]] = {f"{SET_PREFIX}{name}": [] for name in SET_NAMES}
    for rule in get_rules():
        if rule.direction != "device":  # a CPU plan's rules are named one by one (see rules.yaml)
            out[f"{SET_PREFIX}all"].append(rule.id)
        for name in rule.sets:
            out[f"{SET_PREFIX}{name}"].append(rule.id)
    return out


def expand_rule_ids(ids: list[str] | tuple[str, ...]) -> list[Rule]:
    """Rule ids and `set:` names -> the rules, deduplicated, in catalog order; unknown ids raise PatchError."""
    by_id = rules_by_id()
    sets = rule_sets()
    wanted: set[str] = set()
    for rid in ids:
        if rid in by_id:
            wanted.add(rid)
        elif rid in sets:
            wanted.update(sets[rid])
        else:
            raise PatchError(
                f"unknown catalog rule {rid!r}", hint="`legacyrun scan --help` and docs/catalog.md list the rule ids"
            )
    return [r for r in get_rules() if r.id in wanted]


__all__ = [
    "LANGS",
    "SET_NAMES",
    "Finding",
    "Rule",
    "TargetVersions",
    "expand_rule_ids",
    "get_rules",
    "rule_sets",
    "rules_by_id",
]
