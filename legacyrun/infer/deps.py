"""Repositories a project's install docs clone or pip-install from git (detectron2, maskrcnn-benchmark, mmcv, ...).

Each known one (data/dependencies.yaml) becomes a recipe source with its build step, a pip requirement, or a note;
its commit is the one current at the project's commit date, read from the repository through the user's mirrors
(`--mirror`, LEGACYRUN_MIRRORS, config): the newest release tag out then for projects that publish releases,
otherwise `git rev-list -1 --before=DATE`. A repository nobody can reach stays out of the recipe with a TODO.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from legacyrun import gitcli
from legacyrun.fetch.mirrors import Mirrors

_DATA = Path(__file__).parent / "data" / "dependencies.yaml"
# git clone https://github.com/o/n(.git), git@github.com:o/n.git, pip install git+https://github.com/o/n.git@x
_URL_RE = re.compile(
    r"(?:https?://|git@|git\+https?://|git://)github\.com[/:]([\w.-]+)/([\w.-]+?)(?:\.git)?(?=[\s/@#'\")]|$)"
)
_TAG_RE = re.compile(r"^v?\d+(?:\.\d+)+$")


@dataclass(frozen=True)
class Known:
    name: str
    repos: tuple[str, ...]
    url: str
    pin: str  # tag | commit
    kind: str  # source | pip | note
    build: dict[str, Any]
    pypi: str | None
    why: str


@dataclass
class Dependency:
    """One dependency found in the docs: `where` is FILE:LINE; `commit`/`ref` when it could be pinned."""

    known: Known
    where: str
    commit: str | None = None
    ref: str | None = None
    todo: str | None = None
    # its setup.py's install_requires at `commit` (with its own specifiers): the recipe lists them, so they are
    # resolved and hash-pinned at lock time with the rest and its pip build step runs with --no-deps
    install_requires: list[str] = field(default_factory=list)
    # the catalog's findings in its tree at `commit` (what `scan` returned): the scaffold makes them its own patch
    findings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DepsResult:
    deps: list[Dependency] = field(default_factory=list)
    unknown: list[tuple[str, str]] = field(default_factory=list)  # (owner/name, where)


@cache
def known_table() -> tuple[Known, ...]:
    import yaml

    rows = yaml.safe_load(_DATA.read_text(encoding="utf-8"))
    return tuple(
        Known(
            name=r["name"],
            repos=tuple(x.lower() for x in r["repos"]),
            url=r["url"],
            pin=r["pin"],
            kind=r["as"],
            build=dict(r.get("build") or {}),
            pypi=r.get("pypi"),
            why=r["why"],
        )
        for r in rows
    )


_INSTALL_REQUIRES = re.compile(r"\binstall_requires\s*=\s*\[(.*?)\]", re.S)


def install_requires(setup_text: str) -> list[str]:
    """The string items of setup.py's literal `install_requires=[...]` list (comments skipped), in order."""
    m = _INSTALL_REQUIRES.search(setup_text)
    if not m:
        return []
    out: list[str] = []
    for line in m.group(1).splitlines():
        code = line.split("#", 1)[0]
        for dq, sq in re.findall(r""""([^"]*)"|'([^']*)'""", code):
            if (dq or sq).strip():
                out.append((dq or sq).strip())
    return out


def pin_at_date(url: str, date: str, pin: str, mirrors: Mirrors) -> tuple[str, str] | None:
    """(commit, 'tag v0.6 (2021-10-25)' or 'main on DATE') current at `date`, or None when no mirror answers."""
    got = _pin_and_read(url, date, pin, mirrors)
    return None if got is None else (got[0], got[1])


Scan = Callable[[Path], list[dict[str, Any]]]


def _pin_and_read(
    url: str, date: str, pin: str, mirrors: Mirrors, scan: Scan | None = None
) -> tuple[str, str, str | None, list[dict[str, Any]]] | None:
    """pin_at_date plus the text of setup.py at that commit (None when it has none) and, with `scan`, what it
    finds in the tree at that commit (checked out into a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="legacyrun-dep-") as tmp:
        repo = Path(tmp) / "repo.git"
        for cand in mirrors.rewrite(url):
            extra = ["--filter=blob:none"] if cand.startswith(("http://", "https://")) else []
            if gitcli.run(["clone", "--bare", "--quiet", *extra, cand, str(repo)]).ok:
                break
        else:
            return None
        if pin == "tag":
            refs = (
                gitcli.output(
                    [
                        "for-each-ref",
                        "--sort=-creatordate",
                        "--format=%(refname:short) %(creatordate:short)",
                        "refs/tags",
                    ],
                    cwd=repo,
                )
                or ""
            )
            for line in refs.splitlines():
                tag, _, when = line.partition(" ")
                if _TAG_RE.match(tag) and when <= date:
                    sha = gitcli.rev_parse(repo, tag)
                    if sha:
                        why = f"release {tag} ({when}), the newest out on {date}"
                        return sha, why, _setup_at(repo, sha), _scan_at(repo, sha, scan)
        sha = gitcli.output(["rev-list", "-1", f"--before={date}T23:59:59", "HEAD"], cwd=repo)
        if sha:
            return sha, f"the default branch on {date}", _setup_at(repo, sha), _scan_at(repo, sha, scan)
    return None


def _setup_at(repo: Path, sha: str) -> str | None:
    return gitcli.output(["show", f"{sha}:setup.py"], cwd=repo)


def _scan_at(repo: Path, sha: str, scan: Scan | None) -> list[dict[str, Any]]:
    if scan is None:
        return []
    tree = repo.parent / "tree"
    tree.mkdir()
    if not gitcli.run(["--git-dir", str(repo), "--work-tree", str(tree), "checkout", "-q", "-f", sha, "--", "."]).ok:
        return []
    return scan(tree)


def find_dependencies(
    root: Path,
    docs: list[Path],
    own_url: str,
    date: str | None,
    mirrors: Mirrors | None = None,
    scan: Scan | None = None,
) -> DepsResult:
    """Known dependencies the docs clone or pip-install from git, each pinned at `date` where a mirror answers;
    `scan(tree)` runs on the tree of each one that becomes a source."""
    mirrors = mirrors if mirrors is not None else Mirrors.from_environment()
    own = _URL_RE.search(own_url)
    own_key = f"{own.group(1)}/{own.group(2)}".lower() if own else ""
    by_repo = {repo: k for k in known_table() for repo in k.repos}
    res = DepsResult()
    seen: set[str] = set()
    for path in docs:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for no, line in enumerate(lines, 1):
            if not re.search(r"\bgit\s+clone\b|\bpip\d?\s+install\b[^\n]*git\+", line):
                continue
            for m in _URL_RE.finditer(line):
                key = f"{m.group(1)}/{m.group(2)}".lower()
                where = f"{path.relative_to(root).as_posix()}:{no}"
                if key == own_key or key.split("/")[1] == own_key.split("/")[-1] or key in seen:
                    continue
                seen.add(key)
                known = by_repo.get(key)
                if known is None:
                    res.unknown.append((key, where))
                    continue
                dep = Dependency(known, where)
                # a PyPI package (pycocotools for cocoapi) needs no commit: pip resolves it like the others
                if known.kind == "source" or (known.kind == "pip" and not known.pypi):
                    if date is None:
                        dep.todo = f"{where}: {known.name} is cloned here; no commit date to pin it at"
                    else:
                        got = _pin_and_read(
                            known.url, date, known.pin, mirrors, scan if known.kind == "source" else None
                        )
                        if got is None:
                            dep.todo = (
                                f"{where}: {known.name} ({known.url}) could not be read through any mirror; "
                                "add it as a source at the commit current on " + date
                            )
                        else:
                            dep.commit, dep.ref, setup_text, dep.findings = got
                            if known.kind == "source" and _pip_build(known.build):
                                dep.install_requires = install_requires(setup_text or "")
                res.deps.append(dep)
    return res


def _pip_build(build: dict[str, Any]) -> bool:
    """A build step that pip-installs the tree (and so would resolve its install_requires at build time)."""
    argv = [str(a) for a in build.get("argv") or []]
    return "pip" in argv and "install" in argv


__all__ = [
    "Dependency",
    "DepsResult",
    "Known",
    "find_dependencies",
    "install_requires",
    "known_table",
    "pin_at_date",
]
