"""HTTP(S) downloads with requests: streaming into a `.part` file, Range resume, retries, mirror fallback, sha256.

Transient failures (connection errors, timeouts, 5xx, 408/429, bodies shorter than announced) are retried on the
same URL with exponential backoff, resuming from the bytes already on disk; permanent ones (other 4xx) move on to
the next candidate URL. The sha256 is computed while writing (no second pass over a 40 GB file), and the `.part`
file is only handed back once the size and hash check out: a wrong file never leaves this module.
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legacyrun import __version__
from legacyrun.errors import FetchError
from legacyrun.fetch.progress import NullProgress, Progress

if TYPE_CHECKING:
    import requests

CHUNK = 4 << 20  # large reads keep Python's per-chunk overhead far below the cost of moving the bytes


@dataclass(frozen=True)
class HttpOptions:
    """Knobs of the HTTP client (tests shrink the backoff; defaults suit slow academic servers)."""

    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0
    timeout: float = 30.0
    chunk_size: int = CHUNK


@dataclass(frozen=True)
class Downloaded:
    """A complete, verified download still at its `.part` path (the caller moves it into the cache)."""

    path: Path
    sha256: str
    bytes: int
    url: str
    resumed_from: int
    seconds: float
    validator: str | None = None  # the server's strong ETag or Last-Modified for these bytes (None: it sent none)


class _Transient(Exception):
    """Worth retrying on the same URL."""


class _UrlFailed(Exception):
    """This URL will not give the file; try the next one."""


class _Hashing:
    """sha256 of a `.part` file kept in step with its length, re-read only when they disagree (a rerun)."""

    def __init__(self, part: Path) -> None:
        self.part = part
        self.hasher = hashlib.sha256()
        self.count = 0

    def reset(self) -> None:
        self.hasher = hashlib.sha256()
        self.count = 0

    def sync(self, offset: int) -> None:
        """Make the hash cover exactly the first `offset` bytes of the part file."""
        if self.count == offset:
            return
        self.reset()
        with self.part.open("rb") as fh:
            while self.count < offset:
                block = fh.read(min(CHUNK, offset - self.count))
                if not block:
                    break
                self.hasher.update(block)
                self.count += len(block)

    def update(self, block: bytes | memoryview) -> None:
        self.hasher.update(block)
        self.count += len(block)


class _BackgroundHash:
    """Feeds blocks to a hash object on another thread: hashlib drops the GIL for large buffers, so hashing
    overlaps with receiving and writing (sha256 alone is slower than loopback HTTP on many machines)."""

    def __init__(self, hasher: Any) -> None:
        self.hasher = hasher
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.thread = threading.Thread(target=self._work, name="legacyrun-sha256", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while (block := self.queue.get()) is not None:
            self.hasher.update(block)

    def update(self, block: bytes) -> None:
        self.queue.put(block)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _content_range(value: str | None) -> tuple[int, int | None] | None:
    """(start, total) of a 206 answer's Content-Range."""
    if not value:
        return None
    m = _CONTENT_RANGE.match(value.strip())
    if not m:
        return None
    return int(m.group(1)), None if m.group(3) == "*" else int(m.group(3))


def _validator_path(part: Path) -> Path:
    return part.with_name(part.name + ".validator")


def _read_validator(part: Path) -> str | None:
    """The ETag or Last-Modified of the response whose bytes the part file holds (None: unknown)."""
    try:
        text = _validator_path(part).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def _response_validator(resp: requests.Response) -> str | None:
    """A validator fit for If-Range: a strong ETag, else Last-Modified (RFC 9110 13.1.5; weak tags do not count)."""
    etag = resp.headers.get("ETag", "").strip()
    if etag and not etag.startswith("W/"):
        return etag
    modified = resp.headers.get("Last-Modified", "").strip()
    return modified or None


def _part_size(part: Path) -> int:
    try:
        return part.stat().st_size
    except FileNotFoundError:
        return 0


class _Attempt:
    """One GET of one URL, appending to the part file."""

    def __init__(
        self,
        session: requests.Session,
        url: str,
        part: Path,
        hashing: _Hashing,
        *,
        expected_size: int | None,
        progress: Progress,
        key: str,
        options: HttpOptions,
        resume_unvalidated: bool = True,
    ) -> None:
        self.session = session
        self.url = url
        self.part = part
        self.hashing = hashing
        self.expected_size = expected_size
        self.progress = progress
        self.key = key
        self.options = options
        # With a sha256 to check at the end, a spliced file is caught and downloaded again from zero.
        self.resume_unvalidated = resume_unvalidated

    def run(self) -> None:
        import requests

        offset = _part_size(self.part)
        if self.expected_size is not None and offset > self.expected_size:
            self.part.unlink()
            offset = 0
        validator = _read_validator(self.part) if offset else None
        if offset and validator is None and not self.resume_unvalidated:
            # Bytes of unknown origin and no checksum to catch a splice: the file may have changed on the server
            # since, so only a download from zero is sure to be one file.
            self.part.unlink(missing_ok=True)
            offset = 0
        if self.expected_size is not None and offset == self.expected_size and offset > 0:
            return  # a previous run got every byte and died before verifying
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        if offset and validator is not None:
            # If-Range: the server sends the rest only if the file is still the one the part file started from,
            # otherwise the whole new file (200), and we start over.
            headers["If-Range"] = validator
        try:
            resp = self.session.get(
                self.url, headers=headers, stream=True, timeout=self.options.timeout, allow_redirects=True
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(_short(exc)) from None
        except requests.RequestException as exc:
            raise _UrlFailed(_short(exc)) from None
        with resp:
            self._body(resp, offset)

    def _body(self, resp: requests.Response, offset: int) -> None:
        code = resp.status_code
        if code == 416 and offset:
            announced = resp.headers.get("Content-Range", "").rpartition("/")[2]
            if announced.isdigit() and int(announced) == offset:
                return
            self.part.unlink(missing_ok=True)
            raise _Transient("server refused the resume range; starting over")
        if code >= 500 or code in (408, 429):
            raise _Transient(f"HTTP {code} {resp.reason}")
        if code >= 400:
            raise _UrlFailed(f"HTTP {code} {resp.reason}")
        if code == 206:
            rng = _content_range(resp.headers.get("Content-Range"))
            if rng is None or rng[0] != offset:
                self.part.unlink(missing_ok=True)
                raise _Transient(f"server answered a different range ({resp.headers.get('Content-Range')})")
            total = rng[1]
            mode = "ab"
        else:
            # The server ignored Range (or there was none): start from byte zero.
            offset = 0
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            mode = "wb"
        if total is not None and self.expected_size is not None and total != self.expected_size:
            raise _UrlFailed(f"server announces {total} bytes, the recipe says {self.expected_size}")
        if mode == "ab":
            self.hashing.sync(offset)
        else:
            self.hashing.reset()
            _validator_path(self.part).unlink(missing_ok=True)
            validator = _response_validator(resp)
            if validator is not None:
                self.part.parent.mkdir(parents=True, exist_ok=True)
                _validator_path(self.part).write_text(validator + "\n", encoding="utf-8")
        self._stream(resp, mode, offset, total)

    def _stream(self, resp: requests.Response, mode: str, offset: int, total: int | None) -> None:
        done = offset
        self.progress.update(self.key, done, total)
        raw: Any = resp.raw
        # read1 hands back what has arrived (up to size) instead of waiting for a full chunk, so a slow link
        # still reaches the disk steadily and a killed process loses almost nothing.
        read = raw.read1 if hasattr(raw, "read1") else raw.read
        size = self.options.chunk_size
        self.part.parent.mkdir(parents=True, exist_ok=True)
        background = _BackgroundHash(self.hashing.hasher)
        try:
            with self.part.open(mode) as fh:
                while True:
                    try:
                        block = read(size, decode_content=False)
                    except Exception as exc:  # urllib3's and the socket's many ways to say "connection lost"
                        raise _Transient(f"connection lost after {done} bytes: {_short(exc)}") from None
                    if not block:
                        break
                    fh.write(block)
                    background.update(block)
                    self.hashing.count += len(block)
                    done += len(block)
                    self.progress.update(self.key, done, total)
        finally:
            # The hash must cover exactly what reached the file, also when the connection died.
            background.close()
        if total is not None and done < total:
            raise _Transient(f"body truncated at {done} of {total} bytes")


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."


def _copy_local(url: str, part: Path, hashing: _Hashing, progress: Progress, key: str, chunk: int) -> None:
    path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    try:
        src = path.open("rb")
    except OSError as exc:
        raise _UrlFailed(f"{exc.strerror or exc}") from None
    hashing.reset()
    _validator_path(part).unlink(missing_ok=True)  # a local file has no HTTP validator
    done = 0
    part.parent.mkdir(parents=True, exist_ok=True)
    with src, part.open("wb") as fh:
        while block := src.read(chunk):
            fh.write(block)
            hashing.update(block)
            done += len(block)
            progress.update(key, done, None)


def download(
    urls: Sequence[str],
    part: Path,
    *,
    expected_sha256: str | None = None,
    expected_size: int | None = None,
    progress: Progress | None = None,
    key: str = "download",
    options: HttpOptions | None = None,
) -> Downloaded:
    """Download the first URL that gives the right bytes into `part` (resuming what is there); verified result.

    Raises FetchError naming every URL tried and why it failed; the `.part` file of a failed download stays only
    when it may be resumed (a wrong hash removes it).
    """
    import requests

    progress = progress or NullProgress()
    options = options or HttpOptions()
    failures: list[str] = []
    started = time.monotonic()
    with requests.Session() as session:
        session.headers["User-Agent"] = f"legacyrun/{__version__}"
        # Servers that gzip a .tar.gz on the fly would make the bytes differ from the checksum.
        session.headers["Accept-Encoding"] = "identity"
        for url in urls:
            resumed_from = _part_size(part)
            try:
                digest, size, validator = _one_url(
                    session, url, part, expected_sha256, expected_size, progress, key, options
                )
            except _UrlFailed as exc:
                failures.append(f"{url}: {exc}")
                progress.note(f"{url}: {exc}")
                continue
            return Downloaded(part, digest, size, url, resumed_from, time.monotonic() - started, validator)
    raise FetchError(f"could not download {part.name.removesuffix('.part')}: " + "; ".join(failures))


def _one_url(
    session: requests.Session,
    url: str,
    part: Path,
    expected_sha256: str | None,
    expected_size: int | None,
    progress: Progress,
    key: str,
    options: HttpOptions,
) -> tuple[str, int, str | None]:
    hashing = _Hashing(part)
    tries = 0
    restarted = False
    while True:
        resumed = _part_size(part) > 0
        try:
            if url.startswith("file://"):
                _copy_local(url, part, hashing, progress, key, options.chunk_size)
            elif url.startswith(("http://", "https://")):
                _Attempt(
                    session,
                    url,
                    part,
                    hashing,
                    expected_size=expected_size,
                    progress=progress,
                    key=key,
                    options=options,
                    resume_unvalidated=expected_sha256 is not None,
                ).run()
            else:
                raise _UrlFailed("unsupported URL scheme (http, https and file are)")
        except _Transient as exc:
            tries += 1
            if tries > options.retries:
                raise _UrlFailed(f"{exc} (gave up after {tries} tries)") from None
            delay = min(options.max_backoff, options.backoff * 2 ** (tries - 1))
            progress.note(f"{url}: {exc}; retrying in {delay:.1f}s")
            time.sleep(delay)
            continue
        size = _part_size(part)
        hashing.sync(size)
        digest = hashing.hasher.hexdigest()
        bad = None
        if expected_size is not None and size != expected_size:
            bad = f"size {size} bytes, expected {expected_size}"
        elif expected_sha256 is not None and digest != expected_sha256:
            bad = f"sha256 mismatch: expected {expected_sha256}, got {digest}"
        if bad is None:
            # The validator of the response the bytes came from (a resume kept the first one: If-Range held).
            validator = _read_validator(part)
            _validator_path(part).unlink(missing_ok=True)
            return digest, size, validator
        part.unlink(missing_ok=True)
        _validator_path(part).unlink(missing_ok=True)
        hashing.reset()
        if resumed and not restarted:
            # The kept bytes may come from another server or an older file: one clean try from zero.
            restarted = True
            progress.note(f"{url}: {bad}; downloading again from the start")
            continue
        raise _UrlFailed(bad)


__all__ = ["CHUNK", "Downloaded", "HttpOptions", "download"]
