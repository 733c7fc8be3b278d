"""The `regex` transform: a rule's (find, replace) pairs, for every language; most rules need nothing more."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from legacyrun.patching.catalog.model import TargetVersions
from legacyrun.patching.catalog.registry import transform
from legacyrun.patching.catalog.textops import ensure_cpp_include, ensure_python_import


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)


@transform("regex")
def regex(
    text: str,
    target: TargetVersions | None,
    *,
    rewrites: Sequence[Sequence[str]],
    ensure_import: str | None = None,
    ensure_include: str | None = None,
) -> str:
    """`rewrites` (find, replace) pairs in order, run with re.MULTILINE; when anything changed, `ensure_import`
    (`import X`, Python) or `ensure_include` (a C++ header) is added unless present."""
    new = text
    for find, repl in rewrites:
        new = _compiled(find).sub(repl, new)
    if new != text and ensure_import:
        new = ensure_python_import(new, ensure_import)
    if new != text and ensure_include:
        new = ensure_cpp_include(new, ensure_include)
    return new


__all__ = ["regex"]
