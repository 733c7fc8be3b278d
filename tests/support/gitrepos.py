"""Real git repositories for tests, served over file:// and over smart HTTP by `git http-backend`.

Fixtures:
    git_factory   -> GitFactory: `.repo(name, commits=3)` builds a bare repository `<root>/<name>.git` with a
                     linear history on `main` (files change per commit) and returns a GitRepo (path, commits,
                     file_url); `.work(name)` gives a scratch clone to add commits, submodules, tags...
    git_http      -> GitHttpServer over the same root: `.url(name)` = http://127.0.0.1:<port>/<name>.git,
                     `.requests` counts requests (a second fetch that hits the cache adds none).

Repositories allow SHA wants (uploadpack.allowAnySHA1InWant / allowReachableSHA1InWant), so a shallow fetch of a
single commit works; `GitFactory.refuse_sha_wants(name)` turns that off and the server then speaks protocol v0
for that repository (v2 would allow the want anyway), which makes clients fall back to a full fetch.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": os.environ.get("HOME", "/tmp"),
}


def git(*args: str, cwd: Path | None = None) -> str:
    cp = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always", *args],
        cwd=cwd,
        env={**os.environ, **_GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if cp.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {cp.stderr}")
    return cp.stdout.strip()


@dataclass
class GitRepo:
    name: str
    path: Path  # the bare repository
    commits: list[str]

    @property
    def file_url(self) -> str:
        return self.path.as_uri()


@dataclass
class GitFactory:
    root: Path
    scratch: Path
    refusing: set[str] = field(default_factory=set)

    def repo(self, name: str, commits: int = 3) -> GitRepo:
        work = self.work(name, init=True)
        shas = []
        for i in range(commits):
            (work / "README.md").write_text(f"{name} version {i}\n")
            (work / f"file{i}.py").write_text(f"print({i})\n")
            git("add", "-A", cwd=work)
            git("commit", "-q", "-m", f"{name} commit {i}", cwd=work)
            shas.append(git("rev-parse", "HEAD", cwd=work))
        self.push(name)
        return GitRepo(name, self.bare(name), shas)

    def bare(self, name: str) -> Path:
        return self.root / f"{name}.git"

    def work(self, name: str, *, init: bool = False) -> Path:
        work = self.scratch / name
        if init:
            work.mkdir(parents=True)
            git("init", "-q", "-b", "main", str(work))
            bare = self.bare(name)
            git("init", "-q", "--bare", "-b", "main", str(bare))
            git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
            git("config", "uploadpack.allowReachableSHA1InWant", "true", cwd=bare)
            git("config", "http.receivepack", "false", cwd=bare)
            git("remote", "add", "origin", str(bare), cwd=work)
        return work

    def push(self, name: str, *refs: str) -> None:
        git("push", "-q", "--force", "origin", *(refs or ("main", "--tags")), cwd=self.work(name))

    def commit(self, name: str, message: str, files: dict[str, str]) -> str:
        work = self.work(name)
        for rel, text in files.items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_text(text)
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", message, cwd=work)
        return git("rev-parse", "HEAD", cwd=work)

    def refuse_sha_wants(self, name: str) -> None:
        bare = self.bare(name)
        git("config", "uploadpack.allowAnySHA1InWant", "false", cwd=bare)
        git("config", "uploadpack.allowReachableSHA1InWant", "false", cwd=bare)
        git("config", "uploadpack.allowTipSHA1InWant", "false", cwd=bare)
        self.refusing.add(name)


class GitHttpServer:
    """Smart HTTP: every request runs `git http-backend` as a CGI program over the factory's root."""

    def __init__(self, factory: GitFactory) -> None:
        self.factory = factory
        self.requests: list[str] = []
        server = self

        class Handler(_CgiHandler):
            owner = server

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}.git"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _CgiHandler(BaseHTTPRequestHandler):
    owner: GitHttpServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _cgi(self) -> None:
        path, _, query = self.path.partition("?")
        self.owner.requests.append(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        repo = path.lstrip("/").split(".git", 1)[0]
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": str(self.owner.factory.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        proto = self.headers.get("Git-Protocol")
        if proto and repo not in self.owner.factory.refusing:
            env["GIT_PROTOCOL"] = proto
        cp = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = cp.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = cp.stdout.partition(b"\n\n")
        status = 200
        headers = []
        for raw in head.decode("latin-1").splitlines():
            key, _, value = raw.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def git_factory(tmp_path_factory: pytest.TempPathFactory) -> GitFactory:
    return GitFactory(tmp_path_factory.mktemp("git-root"), tmp_path_factory.mktemp("git-work"))


@pytest.fixture
def git_http(git_factory: GitFactory) -> Iterator[GitHttpServer]:
    srv = GitHttpServer(git_factory)
    try:
        yield srv
    finally:
        srv.stop()


__all__ = ["GitFactory", "GitHttpServer", "GitRepo", "git", "git_factory", "git_http"]
