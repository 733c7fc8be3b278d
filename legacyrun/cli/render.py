"""The only module that prints: human text through rich, or JSON on stdout for --json."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichBars
    from rich.progress import TaskID
    from rich.table import Table

_out: Console | None = None
_err: Console | None = None

# The version of the --json output's shape: every JSON object legacyrun prints carries it with the command and
# `ok`, so a consumer can tell the output's form before reading it (docs/exit-codes.md).
SCHEMA = "legacyrun/v1"
_command: str | None = None


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


def set_command(command_path: str | None) -> None:
    """The command the JSON output names (`up`, `recipe show`): click's command path without the program name."""
    global _command
    words = (command_path or "").split()
    _command = " ".join(words[1:] if words[:1] == ["legacyrun"] else words) or None


def command_name() -> str | None:
    return _command


def envelope(data: Any, *, ok: bool = True) -> Any:
    """A result object with the envelope keys added (`schema`, `command`, `ok`) next to its own keys; a list (the
    listing commands) is printed as it is."""
    if not isinstance(data, dict):
        return data
    return {**data, "schema": SCHEMA, "command": _command, "ok": ok}


def emit_json(data: Any, *, ok: bool = True) -> None:
    """Deterministic JSON (sorted keys) on stdout, in the versioned envelope (see `envelope`)."""
    text = json.dumps(envelope(data, ok=ok), indent=2, sort_keys=True, ensure_ascii=False, default=str)
    sys.stdout.write(text + "\n")
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


def show_matches(matches: list[Any], *, log: str | None = None) -> None:
    """Print explain matches for humans; `explain`, and `run`/`up` with their log's path after a failure."""
    from rich.markup import escape

    from legacyrun.invocation import fill

    if log is not None and matches:
        markup(f"[bold]known failure{'s' if len(matches) > 1 else ''} in {escape(log)}:[/bold]")
    for i, m in enumerate(matches):
        if i:
            line()
        markup(f"[bold]{escape(m.signature_id)}[/bold]: {escape(m.title)}")
        more = f" (and {m.count - 1} more line{'s' if m.count > 2 else ''})" if m.count > 1 else ""
        line(f"  line {m.line}{more}: {m.excerpt}", style="dim")
        line(f"  cause: {m.cause}")
        line(f"  fix:   {fill(m.fix)}")  # after `run R`, the fix names R as typed (and -w)
        if m.catalog_rules:
            line(f"  catalog rules: {', '.join(m.catalog_rules)}")


class RichProgress:
    """legacyrun.fetch.progress.Progress drawn as rich bars (size, speed, ETA) on stderr (fetch, up)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.bars: RichBars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err(),
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def start(self, key: str, description: str, total: int | None) -> None:
        if key in self.tasks:
            self.bars.update(self.tasks[key], description=description, total=total)
        else:
            self.tasks[key] = self.bars.add_task(description, total=total)

    def update(self, key: str, completed: int, total: int | None = None) -> None:
        if key not in self.tasks:
            self.start(key, key, total)
        if total is not None:
            self.bars.update(self.tasks[key], completed=completed, total=total)
        else:
            self.bars.update(self.tasks[key], completed=completed)

    def finish(self, key: str) -> None:
        if key in self.tasks:
            self.bars.stop_task(self.tasks[key])

    def note(self, text: str) -> None:
        self.bars.console.print(text, style="dim", markup=False, highlight=False)


__all__ = [
    "SCHEMA",
    "RichProgress",
    "command_name",
    "emit_json",
    "envelope",
    "err",
    "error_lines",
    "line",
    "markup",
    "note",
    "out",
    "set_command",
    "show",
    "show_matches",
    "table",
]
