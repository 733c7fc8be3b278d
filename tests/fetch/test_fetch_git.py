"""git sources against real repositories over file:// and smart HTTP (git http-backend on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fetch.fetch_helpers import make_lock, recipe
from support.gitrepos import GitFactory, GitHttpServer, git

from legacyrun import lock as lockmod
from legacyrun.errors import FetchError
from legacyrun.fetch import Mirrors, fetch_code
from legacyrun.fetch.record import STEP_CODE
from legacyrun.workspace import Workspace


def _head(path: Path) -> str:
    return git("rev-parse", "HEAD", cwd=path)


def test_file_url_pinned_commit_not_tip(tmp_path: Path, git_factory: GitFactory) -> None:
    repo = git_factory.repo("proj", commits=3)
    pinned = repo.commits[1]
    loaded = recipe(tmp_path, sources=[{"name": "proj", "url": repo.file_url, "commit": pinned}])
    ws = Workspace.at(tmp_path / "ws")
    make_lock(ws.root, loaded)
    [res] = fetch_code(loaded, ws)
    assert res.commit == pinned and res.network
    assert _head(ws.source_dir("proj")) == pinned
    assert (ws.source_dir("proj") / "file1.py").exists() and not (ws.source_dir("proj") / "file2.py").exists()
    lock = lockmod.read(ws.lockfile)
    assert lock.sources == {"proj": pinned}
    assert lock.patches == {"p1": "abc"}  # other sections kept
    assert ws.step_record(STEP_CODE) is not None
    # No leftovers beside the work tree.
    assert sorted(p.name for p in ws.src.iterdir()) == ["proj"]


def test_http_shallow_by_sha_and_cache_makes_no_request(
    tmp_path: Path, git_factory: GitFactory, git_http: GitHttpServer
) -> None:
    repo = git_factory.repo("proj", commits=4)
    pinned = repo.commits[2]
    loaded = recipe(tmp_path, sources=[{"name": "proj", "url": git_http.url("proj"), "commit": pinned}])
    ws1 = Workspace.at(tmp_path / "ws1")
    [res] = fetch_code(loaded, ws1)
    assert res.shallow and res.fetched_from == git_http.url("proj")
    assert _head(ws1.source_dir("proj")) == pinned
    # Only the pinned commit came over: its parent is not in the mirror.
    assert (ws1.source_dir("proj") / ".git" / "shallow").exists()
    seen = len(git_http.requests)
    # Same workspace again: nothing to do. A second workspace: the bare mirror cache has it.
    [again] = fetch_code(loaded, ws1)
    ws2 = Workspace.at(tmp_path / "ws2")
    [other] = fetch_code(loaded, ws2)
    assert not again.network and not other.network
    assert _head(ws2.source_dir("proj")) == pinned
    assert len(git_http.requests) == seen


def test_fallback_to_full_fetch_when_server_refuses_sha(
    tmp_path: Path, git_factory: GitFactory, git_http: GitHttpServer
) -> None:
    repo = git_factory.repo("old", commits=3)
    git_factory.refuse_sha_wants("old")
    pinned = repo.commits[0]
    loaded = recipe(tmp_path, sources=[{"name": "old", "url": git_http.url("old"), "commit": pinned}])
    ws = Workspace.at(tmp_path / "ws")
    [res] = fetch_code(loaded, ws)
    assert not res.shallow and res.network
    assert _head(ws.source_dir("old")) == pinned


def test_mirror_with_moved_branch_still_gives_pinned_commit(
    tmp_path: Path, git_factory: GitFactory, git_http: GitHttpServer
) -> None:
    repo = git_factory.repo("proj", commits=3)
    pinned = repo.commits[2]
    # The mirror keeps the pinned commit under a tag, but its main branch was rewritten to point elsewhere.
    work = git_factory.work("proj")
    git("tag", "release", pinned, cwd=work)
    git("reset", "-q", "--hard", repo.commits[0], cwd=work)
    moved = git_factory.commit("proj", "rewritten history", {"other.txt": "x\n"})
    git_factory.push("proj", "main", "--tags")
    upstream = "https://github.invalid/someone/proj.git"
    loaded = recipe(tmp_path, sources=[{"name": "proj", "url": upstream, "commit": pinned}])
    mirrors = Mirrors.from_sources([f"https://github.invalid/someone/={git_http.base}/"], {}, None)
    ws = Workspace.at(tmp_path / "ws")
    [res] = fetch_code(loaded, ws, mirrors=mirrors)
    assert res.fetched_from == git_http.url("proj")
    assert _head(ws.source_dir("proj")) == pinned != moved
    # origin still names the upstream project, not the lab mirror.
    assert git("remote", "get-url", "origin", cwd=ws.source_dir("proj")) == upstream


def test_missing_commit_is_a_clear_error(tmp_path: Path, git_factory: GitFactory, git_http: GitHttpServer) -> None:
    git_factory.repo("proj", commits=2)
    ghost = "1234567890abcdef1234567890abcdef12345678"
    loaded = recipe(tmp_path, sources=[{"name": "proj", "url": git_http.url("proj"), "commit": ghost}])
    ws = Workspace.at(tmp_path / "ws")
    with pytest.raises(FetchError) as info:
        fetch_code(loaded, ws)
    msg = info.value.message
    assert ghost in msg and git_http.url("proj") in msg and "\n" not in msg
    assert not ws.source_dir("proj").exists()
    assert not any(ws.src.iterdir()) if ws.src.exists() else True


def test_submodules_checked_out_at_recorded_commits(
    tmp_path: Path, git_factory: GitFactory, git_http: GitHttpServer
) -> None:
    lib = git_factory.repo("lib", commits=2)
    app = git_factory.repo("app", commits=1)
    work = git_factory.work("app")
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", "../lib.git", "third_party/lib", cwd=work)
    git("-C", "third_party/lib", "checkout", "-q", lib.commits[0], cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "add lib", cwd=work)
    pinned = git("rev-parse", "HEAD", cwd=work)
    git_factory.push("app")
    loaded = recipe(
        tmp_path, sources=[{"name": "app", "url": git_http.url("app"), "commit": pinned, "submodules": True}]
    )
    ws = Workspace.at(tmp_path / "ws")
    [res] = fetch_code(loaded, ws)
    assert res.submodules == ["third_party/lib"]
    assert _head(ws.source_dir("app") / "third_party" / "lib") == lib.commits[0]
    assert (ws.source_dir("app") / "third_party" / "lib" / "file0.py").exists()
    assert app.commits


def test_existing_foreign_directory_is_refused(tmp_path: Path, git_factory: GitFactory) -> None:
    repo = git_factory.repo("proj", commits=1)
    loaded = recipe(tmp_path, sources=[{"name": "proj", "url": repo.file_url, "commit": repo.commits[0]}])
    ws = Workspace.at(tmp_path / "ws")
    ws.source_dir("proj").mkdir(parents=True)
    (ws.source_dir("proj") / "mine.txt").write_text("user work\n")
    with pytest.raises(FetchError, match="not a git work tree at commit"):
        fetch_code(loaded, ws)
    assert (ws.source_dir("proj") / "mine.txt").read_text() == "user work\n"
