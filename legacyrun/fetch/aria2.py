"""aria2c for multi-connection HTTP (kind `aria2`) and BitTorrent (kind `torrent`), its progress read from the
periodic summary lines (`[#gid 86MiB/286MiB(30%) CN:4 DL:42MiB ETA:4s]`) into the same Progress callback.

aria2c resumes on its own (`--continue` plus its `.aria2` control file beside the output), so the partial folder
of the download cache is its working directory. aria2c does not know sha256: the caller hashes the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from legacyrun import proc
from legacyrun.errors import FetchError
from legacyrun.fetch.progress import Progress

INSTALL_HINT = (
    "install aria2: `apt-get install aria2` (Debian/Ubuntu), `dnf install aria2`, `brew install aria2` "
    "or `conda install -c conda-forge aria2`"
)

_UNITS = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
_READOUT = re.compile(r"\[#\w+ (?:SEED\([^)]*\) )?([\d.]+)([KMGT]i)?B/([\d.]+)([KMGT]i)?B")
_INDEX = re.compile(r"^\s*(\d+)\|(.+?)\s*$")


def aria2c() -> str:
    """Path of aria2c, or ToolMissingError with the install hint."""
    return proc.which("aria2c", install_hint=INSTALL_HINT)


def available() -> bool:
    import shutil

    return shutil.which("aria2c") is not None


def parse_readout(line: str) -> tuple[int, int] | None:
    """(done, total) bytes of an aria2c progress line, or None."""
    m = _READOUT.search(line)
    if not m:
        return None
    done = int(float(m.group(1)) * _UNITS[m.group(2) or ""])
    total = int(float(m.group(3)) * _UNITS[m.group(4) or ""])
    return done, total


def _run(argv: list[str], *, progress: Progress, key: str, what: str) -> None:
    stream = proc.stream(argv)
    errors: list[str] = []
    for line in stream:
        got = parse_readout(line)
        if got is not None:
            progress.update(key, got[0], got[1] or None)
        elif "errorCode=" in line or "Exception:" in line or "ERROR" in line:
            errors.append(line.strip())
    if stream.returncode != 0:
        detail = errors[-1] if errors else (stream.tail[-1] if stream.tail else "")
        raise FetchError(f"aria2c failed for {what} (exit {stream.returncode}): {detail}")


def download_http(
    urls: list[str], out: Path, *, connections: int = 8, progress: Progress, key: str, size: int | None = None
) -> None:
    """Multi-connection download of one file from `urls` (all must serve the same bytes) into `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        aria2c(),
        f"--dir={out.parent}",
        f"--out={out.name}",
        f"--max-connection-per-server={connections}",
        f"--split={connections}",
        "--min-split-size=4M",
        "--continue=true",
        "--auto-file-renaming=false",
        "--allow-overwrite=true",
        "--file-allocation=none",
        "--summary-interval=1",
        "--console-log-level=warn",
        "--show-console-readout=false",
        "--max-tries=5",
        "--retry-wait=2",
        *urls,
    ]
    progress.update(key, 0, size)
    _run(argv, progress=progress, key=key, what=out.name)


@dataclass(frozen=True)
class TorrentFile:
    index: int
    path: str  # relative to the download directory, e.g. 'synth/train/a.jpg'


def list_files(torrent: Path) -> list[TorrentFile]:
    """The files a .torrent holds, with aria2c's 1-based indexes."""
    done = proc.run([aria2c(), "--show-files=true", str(torrent)])
    if not done.ok:
        raise FetchError(f"{torrent}: aria2c cannot read the torrent: {(done.stderr or done.stdout).strip()[-200:]}")
    out = []
    for line in done.stdout.splitlines():
        m = _INDEX.match(line)
        if m:
            out.append(TorrentFile(int(m.group(1)), m.group(2).removeprefix("./")))
    return out


def select(files: list[TorrentFile], wanted: list[str], torrent: str) -> list[TorrentFile]:
    """The torrent files named by the recipe (full path, or path below the torrent's top folder)."""
    chosen = []
    for want in wanted:
        want = want.strip("/")
        hits = [f for f in files if f.path == want or f.path.split("/", 1)[-1] == want]
        if not hits:
            raise FetchError(f"{torrent}: no file {want!r} in the torrent (it has {len(files)} files)")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def download_torrent(
    torrent: str,
    workdir: Path,
    *,
    indexes: list[int] | None,
    progress: Progress,
    key: str,
    stop_timeout: int = 300,
    extra: list[str] | None = None,
) -> None:
    """Download a torrent (local .torrent path or magnet) into `workdir`, then stop seeding."""
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        aria2c(),
        f"--dir={workdir}",
        "--seed-time=0",
        "--check-integrity=true",
        "--continue=true",
        "--auto-file-renaming=false",
        "--allow-overwrite=true",
        "--file-allocation=none",
        "--summary-interval=1",
        "--console-log-level=warn",
        "--show-console-readout=false",
        "--follow-torrent=mem",
        f"--bt-stop-timeout={stop_timeout}",
        *(extra or []),
    ]
    if indexes:
        argv.append("--select-file=" + ",".join(str(i) for i in indexes))
    argv.append(torrent)
    _run(argv, progress=progress, key=key, what=torrent)


__all__ = [
    "INSTALL_HINT",
    "TorrentFile",
    "aria2c",
    "available",
    "download_http",
    "download_torrent",
    "list_files",
    "parse_readout",
    "select",
]
