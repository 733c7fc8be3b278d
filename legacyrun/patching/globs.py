"""Recipe globs over a tree's tracked files: `*` and `?` stay inside one path segment, `**` spans segments."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob; a pattern without '/' matches the file name at any depth (like .gitignore)."""
    pat = pattern.strip().removeprefix("./")
    anywhere = "/" not in pat
    out: list[str] = []
    i = 0
    while i < len(pat):
        ch = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pat.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pat.find("]", i + 2)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pat[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    prefix = "(?:.*/)?" if anywhere else ""
    return re.compile(f"^{prefix}{''.join(out)}$")


def matches(path: str, patterns: Iterable[str]) -> bool:
    return any(glob_regex(p).match(path) for p in patterns)


def select(paths: Iterable[str], include: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Paths matching any include glob and no exclude glob, sorted."""
    inc, exc = list(include), list(exclude)
    return sorted(p for p in paths if matches(p, inc) and not matches(p, exc))


__all__ = ["glob_regex", "matches", "select"]
