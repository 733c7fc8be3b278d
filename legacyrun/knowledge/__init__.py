"""The compatibility knowledge base: facts about torch builds, CUDA, drivers, GPUs, compilers and images.

The facts ship as JSON in `legacyrun/knowledge/data/` (transcribed from shared/reference/compat_matrix.md, each row
with a `source` key into data/sources.json). JSON rather than YAML because it parses several times faster and the
resolver must stay well under 50 ms; the parsed tables are cached for the life of the process.
"""

from __future__ import annotations

from legacyrun.knowledge.base import (
    ArchList,
    CondaRule,
    GpuRow,
    ImageTag,
    KnowledgeBase,
    PipRule,
    TorchRelease,
    UbuntuGcc,
    kb,
    version_key,
)

__all__ = [
    "ArchList",
    "CondaRule",
    "GpuRow",
    "ImageTag",
    "KnowledgeBase",
    "PipRule",
    "TorchRelease",
    "UbuntuGcc",
    "kb",
    "version_key",
]
