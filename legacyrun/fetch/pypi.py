"""Sources from a package index: one release file (sdist or wheel) pinned by sha256, made into a git work tree.

1. The file comes from the download cache when its sha256 is there (no network). Otherwise the index pip is
   configured with (PIP_INDEX_URL / PIP_EXTRA_INDEX_URL, then pip's config files; PyPI by default; `--mirror`
   rules rewrite it) is asked through the simple API (PEP 691 JSON, or the PEP 503 HTML page) for the file's
   URL. A file whose sha256 differs from the recipe's is refused, whether the index says so or the bytes do.
2. The archive is unpacked with the safe extractor (fetch/archive.py; an sdist loses its `NAME-VERSION/` top
   folder) into a temp folder beside `src/<name>`, committed once with the patch engine's fixed identity and date,
   so the same file gives the same commit everywhere, and only then renamed into place. The commit (the pristine
   release) is also kept as `refs/legacyrun/pristine`; patches are commits on top of it, as for a git source.
"""

from __future__ import annotations

import configparser
import html.parser
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from legacyrun.errors import FetchError, PatchError
from legacyrun.fetch import cache
from legacyrun.fetch.archive import detect_format, extract
from legacyrun.fetch.http import download
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.fetch.progress import Progress
from legacyrun.fetch.release import PRISTINE_REF, SHA_KEY, existing_release, pinned_commit
from legacyrun.gitcli import GitRepo
from legacyrun.recipe.models import PypiRelease

DEFAULT_INDEX = "https://pypi.org/simple/"
_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"


@dataclass(frozen=True)
class IndexFile:
    """One file an index lists for a project."""

    filename: str
    url: str
    sha256: str | None


@dataclass(frozen=True)
class PypiResult:
    """What fetching one package source did."""

    name: str
    filename: str
    url: str  # where the file came from ("" when the cache had it and the index was not asked)
    sha256: str
    commit: str
    path: Path
    network: bool
    seconds: float


# --- which index ----------------------------------------------------------------------------------------------


def _pip_config_files() -> list[Path]:
    """pip's configuration files, lowest priority first (global, user, site, PIP_CONFIG_FILE)."""
    xdg = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    files = [Path(d) / "pip" / "pip.conf" for d in reversed(xdg) if d] + [Path("/etc/pip.conf")]
    home = Path.home()
    files += [
        home / ".pip" / "pip.conf",
        Path(os.environ.get("XDG_CONFIG_HOME", home / ".config")) / "pip" / "pip.conf",
    ]
    if os.environ.get("VIRTUAL_ENV"):
        files.append(Path(os.environ["VIRTUAL_ENV"]) / "pip.conf")
    if os.environ.get("PIP_CONFIG_FILE") and os.environ["PIP_CONFIG_FILE"] != os.devnull:
        files.append(Path(os.environ["PIP_CONFIG_FILE"]))
    return files


def index_urls() -> list[str]:
    """The index pip would use, then its extra indexes: environment over config files over PyPI."""
    index: str | None = None
    extra: list[str] = []
    if os.environ.get("PIP_CONFIG_FILE") != os.devnull:
        for path in _pip_config_files():
            parser = configparser.RawConfigParser()
            try:
                parser.read(path, encoding="utf-8")
            except (OSError, configparser.Error):
                continue
            # `download` is the pip command closest to what this does; [global] is the fallback.
            for section in ("global", "download"):
                if parser.has_option(section, "index-url"):
                    index = parser.get(section, "index-url").strip()
                if parser.has_option(section, "extra-index-url"):
                    extra = parser.get(section, "extra-index-url").split()
    index = os.environ.get("PIP_INDEX_URL", index) or DEFAULT_INDEX
    if "PIP_EXTRA_INDEX_URL" in os.environ:
        extra = os.environ["PIP_EXTRA_INDEX_URL"].split()
    return [index, *[e for e in extra if e != index]]


# --- the simple API -------------------------------------------------------------------------------------------


class _Anchors(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or None
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def parse_project_page(body: str, content_type: str, page_url: str) -> list[IndexFile]:
    """The files of a PEP 691 JSON or PEP 503 HTML project page (URLs made absolute, sha256 when listed)."""
    files: list[IndexFile] = []
    if "json" in content_type:
        for entry in json.loads(body).get("files", []):
            files.append(
                IndexFile(entry["filename"], urljoin(page_url, entry["url"]), entry.get("hashes", {}).get("sha256"))
            )
        return files
    parser = _Anchors()
    parser.feed(body)
    for href, text in parser.links:
        url, _, fragment = urljoin(page_url, href).partition("#")
        algo, _, digest = fragment.partition("=")
        name = text or url.rstrip("/").rsplit("/", 1)[-1]
        files.append(IndexFile(name, url, digest.lower() if algo == "sha256" and digest else None))
    return files


def _project_page(index: str, project: str, timeout: float) -> list[IndexFile]:
    page = index.rstrip("/") + f"/{canonicalize_name(project)}/"
    if page.startswith("file://"):
        folder = Path(urlsplit(page).path)
        listing = folder / "index.html"
        if listing.is_file():
            return parse_project_page(listing.read_text(encoding="utf-8"), "text/html", listing.as_uri())
        if folder.is_dir():
            return [IndexFile(p.name, p.as_uri(), None) for p in sorted(folder.iterdir()) if p.is_file()]
        raise FetchError(f"{page}: no such project page")
    import requests

    try:
        resp = requests.get(page, headers={"Accept": _ACCEPT}, timeout=timeout)
    except requests.RequestException as exc:
        raise FetchError(f"{page}: {type(exc).__name__}") from None
    if resp.status_code != 200:
        raise FetchError(f"{page}: HTTP {resp.status_code}")
    return parse_project_page(resp.text, resp.headers.get("Content-Type", "text/html"), resp.url or page)


def _matches(release: PypiRelease, filename: str) -> bool:
    if release.filename is not None:
        return filename == release.filename
    name, version = canonicalize_name(release.name), Version(release.version)
    if release.kind == "wheel":
        try:
            wname, wver, _build, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return False
        # Only a pure-Python wheel is a source tree; a platform wheel needs `filename`.
        return wname == name and wver == version and any(t.abi == "none" and t.platform == "any" for t in tags)
    try:
        sname, sver = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        return False
    return sname == name and sver == version


def find_file(release: PypiRelease, indexes: list[str], *, timeout: float = 30.0) -> IndexFile:
    """The release file on the first index that lists it; a listed sha256 that differs is refused here."""
    failures: list[str] = []
    for index in indexes:
        try:
            listed = _project_page(index, release.name, timeout)
        except FetchError as exc:
            failures.append(str(exc))
            continue
        hits = [f for f in listed if _matches(release, f.filename)]
        if not hits:
            failures.append(f"{index}: no {release.kind} of {release.name} {release.version}")
            continue
        if len(hits) > 1:
            names = ", ".join(sorted(h.filename for h in hits))
            raise FetchError(
                f"{release.name} {release.version}: several {release.kind} files ({names}); name one with `filename`"
            )
        hit = hits[0]
        if hit.sha256 is not None and hit.sha256 != release.sha256:
            raise FetchError(
                f"{hit.filename}: the index lists sha256 {hit.sha256}, the recipe pins {release.sha256}; refused "
                "(a re-uploaded or different file)"
            )
        return hit
    raise FetchError(f"{release.name}=={release.version} ({release.kind}) not found: " + "; ".join(failures))


# --- the work tree --------------------------------------------------------------------------------------------


def _import(archive: Path, filename: str, release: PypiRelease, tmp: Path) -> str:
    """Unpack into `tmp` and commit it as the pristine release; returns the commit."""
    fmt = detect_format(filename)
    if fmt is None and filename.endswith(".whl"):
        fmt = "zip"
    if fmt is None:
        raise FetchError(f"{filename}: not an archive legacyrun can unpack")
    # An sdist has one NAME-VERSION/ folder on top; a wheel has the package folders themselves.
    extract(archive, tmp, fmt=fmt, strip_components=1 if release.kind == "sdist" else 0, label=filename)
    repo = GitRepo(tmp)
    repo.run("init", "-q")
    repo.run("config", SHA_KEY, release.sha256)
    # -f: an sdist's own .gitignore (build/, *.egg-info) must not drop files of the release.
    repo.run("add", "-A", "-f", ".")
    # Except setuptools' own output: every build rewrites an sdist's *.egg-info, which would make the tree look
    # edited (and its native build step's key change) after each build. It stays on disk, untracked and ignored.
    generated = sorted(p.name for p in tmp.glob("*.egg-info") if p.is_dir())
    if generated:
        repo.run("rm", "-r", "-q", "--cached", *generated)
        exclude = tmp / ".git" / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with exclude.open("a", encoding="utf-8") as fh:
            fh.write("".join(f"/{name}/\n" for name in generated))
    # The message names the content (not the file name, which a cache hit only guesses): same file, same commit.
    message = f"{release.name} {release.version} {release.kind} sha256:{release.sha256} (pristine)"
    repo.run("commit", "-q", "--allow-empty", "-m", message)
    commit = repo.out("rev-parse", "HEAD").strip()
    repo.run("update-ref", PRISTINE_REF, commit)
    repo.run("checkout", "-q", "--detach", commit)
    return commit


def _cached_name(release: PypiRelease, cached: Path) -> str:
    """A file name for a cached release file, so a second fetch needs no index: the name only picks the unpacker."""
    import zipfile

    stem = f"{release.name}-{release.version}"
    if release.kind == "wheel":
        return f"{stem}-py3-none-any.whl"
    return f"{stem}.zip" if zipfile.is_zipfile(cached) else f"{stem}.tar.gz"


def fetch_pypi_source(
    name: str, release: PypiRelease, target: Path, *, mirrors: Mirrors, progress: Progress
) -> PypiResult:
    """Get the release file into `target` as a git work tree at its pristine commit, verified by sha256."""
    started = time.monotonic()
    if target.exists():
        commit = existing_release(target, release.sha256)
        if commit is not None:
            return PypiResult(name, release.filename or "", "", release.sha256, commit, target, False, 0.0)
        raise FetchError(
            f"{target} exists but was not made from {release.name} {release.version} (sha256 {release.sha256[:12]}); "
            "move it away (or delete it) and rerun"
        )
    url = ""
    cached = cache.lookup(release.sha256)
    filename = release.filename or (_cached_name(release, cached) if cached is not None else "")
    if cached is None:
        hit = find_file(release, [u for index in index_urls() for u in mirrors.rewrite(index)])
        filename, url = hit.filename, hit.url
    if cached is None:
        key = f"code:{name}"
        progress.start(key, f"{release.kind} {filename}", None)
        try:
            part = cache.partial_path(cache.partial_key(release.sha256), filename)
            part.parent.mkdir(parents=True, exist_ok=True)
            got = download(mirrors.rewrite(url), part, expected_sha256=release.sha256, progress=progress, key=key)
        finally:
            progress.finish(key)
        url = got.url
        cached = cache.adopt(got.path, got.sha256, move=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        commit = _import(cached, filename, release, tmp)
        os.replace(tmp, target)
    except PatchError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise FetchError(f"source {name}: {exc.message}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PypiResult(name, filename, url, release.sha256, commit, target, bool(url), time.monotonic() - started)


__all__ = [
    "DEFAULT_INDEX",
    "PRISTINE_REF",
    "IndexFile",
    "PypiResult",
    "existing_release",
    "fetch_pypi_source",
    "find_file",
    "index_urls",
    "parse_project_page",
    "pinned_commit",
]
