"""The git commands the patch engine needs, through legacyrun.proc (argv lists), with a fixed identity.

Commits are made with a fixed author, committer and date, and with hooks, signing and user config switched
off, so the same pinned commit plus the same patches gives the same commit SHAs on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from legacyrun import proc
from legacyrun.errors import PatchError

BRANCH = "legacyrun/patched"
IDENTITY = {
    "GIT_AUTHOR_NAME": "legacyrun",
    "GIT_AUTHOR_EMAIL": "legacyrun@localhost",
    "GIT_COMMITTER_NAME": "legacyrun",
    "GIT_COMMITTER_EMAIL": "legacyrun@localhost",
    # 2000-01-01T00:00:00Z: any fixed date works; it makes commit SHAs reproducible.
    "GIT_AUTHOR_DATE": "946684800 +0000",
    "GIT_COMMITTER_DATE": "946684800 +0000",
}
# User/system config must not change what we commit (hooks, signing, autocrlf, a global excludes file...).
_QUIET_ENV: dict[str, str | None] = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
    "GIT_INDEX_FILE": None,
    "GIT_DIR": None,
    "GIT_WORK_TREE": None,
}


_SHA = frozenset("0123456789abcdef")


def _object_id(text: str) -> str | None:
    text = text.strip()
    return text if len(text) in (40, 64) and set(text) <= _SHA else None


def _read_head(tree: Path) -> str | None:
    """HEAD's commit read from the files of a plain `.git` directory (loose or packed ref), or None whenever the
    layout is anything else (a linked worktree, reftable, an unborn branch): then git is asked."""
    git = tree / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return _object_id(head)
        ref = head[5:].strip()
        if not ref.startswith("refs/heads/") or ".." in ref:
            return None
        try:
            return _object_id((git / ref).read_text(encoding="utf-8"))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return _object_id(sha)
    except (OSError, UnicodeDecodeError):
        return None
    return None


def head_commit(tree: Path) -> str | None:
    """The commit checked out in a work tree (None: not a git tree, or no commit yet); `git rev-parse HEAD`
    without starting git in the common case, which a no-op `up` does once per source."""
    found = _read_head(tree)
    if found is not None:
        return found
    done = proc.run(["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=tree, env=_QUIET_ENV)
    return done.stdout.strip() if done.ok and done.stdout.strip() else None


@dataclass(frozen=True)
class GitRepo:
    """One source work tree."""

    path: Path

    def run(self, *args: str, input: str | None = None, check: bool = True) -> proc.Completed:
        argv = [
            "git",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "commit.gpgSign=false",
            "-c",
            "core.autocrlf=false",
            "-c",
            "advice.detachedHead=false",
            *args,
        ]
        done = proc.run(argv, cwd=self.path, env={**_QUIET_ENV, **IDENTITY}, input=input)
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


__all__ = ["BRANCH", "IDENTITY", "GitRepo"]
