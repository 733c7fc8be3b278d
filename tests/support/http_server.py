"""A real threaded HTTP file server on 127.0.0.1 with Range support, fault modes and a request log.

Fixture `http_server` (function scope) yields a started `FileServer` serving the files under its own temp root.

    srv.put("dir/file.bin", data)          -> write a file under the root, returns its URL
    srv.url("dir/file.bin")                -> "http://127.0.0.1:<port>/dir/file.bin"
    srv.fault("dir/file.bin", mode, **kw)  -> inject a fault for that path (replaces an earlier one)
    srv.clear_faults()
    srv.requests                           -> list[Seen(path, method, range_start, status)] in arrival order
    srv.count(path) / srv.range_starts(path)

Fault modes (each applies to the first `times` matching requests, default: every request):
    "error"     answer `status` (default 500) with a short body
    "drop"      send the headers and `after` bytes of the body, then reset the connection
    "truncate"  announce the full length, send only `after` bytes, close cleanly
    "wrong"     serve the file with the byte at `offset` (default 0) flipped
    "no_range"  ignore Range and always answer 200 with the whole file
    "slow"      send at most `rate` bytes per second (for killing a client mid-download)
    "stall"     send `after` bytes, then go silent for `seconds` (client read timeouts), then close

A folder with an index.json (served as PEP 691 JSON) or index.html answers with it, like a package index.
GET answers 200 (whole file) or 206 for `Range: bytes=N-` / `bytes=N-M` (416 past the end); HEAD is supported.
Every answer carries a strong ETag (size and mtime); an `If-Range` that does not match it gets the whole file (200).
Whole-file answers without faults use sendfile, so the server is fast enough for bench/download.py.
`FileServer(root).start()` / `.stop()` can also be used outside pytest (the bench does).
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass
class Fault:
    mode: str
    times: int | None = None
    status: int = 500
    after: int = 0
    offset: int = 0
    rate: int = 1 << 20
    seconds: float = 3.0
    used: int = 0


@dataclass(frozen=True)
class Seen:
    path: str
    method: str
    range_start: int | None
    status: int


@dataclass
class FileServer:
    root: Path
    host: str = "127.0.0.1"
    requests: list[Seen] = field(default_factory=list)
    faults: dict[str, Fault] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> FileServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- content and faults ----------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def put(self, path: str, data: bytes) -> str:
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return self.url(path)

    def fault(self, path: str, mode: str, **kw: Any) -> None:
        with self._lock:
            self.faults["/" + path.lstrip("/")] = Fault(mode, **kw)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            f = self.faults.get(path)
            if f is None or (f.times is not None and f.used >= f.times):
                return None
            f.used += 1
            return f

    def _log(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def count(self, path: str | None = None) -> int:
        if path is None:
            return len(self.requests)
        p = "/" + path.lstrip("/")
        return sum(1 for r in self.requests if r.path == p)

    def range_starts(self, path: str) -> list[int | None]:
        p = "/" + path.lstrip("/")
        return [r.range_start for r in self.requests if r.path == p]


_CONTENT_TYPES = {".html": "text/html", ".json": "application/vnd.pypi.simple.v1+json"}


class _Handler(BaseHTTPRequestHandler):
    owner: FileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        try:
            self._answer(head=head)
        except (BrokenPipeError, ConnectionResetError):
            # Clients hang up mid-body all the time (aria2c closes surplus connections): not a server error.
            self.close_connection = True

    def _answer(self, *, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        rng = self.headers.get("Range")
        m = _RANGE.match(rng.strip()) if rng else None
        start = int(m.group(1)) if m else None
        fault = self.owner._take_fault(path)
        target = (self.owner.root / path.lstrip("/")).resolve()
        # A folder answers with its index page, as a package index's project URL (`/simple/NAME/`) does.
        for page in ("index.json", "index.html"):
            if target.is_dir() and (target / page).is_file():
                target = target / page
                break
        if fault is not None and fault.mode == "error":
            return self._status(path, fault.status, start)
        if self.owner.root.resolve() not in target.parents or not target.is_file():
            return self._status(path, 404, start)
        st = target.stat()
        size = st.st_size
        etag = f'"{size:x}-{st.st_mtime_ns:x}"'
        if_range = self.headers.get("If-Range")
        if (fault is not None and fault.mode == "no_range") or (m is not None and if_range and if_range != etag):
            m, start = None, None  # If-Range that no longer matches: the whole (new) file, as RFC 9110 says
        end = size - 1
        if m is not None:
            assert start is not None
            if start >= size:
                self.owner._log(Seen(path, self.command, start, 416))
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if m.group(2):
                end = min(end, int(m.group(2)))
        first = start or 0
        length = end - first + 1
        status = 206 if m is not None else 200
        self.owner._log(Seen(path, self.command, start, status))
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Content-Type", _CONTENT_TYPES.get(target.suffix, "application/octet-stream"))
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{end}/{size}")
        self.end_headers()
        if head:
            return None
        with target.open("rb") as fh:
            if fault is None or fault.mode == "no_range":
                self.wfile.flush()
                self.connection.sendfile(fh, first, length)
                return None
            self._faulty(fh, fault, first, length)
        return None

    def _faulty(self, fh: Any, fault: Fault, first: int, length: int) -> None:
        fh.seek(first)
        if fault.mode in ("drop", "truncate"):
            self.wfile.write(fh.read(max(0, min(length, fault.after))))
            self.wfile.flush()
            if fault.mode == "drop":
                # SO_LINGER 0: close with a reset, like a dying middlebox.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if fault.mode == "stall":
            self.wfile.write(fh.read(max(0, min(length, fault.after))))
            self.wfile.flush()
            time.sleep(fault.seconds)
            self.close_connection = True
            return
        if fault.mode == "wrong":
            data = bytearray(fh.read(length))
            pos = fault.offset - first
            if 0 <= pos < len(data):
                data[pos] ^= 0xFF
            self.wfile.write(bytes(data))
            return
        if fault.mode == "slow":
            sent = 0
            step = max(1, fault.rate // 10)
            while sent < length:
                block = fh.read(min(step, length - sent))
                try:
                    self.wfile.write(block)
                    self.wfile.flush()
                except OSError:
                    return
                sent += len(block)
                time.sleep(0.1)
            return
        self.wfile.write(fh.read(length))

    def _status(self, path: str, status: int, start: int | None) -> None:
        self.owner._log(Seen(path, self.command, start, status))
        body = f"{status}\n".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.fixture
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    """A started FileServer on 127.0.0.1 (free port) with an empty root."""
    srv = FileServer(tmp_path_factory.mktemp("http-root")).start()
    try:
        yield srv
    finally:
        srv.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


__all__ = ["Fault", "FileServer", "Seen", "free_port", "http_server"]
