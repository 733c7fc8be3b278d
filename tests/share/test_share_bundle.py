"""Export bundles: deterministic, and opening one in a clean config/cache gives back the recipe, its patches
and the locks byte for byte; seeding a fresh workspace puts exactly that lock in place; unsafe bundles are
refused."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from support.cli import run_inproc

from legacyrun import lock as lockmod
from legacyrun.errors import LockError, UsageError
from legacyrun.recipe.loader import load_path
from legacyrun.resolution import GpuInfo, HostInfo, Resolution
from legacyrun.share.bundle import open_bundle, open_bundle_full, seed_from_bundle, seed_workspace_lock
from legacyrun.share.registry import load
from legacyrun.workspace import Workspace

PATCH = "--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-loss.data[0]\n+loss.item()\n"
CONDA_LOCK = "version: 1\nmetadata: {platforms: [linux-64]}\npackage: []\n"


def _lock_text(recipe_hash: str) -> str:
    res = Resolution(
        recipe="labnet",
        recipe_hash=recipe_hash,
        profile="faithful",
        python="3.6",
        torch="1.4.0",
        torchvision="0.5.0",
        cuda="10.1",
        host=HostInfo(gpus=[GpuInfo(name="NVIDIA H100", compute_capability="9.0")], driver="550.54.15"),
        reasons=["café: non-ASCII survives"],
    )
    lock = lockmod.Lockfile(recipe="labnet", recipe_hash=recipe_hash, resolution=res, sources={"labnet": "a" * 40})
    return lockmod.dump(lock)


@pytest.fixture
def project(tmp_path: Path, recipe_yaml: Callable) -> tuple[Path, Path]:
    lab = tmp_path / "lab"
    (lab / "recipes").mkdir(parents=True)
    (lab / "patches" / "labnet" / "sub").mkdir(parents=True)
    recipe = lab / "recipes" / "labnet.yaml"
    recipe.write_text("# a comment that must survive\n" + recipe_yaml("labnet"), encoding="utf-8")
    (lab / "patches" / "labnet" / "item.patch").write_text(PATCH)
    (lab / "patches" / "labnet" / "sub" / "two.patch").write_text(PATCH.replace("item", "item2"))
    ws = Workspace.at(tmp_path / "ws")
    ws.root.mkdir()
    ws.lockfile.write_text(_lock_text(load_path(recipe).hash), encoding="utf-8")
    ws.conda_lockfile.write_text(CONDA_LOCK, encoding="utf-8")
    return recipe, ws.root


def test_export_then_open_round_trips(
    project: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe, ws_root = project
    out = tmp_path / "labnet.tar.gz"
    res = run_inproc("recipe", "export", str(recipe), "-o", str(out), "-w", str(ws_root), "--json")
    assert res.exit_code == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["notes"] == []
    assert sorted(info["members"]) == [
        "conda-lock.yml",
        "legacyrun.lock",
        "manifest.json",
        "patches/labnet/item.patch",
        "patches/labnet/sub/two.patch",
        "recipes/labnet.yaml",
    ]
    first = out.read_bytes()
    # Deterministic: the same inputs give the same bytes.
    again = tmp_path / "again.tar.gz"
    assert run_inproc("recipe", "export", str(recipe), "-o", str(again), "-w", str(ws_root)).exit_code == 0
    assert again.read_bytes() == first
    with tarfile.open(out) as tar:
        for m in tar.getmembers():
            assert (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (0, 0, 0, "", "", 0o644)

    # Another machine: clean config and cache; the original files are gone.
    recipe_bytes = recipe.read_bytes()
    lock_bytes = (ws_root / "legacyrun.lock").read_bytes()
    patch_dir = recipe.parent.parent / "patches" / "labnet"
    patches = {p.relative_to(patch_dir).as_posix(): p.read_bytes() for p in patch_dir.rglob("*") if p.is_file()}
    monkeypatch.setenv("LEGACYRUN_CACHE_DIR", str(tmp_path / "other" / "cache"))
    monkeypatch.setenv("LEGACYRUN_CONFIG_DIR", str(tmp_path / "other" / "config"))
    for p in sorted((tmp_path / "lab").rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()

    loaded, lock_text, conda_text = open_bundle(out)
    assert loaded.path.read_bytes() == recipe_bytes
    assert loaded.text.encode("utf-8") == recipe_bytes
    assert loaded.origin.startswith("bundle:")
    assert lock_text is not None
    assert lock_text.encode("utf-8") == lock_bytes
    assert conda_text == CONDA_LOCK
    pd = loaded.patches_dir
    assert {p.relative_to(pd).as_posix(): p.read_bytes() for p in pd.rglob("*") if p.is_file()} == patches

    # The registry takes the bundle as RECIPE (what `legacyrun up FILE.tar.gz` goes through).
    assert load(str(out)).hash == loaded.hash
    res = run_inproc("show", str(out), "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["name"] == "labnet"

    # `up` seeds a fresh workspace with exactly that lock.
    fresh = Workspace.at(tmp_path / "fresh")
    seeded = seed_workspace_lock(fresh, lock_text, conda_text)
    assert seeded.written == ["legacyrun.lock", "conda-lock.yml"]
    assert fresh.lockfile.read_bytes() == lock_bytes
    assert lockmod.read(fresh.lockfile).resolution.torch == "1.4.0"
    # A second `up`: nothing to do; a lock later steps rewrote is theirs now.
    assert seed_workspace_lock(fresh, lock_text, conda_text).written == []
    fresh.lockfile.write_text(lock_text + "# environment added by build\n")
    assert seed_workspace_lock(fresh, lock_text, None).kept == ["legacyrun.lock"]
    # A workspace with an unrelated lock is not overwritten silently.
    other = Workspace.at(tmp_path / "other-ws")
    other.root.mkdir()
    other.lockfile.write_text(_lock_text("b" * 64))
    with pytest.raises(LockError, match="differs from the bundle"):
        seed_workspace_lock(other, lock_text, None)
    assert seed_workspace_lock(other, lock_text, None, replace=True).written == ["legacyrun.lock"]


def test_export_without_workspace_lock_says_so(project: tuple[Path, Path], tmp_path: Path) -> None:
    recipe, _ = project
    out = tmp_path / "only.tar.gz"
    res = run_inproc("recipe", "export", str(recipe), "-o", str(out), "-w", str(tmp_path / "empty"), "--json")
    assert res.exit_code == 0, res.stderr
    assert "no legacyrun.lock" in json.loads(res.stdout)["notes"][0]
    loaded, lock_text, conda_text = open_bundle(out)
    assert (lock_text, conda_text) == (None, None)
    assert loaded.recipe.name == "labnet"
    res = run_inproc("recipe", "export", str(recipe), "-o", str(tmp_path / "x.zip"))
    assert res.exit_code == 2


def _rewrite(src: Path, dst: Path, edit: Callable[[tarfile.TarInfo, bytes], tuple[tarfile.TarInfo, bytes]]) -> None:
    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz") as tout:
        for m in tin.getmembers():
            fh = tin.extractfile(m)
            data = fh.read() if fh else b""
            m, data = edit(m, data)
            tout.addfile(m, io.BytesIO(data) if m.isfile() else None)


def test_damaged_and_unsafe_bundles_are_refused(project: tuple[Path, Path], tmp_path: Path) -> None:
    recipe, ws_root = project
    good = tmp_path / "good.tar.gz"
    assert run_inproc("recipe", "export", str(recipe), "-o", str(good), "-w", str(ws_root)).exit_code == 0

    def tamper(m: tarfile.TarInfo, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
        if m.name == "legacyrun.lock":
            data = data.replace(b"1.4.0", b"1.5.0")
            m.size = len(data)
        return m, data

    bad = tmp_path / "tampered.tar.gz"
    _rewrite(good, bad, tamper)
    with pytest.raises(UsageError, match=r"legacyrun\.lock does not match its sha256"):
        open_bundle(bad)

    def climb(m: tarfile.TarInfo, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
        if m.name == "legacyrun.lock":
            m.name = "../legacyrun.lock"
        return m, data

    evil = tmp_path / "climb.tar.gz"
    _rewrite(good, evil, climb)
    with pytest.raises(UsageError, match="outside the extraction folder"):
        open_bundle(evil)
    assert not (tmp_path / "legacyrun.lock").exists()

    def link(m: tarfile.TarInfo, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
        if m.name == "conda-lock.yml":
            m.type = tarfile.SYMTYPE
            m.linkname = "/etc/passwd"
            m.size = 0
        return m, data

    linked = tmp_path / "link.tar.gz"
    _rewrite(good, linked, link)
    with pytest.raises(UsageError, match="link or special file"):
        open_bundle(linked)

    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    res = run_inproc("show", str(junk))
    assert res.exit_code == 2
    assert "not a readable .tar.gz" in res.stderr


def test_export_carries_the_venv_lock(project: tuple[Path, Path], tmp_path: Path) -> None:
    """Every lock a backend wrote travels in the bundle: the venv's hash-pinned requirements.lock.txt too."""
    recipe, ws_root = project
    venv_lock = ws_root / "requirements.lock.txt"
    venv_lock.write_text("six==1.16.0 --hash=sha256:" + "0" * 64 + "\n")
    out = tmp_path / "with-venv.tar.gz"
    res = run_inproc("recipe", "export", str(recipe), "-o", str(out), "-w", str(ws_root), "--json")
    assert res.exit_code == 0, res.stderr
    assert "requirements.lock.txt" in json.loads(res.stdout)["members"]
    opened = open_bundle_full(out)
    assert (opened.root / "requirements.lock.txt").read_bytes() == venv_lock.read_bytes()


def test_up_of_a_bundle_installs_its_venv_lock_without_resolving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_git_repo: Callable
) -> None:
    """Real venvs, real `up`: workspace A resolves six and writes its hash-pinned requirements.lock.txt; `recipe
    export` carries it; on another machine (clean cache and config) `up BUNDLE.tar.gz` seeds a fresh workspace B
    with it byte for byte, and B's build installs exactly that file with --require-hashes, without resolving."""
    from legacyrun.backends.venv import LOCK_NAME, find_python
    from legacyrun.errors import BuildError

    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        find_python(py)
    except BuildError as exc:
        pytest.skip(f"no python{py} for a venv: {exc.message}")
    repo = make_git_repo("sixproj")
    repo.write("README.md", "six only\n")
    sha = repo.commit()
    recipe = tmp_path / "lab" / "recipes" / "sixproj.yaml"
    recipe.parent.mkdir(parents=True)
    recipe.write_text(
        "schema_version: 1\nname: sixproj\ntitle: six only\n"
        f"sources:\n  - {{name: sixproj, url: {repo.url}, commit: {sha}}}\n"
        'env:\n  profiles:\n    faithful: {python: "3.6", torch: "1.4.0"}\n'
        f'    modern: {{python: "{py}", torch: "2.13.0"}}\n'
        "tasks:\n  show: {source: sixproj, argv: [python, -c, \"import six; print('six', six.__version__)\"]}\n"
        "default_task: show\n",
        encoding="utf-8",
    )
    loaded = load_path(recipe)
    # The lock pins six alone (never torch): what the venv resolves and hash-pins is that one package.
    res = Resolution(
        recipe="sixproj", recipe_hash=loaded.hash, profile="modern", python=py, torch="2.13.0",
        pip_specs=["six==1.16.0"], host=HostInfo(),
    )  # fmt: skip
    lock_text = lockmod.dump(lockmod.Lockfile(recipe="sixproj", recipe_hash=loaded.hash, resolution=res))
    ws_a, ws_b = tmp_path / "ws-a", tmp_path / "ws-b"
    ws_a.mkdir()
    (ws_a / "legacyrun.lock").write_text(lock_text, encoding="utf-8")
    up_args = ["--cpu", "--backend", "venv", "--profile", "modern", "--trust"]
    first = run_inproc("up", str(recipe), "-w", str(ws_a), *up_args)
    assert first.exit_code == 0, first.stderr
    assert "six 1.16.0" in first.stdout
    assert (ws_a / ".legacyrun" / "logs" / "build-pip-resolve.log").is_file()  # A resolved
    venv_lock = (ws_a / LOCK_NAME).read_bytes()
    assert b"six==1.16.0" in venv_lock and b"--hash=sha256:" in venv_lock
    out = tmp_path / "sixproj.tar.gz"
    exported = run_inproc("recipe", "export", str(recipe), "-o", str(out), "-w", str(ws_a), "--json")
    assert exported.exit_code == 0, exported.stderr
    assert LOCK_NAME in json.loads(exported.stdout)["members"]

    monkeypatch.setenv("LEGACYRUN_CACHE_DIR", str(tmp_path / "other" / "cache"))
    monkeypatch.setenv("LEGACYRUN_CONFIG_DIR", str(tmp_path / "other" / "config"))
    again = run_inproc("up", str(out), "-w", str(ws_b), *up_args)
    assert again.exit_code == 0, again.stderr
    assert "six 1.16.0" in again.stdout
    assert (ws_b / LOCK_NAME).read_bytes() == venv_lock
    logs = ws_b / ".legacyrun" / "logs"
    assert not (logs / "build-pip-resolve.log").exists(), "B must install the bundle's lock, not resolve again"
    assert (logs / "build-pip.log").is_file()
    # A second `up` of the bundle: the seeded locks are kept, nothing is written.
    assert seed_from_bundle(Workspace.at(ws_b), out).written == []
