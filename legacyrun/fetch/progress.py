"""How fetch reports progress without printing: the CLI passes an object with these four methods.

Keys are stable strings ("code:pix2pix", "data:facades") so one bar per item can be updated from the HTTP loop, the
aria2c output parser or git alike. `NullProgress` is the default for library callers and --json runs.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receiver of progress events; every method must be cheap (it is called once per chunk)."""

    def start(self, key: str, description: str, total: int | None) -> None:
        """A new item begins; `total` in bytes when known."""

    def update(self, key: str, completed: int, total: int | None = None) -> None:
        """Absolute progress of an item (bytes done so far; a new total when it became known)."""

    def finish(self, key: str) -> None:
        """The item is done (successfully or not)."""

    def note(self, text: str) -> None:
        """A one-line remark (retrying, trying a mirror, using the cache)."""


class NullProgress:
    """Discards everything."""

    def start(self, key: str, description: str, total: int | None) -> None:
        return None

    def update(self, key: str, completed: int, total: int | None = None) -> None:
        return None

    def finish(self, key: str) -> None:
        return None

    def note(self, text: str) -> None:
        return None


class RecordingProgress(NullProgress):
    """Keeps the notes (tests and callers that want a log of what happened)."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.last: dict[str, int] = {}

    def update(self, key: str, completed: int, total: int | None = None) -> None:
        self.last[key] = completed

    def note(self, text: str) -> None:
        self.notes.append(text)


__all__ = ["NullProgress", "Progress", "RecordingProgress"]
