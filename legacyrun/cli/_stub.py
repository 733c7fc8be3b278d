"""Placeholder for commands whose issue has not landed yet."""

from __future__ import annotations

from legacyrun.errors import UsageError


def not_yet(command: str) -> None:
    raise UsageError(f"`legacyrun {command}` is not available in this version yet")
