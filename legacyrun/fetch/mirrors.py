"""URL prefix rewriting for git and HTTP alike: `--mirror FROM=TO`, LEGACYRUN_MIRRORS and the user config file.

A rule `FROM=TO` turns every URL starting with FROM into TO + the rest. All matching rules give candidates, in
order: command line first, then the environment, then the config file; the original URL is always tried last, so
a lab mirror is preferred and upstream remains the fallback. LEGACYRUN_MIRRORS holds rules separated by
whitespace or ';'. The config file (legacyrun.userdirs.config_file(), YAML) has a `mirrors:` mapping whose values
are one prefix or a list of prefixes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legacyrun.errors import UsageError
from legacyrun.userdirs import config_file

ENV_VAR = "LEGACYRUN_MIRRORS"


@dataclass(frozen=True)
class MirrorRule:
    """One prefix rewrite and where it was given (for error messages and `--json`)."""

    src: str
    dst: str
    origin: str

    def apply(self, url: str) -> str | None:
        return self.dst + url[len(self.src) :] if url.startswith(self.src) else None


def rewrite_prefix(url: str, mapping: Mapping[str, str] | None) -> str:
    """The URL with its longest matching prefix rewritten (one answer, for places that cannot try several, such
    as a pip index or a conda channel written into a rendered file)."""
    for prefix in sorted(mapping or {}, key=len, reverse=True):
        if url.rstrip("/").startswith(prefix.rstrip("/")):
            return (mapping or {})[prefix].rstrip("/") + url.rstrip("/")[len(prefix.rstrip("/")) :]
    return url


def parse_rule(text: str, origin: str) -> MirrorRule:
    """`FROM=TO` -> MirrorRule; both sides must be non-empty."""
    src, sep, dst = text.partition("=")
    src, dst = src.strip(), dst.strip()
    if not sep or not src or not dst:
        raise UsageError(f"{origin}: mirror rule {text!r} must look like FROM=TO (URL prefixes)")
    return MirrorRule(src, dst, origin)


def _config_rules(config: Path | Mapping[str, Any] | None) -> list[MirrorRule]:
    if config is None:
        return []
    origin = "config"
    if isinstance(config, Path):
        origin = str(config)
        import yaml

        try:
            data = yaml.safe_load(config.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"{config}: cannot read config: {exc}") from None
        config = data if isinstance(data, Mapping) else {}
    mirrors = config.get("mirrors") or {}
    if not isinstance(mirrors, Mapping):
        raise UsageError(f"{origin}: mirrors: must be a mapping FROM: TO (or FROM: [TO, ...])")
    out: list[MirrorRule] = []
    for src, dsts in mirrors.items():
        for dst in dsts if isinstance(dsts, list) else [dsts]:
            if not isinstance(src, str) or not isinstance(dst, str) or not src or not dst:
                raise UsageError(f"{origin}: mirrors: {src!r}: prefixes must be non-empty strings")
            out.append(MirrorRule(src, dst, f"{origin}:mirrors"))
    return out


@dataclass(frozen=True)
class Mirrors:
    """Ordered prefix rules; `rewrite(url)` gives every URL to try, best first."""

    rules: tuple[MirrorRule, ...] = field(default_factory=tuple)

    @classmethod
    def from_sources(
        cls,
        cli_values: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        config: Path | Mapping[str, Any] | None = None,
    ) -> Mirrors:
        """Rules from `--mirror` values, the LEGACYRUN_MIRRORS variable in `env`, and a config file or mapping."""
        rules = [parse_rule(v, "--mirror") for v in cli_values]
        raw = (env or {}).get(ENV_VAR, "")
        rules += [parse_rule(v, ENV_VAR) for v in re.split(r"[\s;]+", raw) if v]
        rules += _config_rules(config)
        return cls(tuple(rules))

    @classmethod
    def from_environment(cls, cli_values: Iterable[str] = ()) -> Mirrors:
        """The usual three sources for this process: CLI values, os.environ, the user config file."""
        return cls.from_sources(cli_values, os.environ, config_file())

    def as_mapping(self) -> dict[str, str]:
        """FROM -> TO with the first rule for each prefix (command line over environment over config)."""
        out: dict[str, str] = {}
        for rule in self.rules:
            out.setdefault(rule.src, rule.dst)
        return out

    def rewrite(self, url: str) -> list[str]:
        """Candidates for `url`: each matching rule's rewrite in order, then the URL itself; no duplicates."""
        out: list[str] = []
        for rule in self.rules:
            new = rule.apply(url)
            if new is not None and new not in out:
                out.append(new)
        if url not in out:
            out.append(url)
        return out

    def rewrite_all(self, urls: Iterable[str]) -> list[str]:
        """Candidates for several alternative URLs (a recipe's primary URL and its mirrors), in order."""
        out: list[str] = []
        for url in urls:
            out += [u for u in self.rewrite(url) if u not in out]
        return out


__all__ = [
    "ENV_VAR",
    "MirrorRule",
    "Mirrors",
    "parse_rule",
    "rewrite_prefix",
]
