"""Fixtures for the sharing tests: git repositories made with the real git CLI (served over file://), a small
threaded HTTP server on 127.0.0.1 serving a temp folder, and recipe text with a marker command."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _recipe_yaml(name: str, *, argv: list[str] | None = None, title: str = "A lab recipe") -> str:
    """A small valid recipe whose train task runs `argv` (a marker command in the trust tests)."""
    cmd = argv or ["python", "train.py"]
    argv_text = ", ".join(f'"{a}"' for a in cmd)
    return (
        "schema_version: 1\n"
        f"name: {name}\n"
        f'title: "{title}"\n'
        "sources:\n"
        f"  - name: {name}\n"
        f"    url: https://example.invalid/{name}.git\n"
        f"    commit: {COMMIT}\n"
        "env:\n"
        "  profiles:\n"
        '    faithful: {python: "3.6", torch: "1.4.0"}\n'
        '    modern: {python: "3.11", torch: ">=2.1"}\n'
        "tasks:\n"
        "  train:\n"
        f"    source: {name}\n"
        f"    argv: [{argv_text}]\n"
    )


@pytest.fixture
def recipe_yaml() -> Callable[..., str]:
    """recipe_yaml(name, argv=[...], title=...) -> recipe text."""
    return _recipe_yaml


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    cp = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return cp.stdout.strip()


@dataclass
class GitRepo:
    """A work tree whose commits a test makes; `url` is its file:// URL."""

    path: Path

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def commit(self, message: str = "change") -> str:
        git("add", "-A", cwd=self.path)
        git("commit", "-q", "-m", message, cwd=self.path)
        return git("rev-parse", "HEAD", cwd=self.path)


@pytest.fixture
def make_git_repo(tmp_path: Path) -> Callable[[str], GitRepo]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed (apt-get install git)")

    def make(name: str) -> GitRepo:
        path = tmp_path / "repos" / name
        path.mkdir(parents=True)
        git("init", "-q", "-b", "main", cwd=path)
        return GitRepo(path)

    return make


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Served:
    root: Path
    base: str

    def url(self, rel: str) -> str:
        return f"{self.base}/{rel}"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A threaded http.server on 127.0.0.1 (free port) serving a temp folder."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(root, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
