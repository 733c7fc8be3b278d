"""Package-index sources against a real simple index on 127.0.0.1: a generated sdist and wheel, JSON and HTML
project pages, sha256 pinning, the reproducible pristine commit, patches on top and the lock entry."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from fetch.fetch_helpers import make_lock, recipe
from support.gitrepos import git
from support.http_server import FileServer

from legacyrun import lock as lockmod
from legacyrun.errors import FetchError
from legacyrun.fetch import fetch_code
from legacyrun.fetch.pypi import PRISTINE_REF, index_urls, parse_project_page
from legacyrun.patching.engine import apply, plan_patches, revert
from legacyrun.patching.target import Target
from legacyrun.recipe.loader import LoadedRecipe, load_path
from legacyrun.workspace import Workspace

FILES = {"demo_pkg/__init__.py": "__version__ = '1.2.0'\n", "demo_pkg/ops.py": "import numpy as np\nX = np.float\n"}


def _sdist() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        # An sdist's own .gitignore must not hide files of the release from the work tree.
        for name, text in {
            **FILES,
            "setup.py": "from setuptools import setup\nsetup()\n",
            ".gitignore": "*.py\n",
            "demo_pkg.egg-info/PKG-INFO": "Name: demo-pkg\n",
        }.items():
            data = text.encode()
            info = tarfile.TarInfo(f"demo-pkg-1.2.0/{name}")
            info.size = len(data)
            info.mtime = 0
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _wheel() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in FILES.items():
            zf.writestr(name, text)
        zf.writestr("demo_pkg-1.2.0.dist-info/METADATA", "Name: demo-pkg\nVersion: 1.2.0\n")
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def index(http_server: FileServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """PEP 691 JSON at /simple/, PEP 503 HTML at /html/; pip's environment points at the JSON one."""
    files = {"demo-pkg-1.2.0.tar.gz": _sdist(), "demo_pkg-1.2.0-py3-none-any.whl": _wheel()}
    entries = []
    for name, data in files.items():
        http_server.put(f"files/{name}", data)
        entries.append({"filename": name, "url": f"../../files/{name}", "hashes": {"sha256": _sha(data)}})
    entries.append({"filename": "demo-pkg-1.1.0.tar.gz", "url": "../../files/old.tar.gz", "hashes": {}})
    http_server.put(
        "simple/demo-pkg/index.json", json.dumps({"meta": {"api-version": "1.0"}, "files": entries}).encode()
    )
    links = "".join(f'<a href="../../files/{n}#sha256={_sha(d)}">{n}</a>' for n, d in files.items())
    http_server.put("html/demo-pkg/index.html", f"<html><body>{links}</body></html>".encode())
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", http_server.url("simple/"))
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    return files


def _recipe_in(folder: Path, kind: str, sha: str) -> LoadedRecipe:
    folder.mkdir(parents=True, exist_ok=True)
    return recipe(folder, sources=[_source(kind, sha)])


def _source(kind: str, sha: str) -> dict[str, object]:
    return {"name": "demo", "pypi": {"name": "demo-pkg", "version": "1.2.0", "kind": kind, "sha256": sha}}


def test_index_urls_follow_pip_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://lab.example/simple\nextra-index-url = https://b.example/s\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    assert index_urls()[-2:] == ["https://lab.example/simple", "https://b.example/s"]
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example/simple")
    assert index_urls()[0] == "https://env.example/simple"


def test_html_page_hashes_and_relative_urls() -> None:
    page = '<a href="../../f/x-1.0.tar.gz#sha256=ABC">x-1.0.tar.gz</a><a href="https://h/y.whl">y.whl</a>'
    [a, b] = parse_project_page(page, "text/html", "https://i.example/simple/x/")
    assert (a.filename, a.url, a.sha256) == ("x-1.0.tar.gz", "https://i.example/f/x-1.0.tar.gz", "abc")
    assert (b.url, b.sha256) == ("https://h/y.whl", None)


@pytest.mark.parametrize("kind", ["sdist", "wheel"])
def test_release_becomes_a_patchable_work_tree(
    tmp_path: Path, http_server: FileServer, index: dict[str, bytes], kind: str
) -> None:
    data = index["demo-pkg-1.2.0.tar.gz" if kind == "sdist" else "demo_pkg-1.2.0-py3-none-any.whl"]
    loaded = recipe(tmp_path, sources=[_source(kind, _sha(data))])
    ws = Workspace.at(tmp_path / "ws")
    make_lock(ws.root, loaded)
    [res] = fetch_code(loaded, ws)
    tree = ws.source_dir("demo")
    assert (tree / "demo_pkg" / "ops.py").read_text() == FILES["demo_pkg/ops.py"]
    assert (tree / "setup.py").exists() == (kind == "sdist")  # the sdist's top folder is stripped
    assert git("rev-parse", "HEAD", cwd=tree) == git("rev-parse", PRISTINE_REF, cwd=tree) == res.commit
    assert git("status", "--porcelain", cwd=tree) == ""  # nothing of the release left untracked
    if kind == "sdist":
        # setuptools' output stays on disk but untracked: a build that rewrites it leaves the tree unedited
        assert (tree / "demo_pkg.egg-info" / "PKG-INFO").exists()
        assert "egg-info" not in git("ls-files", cwd=tree)
        (tree / "demo_pkg.egg-info" / "PKG-INFO").write_text("rewritten by a build\n")
        assert git("status", "--porcelain", cwd=tree) == ""
    lock = lockmod.read(ws.lockfile)
    assert lock.sources == {"demo": res.commit}
    entry = lock.packages["demo"]
    assert (entry.sha256, entry.url, entry.kind) == (_sha(data), res.url, kind)
    assert entry.url is not None and entry.url.startswith(http_server.url("files/"))

    # The same file gives the same commit anywhere (fixed identity and date); the second fetch needs no server.
    ws2 = Workspace.at(tmp_path / "ws2")
    seen = http_server.count()
    [res2] = fetch_code(loaded, ws2)
    assert res2.commit == res.commit and http_server.count() == seen
    [again] = fetch_code(loaded, ws)
    assert again.commit == res.commit and not again.network

    # Patches are commits on top of the pristine release, and revert goes back to it.
    text = (tmp_path / "recipe.yaml").read_text() + (
        "patches:\n  - {id: np-float, kind: regex, source: demo, files: ['**/*.py'], find: 'np\\.float\\b',"
        " replace: 'float', count: 1}\n"
    )
    (tmp_path / "recipe.yaml").write_text(text)
    loaded = load_path(tmp_path / "recipe.yaml")
    result = apply(plan_patches(loaded, ws, Target("modern", "2.1")))
    assert result.sources[0].applied == ["np-float"]
    assert "X = float" in (tree / "demo_pkg" / "ops.py").read_text()
    assert git("rev-parse", "HEAD~1", cwd=tree) == res.commit
    revert(loaded, ws)
    assert git("rev-parse", "HEAD", cwd=tree) == res.commit


def test_html_index_and_wrong_sha_refused(
    tmp_path: Path, http_server: FileServer, index: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", http_server.url("html/"))
    good = _sha(index["demo-pkg-1.2.0.tar.gz"])
    ws = Workspace.at(tmp_path / "ws")
    [res] = fetch_code(recipe(tmp_path, sources=[_source("sdist", good)]), ws)
    assert res.url.endswith("/files/demo-pkg-1.2.0.tar.gz")

    # The index lists another sha256: refused before any download, nothing left in src/.
    wrong = "0" * 64
    with pytest.raises(FetchError, match="the recipe pins 0000") as exc:
        fetch_code(_recipe_in(tmp_path / "b", "sdist", wrong), Workspace.at(tmp_path / "wb"))
    assert "refused" in exc.value.message
    assert not (tmp_path / "wb" / "src" / "demo").exists()

    # An index without hashes: the downloaded bytes are checked instead.
    page = '<a href="../../files/demo-pkg-1.2.0.tar.gz">demo-pkg-1.2.0.tar.gz</a>'
    http_server.put("html/demo-pkg/index.html", page.encode())
    with pytest.raises(FetchError, match="sha256"):
        fetch_code(_recipe_in(tmp_path / "c", "sdist", wrong), Workspace.at(tmp_path / "wc"))
    assert not (tmp_path / "wc" / "src" / "demo").exists()

    # A work tree made from another file is not silently reused.
    with pytest.raises(FetchError, match="was not made from"):
        fetch_code(_recipe_in(tmp_path / "d", "sdist", wrong), ws)


def test_model_git_or_pypi(tmp_path: Path) -> None:
    from legacyrun.errors import RecipeError

    bad = [{"name": "x", "url": "https://e.invalid/x.git", "pypi": _source("sdist", "a" * 64)["pypi"]}]
    with pytest.raises(RecipeError, match="a pypi source has no url"):
        recipe(tmp_path, sources=bad)
    with pytest.raises(RecipeError, match="exact release"):
        recipe(
            tmp_path,
            sources=[{"name": "x", "pypi": {"name": "x", "version": ">=1", "kind": "sdist", "sha256": "a" * 64}}],
        )
