"""Sources at a pinned commit, through a shared cache of bare mirrors (git through legacyrun.gitcli).

1. The bare mirror for the source's upstream URL (git_mirrors_dir(), keyed by that URL, so `--mirror` rewrites
   share it) either has the commit already (no network), or gets it: first `git fetch --depth=1 URL SHA` (only what
   the commit needs; servers must allow SHA wants, GitHub does), then a full fetch of branches and tags, for each
   candidate URL in mirror order. The commit is pinned by a ref `refs/legacyrun/<sha>` so gc keeps it.
2. The work tree is a fresh repository in a temp directory beside `src/<name>`, filled by a depth-1 fetch of that
   ref from the mirror, checked out (detached HEAD at the commit), verified, submodules done the same way
   recursively, and only then renamed into place. `origin` points at the upstream URL.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from legacyrun import gitcli
from legacyrun.errors import FetchError
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.fetch.progress import Progress
from legacyrun.userdirs import git_mirrors_dir


@dataclass(frozen=True)
class SourceResult:
    """What fetching one source did."""

    name: str
    url: str
    commit: str
    path: Path
    fetched_from: str | None  # the URL that gave the commit; None when the mirror cache or the work tree had it
    shallow: bool
    submodules: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def network(self) -> bool:
        return self.fetched_from is not None


_UNREACHABLE = (
    "could not resolve host",
    "connection refused",
    "couldn't connect",
    "failed to connect",
    "timed out",
    "does not appear to be a git repository",
    "not found",
    "no such file",
    "unable to access",
)


def _unreachable(reason: str) -> bool:
    """The server or repository is not there at all: a full fetch would fail the same way."""
    low = reason.lower()
    return any(marker in low for marker in _UNREACHABLE)


def mirror_path(url: str) -> Path:
    """Bare mirror directory for an upstream URL."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))[:40] or "repo"
    return git_mirrors_dir() / f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:16]}.git"


def _open_mirror(path: Path) -> None:
    if (path / "HEAD").is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    gitcli.init(path, bare=True)
    # Work trees fetch single commits from the mirror by SHA.
    gitcli.git(["config", "uploadpack.allowAnySHA1InWant", "true"], cwd=path)
    gitcli.git(["config", "gc.auto", "0"], cwd=path)


def ensure_in_mirror(url: str, commit: str, mirrors: Mirrors, progress: Progress) -> tuple[Path, str | None, bool]:
    """The mirror path, the URL the commit came from (None: already cached) and whether it was a shallow fetch."""
    from filelock import FileLock

    path = mirror_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        _open_mirror(path)
        if gitcli.has_commit(path, commit):
            return path, None, False
        failures: list[str] = []
        shallow = ["--depth=1", "--no-tags"]
        for candidate in mirrors.rewrite(url):
            done = gitcli.fetch(path, candidate, f"+{commit}:refs/legacyrun/{commit}", options=shallow)
            if done.ok:
                if gitcli.has_commit(path, commit):
                    return path, candidate, True
            else:
                reason = gitcli.error_line(done.stderr)
                if _unreachable(reason):
                    failures.append(f"{candidate}: {reason}")
                    continue
                failures.append(f"{candidate}: shallow fetch by SHA: {reason}")
            progress.note(f"{candidate}: shallow fetch of {commit[:12]} refused; fetching all branches and tags")
            done = gitcli.fetch(path, candidate, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
            if not done.ok:
                failures.append(f"{candidate}: full fetch: {gitcli.error_line(done.stderr)}")
                continue
            if gitcli.has_commit(path, commit):
                gitcli.git(["update-ref", f"refs/legacyrun/{commit}", commit], cwd=path)
                return path, candidate, False
            failures.append(f"{candidate}: has no commit {commit}")
    raise FetchError(f"cannot get commit {commit} of {url}: " + "; ".join(failures))


def _work_tree(mirror: Path, commit: str, target: Path, origin: str) -> None:
    """A new repository at `target` (which must not exist) holding exactly `commit`, checked out."""
    gitcli.init(target)
    gitcli.git(["fetch", "--depth=1", "--no-tags", mirror.as_uri(), f"refs/legacyrun/{commit}"], cwd=target)
    gitcli.git(["checkout", "--quiet", "--detach", commit], cwd=target)
    gitcli.git(["remote", "add", "origin", origin], cwd=target)
    head = gitcli.rev_parse(target, "HEAD")
    if head != commit:
        raise FetchError(f"{target}: checked out {head}, expected {commit}")


def _submodules(tree: Path) -> list[tuple[str, str, str]]:
    """(path, url, commit) of each submodule recorded at HEAD."""
    if not (tree / ".gitmodules").is_file():
        return []
    raw = gitcli.output(["config", "-f", ".gitmodules", "--get-regexp", r"^submodule\..*\.(path|url)$"], cwd=tree)
    if raw is None:
        return []
    paths: dict[str, str] = {}
    urls: dict[str, str] = {}
    for line in raw.splitlines():
        key, _, value = line.partition(" ")
        name, _, attr = key.removeprefix("submodule.").rpartition(".")
        (paths if attr == "path" else urls)[name] = value
    out = []
    for name, sub_path in paths.items():
        listing = gitcli.git(["ls-tree", "HEAD", sub_path], cwd=tree).split()
        if len(listing) >= 3 and listing[1] == "commit" and name in urls:
            out.append((sub_path, urls[name], listing[2]))
    return out


def _resolve_url(parent: str, url: str) -> str:
    """Relative submodule URLs ('../other.git') are relative to the parent repository's URL."""
    if not url.startswith(("./", "../")):
        return url
    scheme, sep, rest = parent.rstrip("/").partition("://")
    base = rest if sep else parent
    joined = posixpath.normpath(posixpath.join(base, url))
    return f"{scheme}://{joined}" if sep else joined


def _fill(
    url: str, commit: str, target: Path, mirrors: Mirrors, progress: Progress, label: str
) -> tuple[str | None, bool, list[str]]:
    """Mirror + work tree + submodules (recursively) at `target`; returns (fetched_from, shallow, submodule paths)."""
    mirror, fetched_from, shallow = ensure_in_mirror(url, commit, mirrors, progress)
    _work_tree(mirror, commit, target, url)
    subs = []
    for sub_path, sub_url, sub_commit in _submodules(target):
        sub_target = target / sub_path
        if sub_target.is_dir() and not any(sub_target.iterdir()):
            sub_target.rmdir()
        progress.note(f"{label}: submodule {sub_path} at {sub_commit[:12]}")
        _fill(_resolve_url(url, sub_url), sub_commit, sub_target, mirrors, progress, f"{label}/{sub_path}")
        subs.append(sub_path)
    if subs:
        gitcli.git(["submodule", "init"], cwd=target)
    return fetched_from, shallow, subs


def existing_commit_ok(path: Path, commit: str) -> bool:
    """True when `path` is a work tree at `commit`, or at patch commits made on top of it (no network needed)."""
    if not (path / ".git").exists():
        return False
    head = gitcli.head_commit(path)
    if head is None:
        return False
    return head == commit or gitcli.is_ancestor(path, commit, head)


def fetch_source(
    name: str, url: str, commit: str, target: Path, *, submodules: bool, mirrors: Mirrors, progress: Progress
) -> SourceResult:
    """Get `commit` of `url` into `target` (a source directory of the workspace), verified."""
    started = time.monotonic()
    key = f"code:{name}"
    if target.exists():
        if existing_commit_ok(target, commit):
            return SourceResult(name, url, commit, target, None, False, [], time.monotonic() - started)
        raise FetchError(
            f"{target} exists but is not a git work tree at commit {commit}; move it away (or delete it) and rerun"
        )
    progress.start(key, f"git {name} @ {commit[:12]}", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if submodules:
            fetched_from, shallow, subs = _fill(url, commit, tmp, mirrors, progress, name)
        else:
            mirror, fetched_from, shallow = ensure_in_mirror(url, commit, mirrors, progress)
            _work_tree(mirror, commit, tmp, url)
            subs = []
        os.replace(tmp, target)
    except gitcli.GitError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise FetchError(f"source {name} ({url} @ {commit}): {exc.reason}") from None
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        progress.finish(key)
    return SourceResult(name, url, commit, target, fetched_from, shallow, subs, time.monotonic() - started)


__all__ = ["SourceResult", "ensure_in_mirror", "existing_commit_ok", "fetch_source", "mirror_path"]
