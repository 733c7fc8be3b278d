"""Sources at a pinned commit, through a shared cache of bare mirrors (GitPython drives the git CLI).

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
from typing import Any

from legacyrun.errors import FetchError
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.fetch.progress import Progress
from legacyrun.userdirs import git_mirrors_dir

_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}


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


def _git_error(exc: Any) -> str:
    text = (getattr(exc, "stderr", "") or str(exc)).strip()
    lines = [ln.strip().removeprefix("stderr: ").strip("'\" ") for ln in text.splitlines() if ln.strip()]
    useful = [ln for ln in lines if ln.startswith(("fatal", "error"))] or lines
    return useful[-1] if useful else "git failed"


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


def _has_commit(repo: Any, commit: str) -> bool:
    import git

    try:
        repo.git.cat_file("-e", f"{commit}^{{commit}}")
    except git.GitCommandError:
        return False
    return True


def _open_mirror(path: Path) -> Any:
    import git

    if (path / "HEAD").is_file():
        return git.Repo(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path, bare=True)
    with repo.config_writer() as cw:
        # Work trees fetch single commits from the mirror by SHA.
        cw.set_value("uploadpack", "allowAnySHA1InWant", "true")
        cw.set_value("gc", "auto", "0")
    return repo


def ensure_in_mirror(url: str, commit: str, mirrors: Mirrors, progress: Progress) -> tuple[Path, str | None, bool]:
    """The mirror path, the URL the commit came from (None: already cached) and whether it was a shallow fetch."""
    import git
    from filelock import FileLock

    path = mirror_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        repo = _open_mirror(path)
        if _has_commit(repo, commit):
            return path, None, False
        failures: list[str] = []
        with repo.git.custom_environment(**_ENV):
            for candidate in mirrors.rewrite(url):
                try:
                    repo.git.fetch("--depth=1", "--no-tags", candidate, f"+{commit}:refs/legacyrun/{commit}")
                    if _has_commit(repo, commit):
                        return path, candidate, True
                except git.GitCommandError as exc:
                    reason = _git_error(exc)
                    if _unreachable(reason):
                        failures.append(f"{candidate}: {reason}")
                        continue
                    failures.append(f"{candidate}: shallow fetch by SHA: {reason}")
                progress.note(f"{candidate}: shallow fetch of {commit[:12]} refused; fetching all branches and tags")
                try:
                    repo.git.fetch(candidate, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
                except git.GitCommandError as exc:
                    failures.append(f"{candidate}: full fetch: {_git_error(exc)}")
                    continue
                if _has_commit(repo, commit):
                    repo.git.update_ref(f"refs/legacyrun/{commit}", commit)
                    return path, candidate, False
                failures.append(f"{candidate}: has no commit {commit}")
    raise FetchError(f"cannot get commit {commit} of {url}: " + "; ".join(failures))


def _work_tree(mirror: Path, commit: str, target: Path, origin: str) -> None:
    """A new repository at `target` (which must not exist) holding exactly `commit`, checked out."""
    import git

    repo = git.Repo.init(target)
    with repo.git.custom_environment(**_ENV):
        repo.git.fetch("--depth=1", "--no-tags", mirror.as_uri(), f"refs/legacyrun/{commit}")
        repo.git.checkout("--quiet", "--detach", commit)
    repo.create_remote("origin", origin)
    head = repo.head.commit.hexsha
    if head != commit:
        raise FetchError(f"{target}: checked out {head}, expected {commit}")


def _submodules(tree: Path) -> list[tuple[str, str, str]]:
    """(path, url, commit) of each submodule recorded at HEAD."""
    import git

    if not (tree / ".gitmodules").is_file():
        return []
    repo = git.Repo(tree)
    try:
        raw = repo.git.config("-f", ".gitmodules", "--get-regexp", r"^submodule\..*\.(path|url)$")
    except git.GitCommandError:
        return []
    paths: dict[str, str] = {}
    urls: dict[str, str] = {}
    for line in raw.splitlines():
        key, _, value = line.partition(" ")
        name, _, attr = key.removeprefix("submodule.").rpartition(".")
        (paths if attr == "path" else urls)[name] = value
    out = []
    for name, sub_path in paths.items():
        listing = repo.git.ls_tree("HEAD", sub_path).split()
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
        import git

        git.Repo(target).git.submodule("init")
    return fetched_from, shallow, subs


def existing_commit_ok(path: Path, commit: str) -> bool:
    """True when `path` is a work tree at `commit`, or at patch commits made on top of it (no network needed)."""
    import git

    try:
        repo = git.Repo(path)
        head = repo.head.commit.hexsha
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return False
    if head == commit:
        return True
    try:
        repo.git.merge_base("--is-ancestor", commit, head)
    except git.GitCommandError:
        return False
    return True


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
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, FetchError):
            raise
        import git

        if isinstance(exc, git.GitCommandError):
            raise FetchError(f"source {name} ({url} @ {commit}): {_git_error(exc)}") from None
        raise
    finally:
        progress.finish(key)
    return SourceResult(name, url, commit, target, fetched_from, shallow, subs, time.monotonic() - started)


__all__ = ["SourceResult", "ensure_in_mirror", "existing_commit_ok", "fetch_source", "mirror_path"]
