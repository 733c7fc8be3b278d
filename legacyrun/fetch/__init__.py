"""Fetching code and data: git at pinned commits, HTTP with resume and checksums, aria2 and torrents, safe
extraction. Library entry points (no printing; progress through a `Progress` object):

    fetch_code(loaded, ws, *, mirrors, progress) -> list[SourceResult]
    fetch_data(loaded, ws, *, names=None, from_path=None, mirrors, progress) -> list[DataResult]
    Mirrors.from_sources(cli_values, env, config) / Mirrors.from_environment(cli_values)
    dataset_present(ws, dataset) -> bool   (per dataset: its fetch record checked against the disk)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from legacyrun.fetch.code import fetch_code
    from legacyrun.fetch.data import DataResult, FileResult, fetch_data
    from legacyrun.fetch.git import SourceResult
    from legacyrun.fetch.http import HttpOptions
    from legacyrun.fetch.mirrors import Mirrors
    from legacyrun.fetch.presence import dataset_present
    from legacyrun.fetch.progress import NullProgress, Progress
    from legacyrun.fetch.record import STEP_CODE, code_inputs_hash, data_inputs_hash, step_data

# Imported on first use: a no-op `up` needs Mirrors and dataset_present, not the HTTP/TLS/archive stack.
_WHERE = {
    "fetch_code": "code",
    "DataResult": "data",
    "FileResult": "data",
    "fetch_data": "data",
    "SourceResult": "git",
    "HttpOptions": "http",
    "Mirrors": "mirrors",
    "dataset_present": "presence",
    "NullProgress": "progress",
    "Progress": "progress",
    "STEP_CODE": "record",
    "code_inputs_hash": "record",
    "data_inputs_hash": "record",
    "step_data": "record",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


__all__ = [
    "STEP_CODE",
    "DataResult",
    "FileResult",
    "HttpOptions",
    "Mirrors",
    "NullProgress",
    "Progress",
    "SourceResult",
    "code_inputs_hash",
    "data_inputs_hash",
    "dataset_present",
    "fetch_code",
    "fetch_data",
    "step_data",
]
