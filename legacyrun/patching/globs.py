"""The one glob dialect of recipes and the catalog (patch `files`/`exclude`, adapt `files`, rule globs, scan).

It is git's (gitignore's) dialect over '/'-separated relative paths:
- `*` and `?` stay inside one path segment; `[abc]`, `[a-z]` and `[!abc]` match one character but never '/';
- `**` as a whole segment spans zero or more directories: `**/x` (x at any depth), `a/**/b` (`a/b`, `a/c/b`,
  ...), `a/**` (everything inside a); any other `**` (`a**b`) is a plain `*`;
- a pattern without '/' (apart from a trailing one) matches the file name at any depth: `*.py` is `**/*.py`;
- a leading '/' anchors at the root (the patterns are relative anyway); a trailing '/' means the folder's
  contents (`build/` is `build/**`).
Every caller goes through `glob_regex`, `matches` or `select`, so `csrc/**/*` means the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


def _segment(seg: str) -> str:
    """Regex of one path segment without '**' as a whole segment."""
    out: list[str] = []
    i = 0
    while i < len(seg):
        ch = seg[i]
        if ch == "*":
            while i + 1 < len(seg) and seg[i + 1] == "*":
                i += 1  # a `**` inside a segment is a plain `*`
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            # `]` right after `[` or `[!` is part of the set, as in fnmatch and git.
            start = i + 2 if seg.startswith("[!", i) else i + 1
            end = seg.find("]", start + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = seg[i + 1 : end]
                negate = body.startswith("!")
                body = body[1:] if negate else body
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"(?!/)[{'^' if negate else ''}{body}]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob of the dialect above into a regex over a whole relative path."""
    pat = pattern.strip()
    anchored = pat.startswith("/")
    pat = pat.lstrip("/").removeprefix("./")
    if pat.endswith("/"):
        pat = pat.rstrip("/") + "/**"
    if not anchored and "/" not in pat:
        pat = "**/" + pat
    segs = pat.split("/")
    out = ""
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        if seg == "**":
            # `**/` is zero or more whole directories; a final `**` is anything below (at least one character).
            out += ".+" if last and i > 0 else ".*" if last else "(?:[^/]+/)*"
        else:
            out += _segment(seg) + ("" if last else "/")
    return re.compile(f"^{out}$", re.DOTALL)


def matches(path: str, patterns: Iterable[str]) -> bool:
    return any(glob_regex(p).match(path) for p in patterns)


def select(paths: Iterable[str], include: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Paths matching any include glob and no exclude glob, sorted."""
    inc, exc = list(include), list(exclude)
    return sorted(p for p in paths if matches(p, inc) and not matches(p, exc))


__all__ = ["glob_regex", "matches", "select"]
