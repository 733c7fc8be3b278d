"""Datasets a repository trains on, from the names its configs list and the datasets its docs describe.

The table (data/datasets.yaml) says how each known dataset is recognised (config dataset names, a docs regex),
where it comes from (a direct URL, or a page to download from by hand), the folder the framework expects and
which smoke generator writes a few tiny samples in that layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

_DATA = Path(__file__).parent / "data" / "datasets.yaml"
_URL_RE = re.compile(r"https?://[^\s)\]>'\"`]+")
_MAX_LINKS = 3


@dataclass(frozen=True)
class KnownDataset:
    id: str
    names: tuple[str, ...]
    docs: str
    dir: str
    kind: str
    about: str
    urls: tuple[str, ...] = ()
    links: tuple[tuple[str, str | None], ...] = ()
    size: int | None = None
    strip_components: int = 0
    smoke: dict[str, Any] | None = None

    def matches(self, config_name: str) -> bool:
        return any(re.search(p, config_name, re.I) for p in self.names)

    def smoke_fits(self, config_name: str) -> bool:
        return self.smoke is not None and any(re.search(p, config_name, re.I) for p in self.smoke["names"])


@cache
def known_datasets() -> tuple[KnownDataset, ...]:
    import yaml

    rows = yaml.safe_load(_DATA.read_text(encoding="utf-8"))
    return tuple(
        KnownDataset(
            id=r["id"],
            names=tuple(r["names"]),
            docs=r["docs"],
            dir=r["dir"],
            kind=r["kind"],
            about=r["about"],
            urls=tuple(r.get("urls", ())),
            links=tuple((link["url"], link.get("site")) for link in r.get("links", ())),
            size=r.get("size"),
            strip_components=int(r.get("strip_components", 0)),
            smoke=r.get("smoke"),
        )
        for r in rows
    )


def for_config_name(name: str) -> KnownDataset | None:
    return next((d for d in known_datasets() if d.matches(name)), None)


@dataclass
class DocMention:
    """Where the docs describe a known dataset, and the download links on those lines."""

    where: str  # FILE:LINE of the first mention
    links: list[str] = field(default_factory=list)


def doc_mentions(root: Path, docs: list[Path]) -> dict[str, DocMention]:
    """Known datasets the docs name: id -> first mention and the links on the lines that name it."""
    out: dict[str, DocMention] = {}
    for path in docs:
        rel = path.relative_to(root).as_posix()
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for no, line in enumerate(lines, 1):
            # each dataset named on the line owns the links up to the next dataset's name ("ICDAR2013([Drive]..)
            # and ICDAR2015([Drive]..)" on one line)
            hits = sorted(
                (m.start(), ds) for ds in known_datasets() for m in [re.search(ds.docs, line)] if m is not None
            )
            for i, (start, ds) in enumerate(hits):
                mention = out.setdefault(ds.id, DocMention(f"{rel}:{no}"))
                end = hits[i + 1][0] if i + 1 < len(hits) else len(line)
                for url in _URL_RE.findall(line[start:end]):
                    url = url.rstrip(".,;:")
                    # links to other repositories or papers are not where the data is
                    if "github.com" in url or "arxiv.org" in url or url in mention.links:
                        continue
                    if len(mention.links) < _MAX_LINKS:
                        mention.links.append(url)
    return out


def _site(url: str) -> str | None:
    for host, site in (
        ("drive.google.com", "Google Drive"),
        ("pan.baidu.com", "Baidu Pan"),
        ("1drv.ms", "OneDrive"),
        ("onedrive", "OneDrive"),
        ("dropbox", "Dropbox"),
    ):
        if host in url:
            return site
    return None


def recipe_entry(
    ds: KnownDataset, dest: str, mention: DocMention | None, *, optional: bool, used_by: list[str]
) -> dict[str, Any]:
    """The recipe's `datasets:` entry for `ds`, unpacked into `dest` (a workspace path)."""
    seen = f"; the docs describe it at {mention.where}" if mention else ""
    uses = f"; used by {', '.join(used_by)}" if used_by else ""
    entry: dict[str, Any] = {"name": ds.id}
    links = [(u, _site(u)) for u in (mention.links if mention else [])]
    if ds.kind == "http" and ds.urls:
        entry.update({"kind": "http", "urls": list(ds.urls)})
        if ds.size:
            entry["size"] = ds.size
        entry["dest"] = dest
        if ds.strip_components:
            entry["strip_components"] = ds.strip_components
        entry["note"] = f"{ds.about}{seen}{uses}; URL from legacyrun's dataset table, no checksum published"
    else:
        known = [(u, s) for u, s in ds.links if u not in {x for x, _ in links}]
        all_links = links + known
        entry.update({"kind": "manual", "dest": dest})
        entry["instructions"] = (
            f"{ds.about}. Put it here so that the folders above are directly inside this one{seen}{uses}."
        )
        if all_links:
            entry["links"] = [{"url": u, **({"site": s} if s else {})} for u, s in all_links[:_MAX_LINKS]]
    if optional:
        entry["optional"] = True
    return entry


__all__ = ["DocMention", "KnownDataset", "doc_mentions", "for_config_name", "known_datasets", "recipe_entry"]
