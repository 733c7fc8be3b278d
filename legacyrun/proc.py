"""The only way legacyrun starts a subprocess: argv lists (never shell strings), env overrides, logging.

`run` captures output; `stream` yields lines as they come (builds, downloads, training logs) and still hands
back the exit code. Tests that care about argv patch nothing: they run real tools.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from legacyrun.errors import ToolMissingError

log = logging.getLogger("legacyrun.proc")

Env = Mapping[str, str | None]


@dataclass(frozen=True)
class Completed:
    """Result of a captured subprocess."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class Stream:
    """Live output of a subprocess: iterate for lines; `returncode` is set once iteration ends."""

    argv: tuple[str, ...]
    _proc: subprocess.Popen[str]
    returncode: int | None = None
    tail: list[str] = field(default_factory=list)
    tail_size: int = 200

    def __iter__(self) -> Iterator[str]:
        assert self._proc.stdout is not None
        try:
            for line in self._proc.stdout:
                line = line.rstrip("\n")
                self.tail.append(line)
                if len(self.tail) > self.tail_size:
                    del self.tail[0]
                yield line
        finally:
            self.returncode = self._proc.wait()

    def terminate(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()

    @property
    def pid(self) -> int:
        return self._proc.pid


def merged_env(overrides: Env | None = None, *, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: `base` (default os.environ) with overrides; a None value deletes the key."""
    env = dict(os.environ if base is None else base)
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def which(tool: str, *, install_hint: str | None = None) -> str:
    """Absolute path of `tool` on PATH, or a ToolMissingError that says how to get it."""
    found = shutil.which(tool)
    if found is None:
        raise ToolMissingError(f"{tool} is not installed or not on PATH", hint=install_hint)
    return found


def _check_argv(argv: Sequence[str | os.PathLike[str]]) -> tuple[str, ...]:
    if isinstance(argv, str):
        raise TypeError("proc takes an argv list, never a shell string")
    return tuple(os.fspath(a) for a in argv)


def _run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None,
    env: Env | None,
    input: str | bytes | None,
    timeout: float | None,
    text: bool,
) -> tuple[tuple[str, ...], subprocess.CompletedProcess[Any]]:
    """The one captured subprocess call behind `run` (text) and `run_bytes` (bytes)."""
    args = _check_argv(argv)
    log.debug("%s %s (cwd=%s)", "run" if text else "run_bytes", args, cwd)
    try:
        cp = subprocess.run(
            args,
            cwd=None if cwd is None else Path(cwd),
            env=merged_env(env),
            input=input,
            capture_output=True,
            text=text,
            errors="replace" if text else None,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolMissingError(f"{args[0]} is not installed or not on PATH") from exc
    return args, cp


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Env | None = None,
    input: str | None = None,
    timeout: float | None = None,
) -> Completed:
    """Run to completion, capturing stdout and stderr as text."""
    args, cp = _run(argv, cwd=cwd, env=env, input=input, timeout=timeout, text=True)
    return Completed(args, cp.returncode, cp.stdout, cp.stderr)


def stream(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Env | None = None,
    base_env: Mapping[str, str] | None = None,
    new_session: bool = False,
) -> Stream:
    """Start a process whose stdout and stderr merge into one line stream."""
    args = _check_argv(argv)
    log.debug("stream %s (cwd=%s)", args, cwd)
    try:
        popen = subprocess.Popen(
            args,
            cwd=None if cwd is None else Path(cwd),
            env=merged_env(env, base=base_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=new_session,
        )
    except FileNotFoundError as exc:
        raise ToolMissingError(f"{args[0]} is not installed or not on PATH") from exc
    return Stream(args, popen)


@dataclass(frozen=True)
class CompletedBytes:
    """Result of a captured subprocess whose output is data (any byte), not text."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_bytes(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Env | None = None,
    input: bytes | None = None,
    timeout: float | None = None,
) -> CompletedBytes:
    """Run to completion with bytes in and out (e.g. `git cat-file --batch`, whose sizes count bytes)."""
    args, cp = _run(argv, cwd=cwd, env=env, input=input, timeout=timeout, text=False)
    return CompletedBytes(args, cp.returncode, cp.stdout, cp.stderr)


@dataclass
class ByteStream:
    """Binary standard output of a subprocess (its stderr is discarded), for output that is data, not text."""

    argv: tuple[str, ...]
    _proc: subprocess.Popen[bytes]

    @property
    def stdout(self) -> IO[bytes]:
        assert self._proc.stdout is not None
        return self._proc.stdout

    def close(self) -> int:
        """Stop the process if it still runs (the reader may stop early) and return its exit status."""
        if self._proc.poll() is None:
            self._proc.terminate()
        self.stdout.close()
        return self._proc.wait()


def stream_bytes(argv: Sequence[str | os.PathLike[str]], *, env: Env | None = None) -> ByteStream:
    """Start a process and read its stdout as bytes (lines may hold any byte, lone \\r included)."""
    args = _check_argv(argv)
    log.debug("stream_bytes %s", args)
    try:
        popen = subprocess.Popen(
            args, env=merged_env(env), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError as exc:
        raise ToolMissingError(f"{args[0]} is not installed or not on PATH") from exc
    return ByteStream(args, popen)


__all__ = [
    "ByteStream",
    "Completed",
    "CompletedBytes",
    "Env",
    "Stream",
    "merged_env",
    "run",
    "run_bytes",
    "stream",
    "stream_bytes",
    "which",
]
