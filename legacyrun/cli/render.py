"""The only module that prints: human text through rich, or JSON on stdout for --json."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

_out: Console | None = None
_err: Console | None = None


def out() -> Console:
    global _out
    if _out is None:
        from rich.console import Console

        _out = Console(highlight=False, emoji=False, soft_wrap=True)
    return _out


# emoji=False: rich turns `:1234:` into an emoji even with markup off, and `FILE:1234:5:` lines hold such codes.


def err() -> Console:
    global _err
    if _err is None:
        from rich.console import Console

        _err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    return _err


def emit_json(data: Any) -> None:
    """Deterministic JSON (sorted keys) on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def line(text: str = "", *, style: str | None = None) -> None:
    out().print(text, style=style, markup=False)


def markup(text: str) -> None:
    out().print(text)


def note(text: str) -> None:
    """Progress and side remarks go to stderr so stdout stays clean for pipes."""
    err().print(text, markup=False, style="dim")


def table(title: str | None, columns: list[str], rows: list[list[str]]) -> Table:
    from rich.table import Table

    t = Table(title=title, show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*row)
    return t


def show(renderable: Any) -> None:
    out().print(renderable)


def error_lines(title: str, lines: list[str]) -> None:
    """An error: the first line prefixed with 'legacyrun: <title>:' unless it already names a file location."""
    console = err()
    for i, text in enumerate(lines):
        if i == 0 and not _is_located(text):
            text = f"legacyrun: {title}: {text}"
        console.print(text, markup=False, style="red" if i == 0 or _is_located(text) else None)


def _is_located(text: str) -> bool:
    head = text.split(" ", 1)[0]
    return head.count(":") >= 3


__all__ = ["emit_json", "err", "error_lines", "line", "markup", "note", "out", "show", "table"]
