"""legacyrun.gitcli (the one git module) and the proc calls under it, against a real git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from legacyrun import gitcli, proc
from legacyrun.errors import FetchError, ToolMissingError


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    for text in ("one", "two"):
        (path / "a.txt").write_text(text + "\n", encoding="utf-8")
        _git(path, "add", "-A")
        _git(path, "commit", "-q", "-m", text)
    return path


def test_a_failing_git_is_a_fetch_error_naming_the_subcommand_and_fatal_line(repo: Path) -> None:
    with pytest.raises(gitcli.GitError) as caught:
        gitcli.git(["-c", "core.quotePath=false", "rev-parse", "--verify", "no-such-ref"], cwd=repo)
    assert isinstance(caught.value, FetchError)
    assert caught.value.exit_code == 4
    assert caught.value.message == f"git rev-parse failed: {caught.value.reason}"
    assert caught.value.reason.startswith("fatal:")
    with pytest.raises(gitcli.GitError, match=r"^git clone failed: fatal: repository .* does not exist"):
        gitcli.clone(str(repo.parent / "absent"), repo.parent / "copy")
    assert not gitcli.run(["rev-parse", "--verify", "no-such-ref"], cwd=repo).ok  # run leaves the status to us


def test_questions_about_a_repository(repo: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD")
    first = _git(repo, "rev-parse", "HEAD~1")
    assert gitcli.rev_parse(repo, "HEAD") == gitcli.head_commit(repo) == head
    assert gitcli.rev_parse(repo, "no-such-ref") is None
    assert gitcli.has_commit(repo, first)
    assert not gitcli.has_commit(repo, "0" * 40)
    assert gitcli.is_ancestor(repo, first, head)
    assert not gitcli.is_ancestor(repo, head, first)
    assert gitcli.tracked_files(repo) == ["a.txt"]
    assert gitcli.tracked_files(repo.parent) is None  # no repository there
    assert gitcli.output(["log", "-1", "--format=%s"], cwd=repo) == "two"
    assert gitcli.output(["log", "-1", "no-such-ref"], cwd=repo) is None


def test_git_dir_of_the_caller_does_not_leak_in(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A GIT_DIR set by whoever started legacyrun (a git hook) would point every call at that repository."""
    other = tmp_path / "other"
    other.mkdir()
    _git(other, "init", "-q")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    assert gitcli.rev_parse(repo, "HEAD") == _git(repo, "--git-dir=.git", "rev-parse", "HEAD")


def test_no_git_on_path_says_how_to_get_it(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ToolMissingError) as caught:
        gitcli.git(["status"], cwd=repo)
    assert caught.value.hint == "apt-get install git"


def test_git_bytes_keeps_every_byte_and_run_replaces_what_is_not_utf8(repo: Path) -> None:
    data = b"a\r\nb\xff\n"
    (repo / "bin.dat").write_bytes(data)
    _git(repo, "add", "bin.dat")
    _git(repo, "commit", "-q", "-m", "bytes")
    done = gitcli.git_bytes(["cat-file", "--batch"], cwd=repo, input=b"HEAD:bin.dat\n")
    assert done.ok
    assert done.stdout.endswith(b" blob 6\n" + data + b"\n")
    text = proc.run(["git", "show", "HEAD:bin.dat"], cwd=repo)
    assert text.stdout == "a\nb\ufffd\n"  # text mode: universal newlines, undecodable bytes replaced
