"""The one way legacyrun runs git: the git CLI through legacyrun.proc (argv lists), with one environment.

Every call gets `ENV`: no prompt for credentials (a fetch fails instead of waiting for a password nobody types),
English messages (the error mapping reads them) and no GIT_DIR / GIT_WORK_TREE / GIT_INDEX_FILE inherited from a
caller (a git hook, a test harness) that would point git at some other repository.

- `run` never raises on git's exit status (the caller looks at `.ok`); `git` returns stdout or raises `GitError`
  (a FetchError: exit code 4) whose message is `git SUBCOMMAND failed: <the fatal line>`; `output` is the stripped
  stdout or None; `git_bytes` is `run` with bytes in and out.
- `head_commit` reads HEAD from `.git`'s files without starting git (a no-op `up` asks once per source).
- `GitRepo` is a work tree legacyrun commits to (patches, a package release's pristine commit): a fixed author,
  committer and date, with hooks, signing, autocrlf and system config switched off, so the same start commit plus
  the same changes gives the same commit SHAs on every machine.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from legacyrun import proc
from legacyrun.errors import FetchError, PatchError

ENV: dict[str, str | None] = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "LC_ALL": "C",
    "LANGUAGE": "C",
    "GIT_INDEX_FILE": None,
    "GIT_DIR": None,
    "GIT_WORK_TREE": None,
}
_INSTALL_HINT = "apt-get install git"

Cwd = str | os.PathLike[str] | None


class GitError(FetchError):
    """A git command failed; `reason` is the line of git's output that says why."""

    def __init__(self, argv: Sequence[str], reason: str) -> None:
        super().__init__(f"git {_subcommand(argv)} failed: {reason}")
        self.argv = tuple(argv)
        self.reason = reason


def _subcommand(args: Sequence[str]) -> str:
    """The subcommand of git's arguments (`-c key=value` and `-C dir` pairs before it skipped)."""
    i = 0
    while i < len(args) and args[i] in ("-c", "-C"):
        i += 2
    return args[i] if i < len(args) else "(none)"


def error_line(text: str) -> str:
    """The line of git's stderr that says why it failed: the last `fatal:`/`error:` line, else the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    useful = [ln for ln in lines if ln.startswith(("fatal", "error"))] or lines
    return useful[-1] if useful else "(no message)"


def _argv(args: Sequence[str]) -> list[str]:
    return [proc.which("git", install_hint=_INSTALL_HINT), *args]


def run(
    args: Sequence[str],
    *,
    cwd: Cwd = None,
    env: proc.Env | None = None,
    input: str | None = None,
    timeout: float | None = None,
) -> proc.Completed:
    """`git ARGS` to completion; a failing exit status is the caller's to look at (`.ok`)."""
    return proc.run(_argv(args), cwd=cwd, env={**ENV, **(env or {})}, input=input, timeout=timeout)


def git(
    args: Sequence[str],
    *,
    cwd: Cwd = None,
    env: proc.Env | None = None,
    input: str | None = None,
    timeout: float | None = None,
) -> str:
    """`git ARGS`'s stdout (not stripped: porcelain output may start with a space); GitError when it fails."""
    done = run(args, cwd=cwd, env=env, input=input, timeout=timeout)
    if not done.ok:
        raise GitError(args, error_line(done.stderr or done.stdout))
    return done.stdout


def output(args: Sequence[str], *, cwd: Cwd = None) -> str | None:
    """`git ARGS`'s stdout stripped, or None when git fails (for questions whose "no" is a failing git)."""
    done = run(args, cwd=cwd)
    return done.stdout.strip() if done.ok else None


def git_bytes(
    args: Sequence[str], *, cwd: Cwd = None, input: bytes | None = None, timeout: float | None = None
) -> proc.CompletedBytes:
    """`git ARGS` with bytes in and out (`cat-file --batch`, whose sizes count bytes); never raises on status."""
    return proc.run_bytes(_argv(args), cwd=cwd, env=ENV, input=input, timeout=timeout)


# --- questions about a repository -----------------------------------------------------------------------------

_SHA = frozenset("0123456789abcdef")


def _object_id(text: str) -> str | None:
    text = text.strip()
    return text if len(text) in (40, 64) and set(text) <= _SHA else None


def _read_head(tree: Path) -> str | None:
    """HEAD's commit read from the files of a plain `.git` directory (loose or packed ref), or None whenever the
    layout is anything else (a linked worktree, reftable, an unborn branch): then git is asked."""
    dot_git = tree / ".git"
    try:
        head = (dot_git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return _object_id(head)
        ref = head[5:].strip()
        if not ref.startswith("refs/heads/") or ".." in ref:
            return None
        try:
            return _object_id((dot_git / ref).read_text(encoding="utf-8"))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass
        for line in (dot_git / "packed-refs").read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return _object_id(sha)
    except (OSError, UnicodeDecodeError):
        return None
    return None


def rev_parse(repo: Path, ref: str) -> str | None:
    """The commit `ref` names in `repo` (a work tree or a bare repository), or None."""
    return output(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=repo) or None


def head_commit(tree: Path) -> str | None:
    """The commit checked out in a work tree (None: not a git tree, or no commit yet); `git rev-parse HEAD`
    without starting git in the common case, which a no-op `up` does once per source."""
    found = _read_head(tree)
    if found is not None:
        return found
    return rev_parse(tree, "HEAD")


def has_commit(repo: Path, commit: str) -> bool:
    """`commit` is an object of `repo` (no network)."""
    return run(["cat-file", "-e", f"{commit}^{{commit}}"], cwd=repo).ok


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    """`ancestor` is `descendant` or one of its ancestors."""
    return run(["merge-base", "--is-ancestor", ancestor, descendant], cwd=repo).ok


def tracked_files(tree: Path, paths: Sequence[str] = ()) -> list[str] | None:
    """The paths git tracks in a work tree (under `paths` when given), or None when git cannot say."""
    done = run(["ls-files", "-z", *(["--", *paths] if paths else [])], cwd=tree)
    return [p for p in done.stdout.split("\0") if p] if done.ok else None


# --- getting commits ------------------------------------------------------------------------------------------


def clone(url: str, dest: Path, *, bare: bool = False, options: Sequence[str] = ()) -> None:
    """`git clone --quiet URL DEST` (GitError when it fails)."""
    git(["clone", "--quiet", *(["--bare"] if bare else []), *options, url, str(dest)])


def init(path: Path, *, bare: bool = False) -> None:
    """A new repository at `path` (folders made as needed)."""
    git(["init", "--quiet", *(["--bare"] if bare else []), str(path)])


def fetch(repo: Path, url: str, *refspecs: str, options: Sequence[str] = ()) -> proc.Completed:
    """`git fetch OPTIONS URL REFSPECS` in `repo`; the caller reads `.ok` (a failing fetch is often expected)."""
    return run(["fetch", *options, url, *refspecs], cwd=repo)


# --- a work tree legacyrun commits to -------------------------------------------------------------------------

IDENTITY = {
    "GIT_AUTHOR_NAME": "legacyrun",
    "GIT_AUTHOR_EMAIL": "legacyrun@localhost",
    "GIT_COMMITTER_NAME": "legacyrun",
    "GIT_COMMITTER_EMAIL": "legacyrun@localhost",
    # 2000-01-01T00:00:00Z: any fixed date works; it makes commit SHAs reproducible.
    "GIT_AUTHOR_DATE": "946684800 +0000",
    "GIT_COMMITTER_DATE": "946684800 +0000",
}
# System config must not change what we commit (hooks, signing, autocrlf, a global excludes file...).
_COMMIT_ENV: dict[str, str | None] = {"GIT_CONFIG_NOSYSTEM": "1", **IDENTITY}
_COMMIT_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "core.autocrlf=false",
    "-c",
    "advice.detachedHead=false",
)


@dataclass(frozen=True)
class GitRepo:
    """One work tree that legacyrun commits to; failures are PatchErrors naming the tree."""

    path: Path

    def run(self, *args: str, input: str | None = None, check: bool = True) -> proc.Completed:
        done = run([*_COMMIT_CONFIG, *args], cwd=self.path, env=_COMMIT_ENV, input=input)
        if check and not done.ok:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise PatchError(f"{self.path}: git {' '.join(args[:2])} failed: {detail[-1] if detail else 'error'}")
        return done

    def out(self, *args: str) -> str:
        return self.run(*args).stdout

    def is_repo(self) -> bool:
        if not (self.path / ".git").exists():
            return False
        done = self.run("rev-parse", "--is-inside-work-tree", check=False)
        return done.ok and done.stdout.strip() == "true"

    def rev(self, ref: str) -> str | None:
        done = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return done.stdout.strip() if done.ok else None

    def head(self) -> str | None:
        return self.rev("HEAD")

    def head_branch(self) -> str | None:
        """The checked-out branch name, or None when HEAD is detached."""
        done = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return done.stdout.strip() if done.ok else None

    def dirty_files(self) -> list[str]:
        """Tracked files that differ from HEAD (index or work tree); untracked files (datasets, outputs) are not
        edits of ours to worry about and are never touched."""
        raw = self.out("status", "--porcelain=v1", "-z", "--untracked-files=no")
        files: list[str] = []
        entries = raw.split("\0")
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            files.append(entry[3:])
            if entry[0] in "RC":  # a rename carries its old name as the next entry
                i += 1
        return sorted(files)

    def tracked_files(self) -> list[str]:
        return [f for f in self.out("ls-files", "-z").split("\0") if f]

    def log_messages(self, base: str, tip: str) -> list[tuple[str, str]]:
        """(sha, full message) of the commits base..tip, oldest first, first-parent only."""
        raw = self.out("log", "--first-parent", "--reverse", "--format=%H%x00%B%x1e", f"{base}..{tip}")
        out: list[tuple[str, str]] = []
        for record in raw.split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            sha, _, message = record.partition("\0")
            out.append((sha.strip(), message.strip()))
        return out

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.run("merge-base", "--is-ancestor", ancestor, descendant, check=False).ok

    def diff(self, base: str, tip: str | None = None, paths: Sequence[str] = ()) -> str:
        args = ["diff", "--no-color", "--no-ext-diff", "--binary", base]
        if tip is not None:
            args.append(tip)
        return self.out(*args, "--", *paths) if paths else self.out(*args)

    def git_dir(self) -> Path:
        raw = self.out("rev-parse", "--absolute-git-dir").strip()
        return Path(raw)


__all__ = [
    "ENV",
    "IDENTITY",
    "GitError",
    "GitRepo",
    "clone",
    "error_line",
    "fetch",
    "git",
    "git_bytes",
    "has_commit",
    "head_commit",
    "init",
    "is_ancestor",
    "output",
    "rev_parse",
    "run",
    "tracked_files",
]
