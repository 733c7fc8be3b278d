"""Whether a dataset is in place: per dataset, from its own completion record checked against the disk.

"dest exists" is not enough: two datasets may share a folder (MaskTextSpotter's R-50 weights and its finetuned
model both go to weights/masktextspotter), or one's dest may lie inside another's, so fetching one would make the
other look present. Instead:

- a fetched dataset (any kind, manual ones through `fetch --from`) is present when its step record
  `fetch-data:<name>` describes the current recipe entry (`content_key`), every path it placed still exists,
  no dataset fetched later placed the same path (extraction replaces an entry of the same name), and the lock,
  when it records content ids for the dataset, agrees with the record;
- a manual dataset never fetched through legacyrun (a person unpacked it) is present when its dest holds
  something that no other dataset's record placed and that is not a tracked file of a source tree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from legacyrun import gitcli
from legacyrun.fetch.record import data_inputs_hash, locked_files
from legacyrun.fsutil import sha256_text
from legacyrun.recipe.models import Dataset
from legacyrun.workspace import Workspace

STEP_PREFIX = "fetch-data:"
# Fields that change what ends up on disk; editing the others (note, instructions, size, optional) keeps a
# fetched dataset present.
_CONTENT_FIELDS = ("kind", "urls", "filename", "sha256", "dest", "extract", "strip_components", "files", "post")


def content_key(ds: Dataset) -> str:
    data = ds.model_dump(mode="json", by_alias=True)
    return sha256_text(json.dumps({k: data.get(k) for k in _CONTENT_FIELDS}, sort_keys=True, separators=(",", ":")))


def _claims(ws: Workspace, outputs: dict[str, Any], dest: str | None = None) -> list[Path]:
    """The absolute paths a record says its dataset placed."""
    where = dest or outputs.get("dest")
    if not isinstance(where, str):
        return []
    try:
        base = ws.resolve_inside(where)
    except ValueError:
        return []
    return [base / p for p in outputs.get("paths") or [] if isinstance(p, str)]


def _covers(claim: Path, path: Path) -> bool:
    """`path` is `claim` or lies inside it."""
    return path == claim or claim in path.parents


def _other_records(ws: Workspace, name: str) -> list[dict[str, Any]]:
    state = ws.read_state()
    return [
        rec
        for step, rec in sorted(state.items())
        if step.startswith(STEP_PREFIX) and step != STEP_PREFIX + name and isinstance(rec, dict)
    ]


def record_present(ws: Workspace, ds: Dataset, rec: dict[str, Any]) -> bool:
    """The dataset's own record still describes what is on disk (see the module docstring)."""
    out: dict[str, Any] = rec.get("outputs") or {}
    if "content" in out:
        if out["content"] != content_key(ds):
            return False
    # A record written before content keys existed.
    elif rec.get("inputs_hash") != data_inputs_hash(ds):
        return False
    files: dict[str, str] = out.get("files") or {}
    mine = _claims(ws, out, ds.dest)
    if not files or not all(p.exists() or p.is_symlink() for p in mine):
        return False
    if not mine and not ws.resolve_inside(ds.dest).is_dir():
        return False  # nothing placed to check (an empty archive): the folder at least
    locked = locked_files(ws, ds.name)
    if locked and locked != files:
        return False
    finished = float(rec.get("finished_at") or 0.0)
    for other in _other_records(ws, ds.name):
        if float(other.get("finished_at") or 0.0) <= finished:
            continue
        theirs = _claims(ws, other.get("outputs") or {})
        if any(_covers(t, m) for t in theirs for m in mine):
            return False  # a later fetch replaced what this one placed
    return True


def _tracked(folder: Path, ws: Workspace) -> set[Path] | None:
    """Files git tracks under `folder` when it lies in a source tree of the workspace (None otherwise)."""
    src = ws.src.resolve()
    if src not in folder.parents:
        return None
    tree = src / folder.relative_to(src).parts[0]
    if not (tree / ".git").exists():
        return None
    files = gitcli.tracked_files(tree, [str(folder)])
    return None if files is None else {tree / rel for rel in files}


def _unclaimed(folder: Path, claims: list[Path], tracked: set[Path] | None) -> bool:
    """`folder` holds an entry that no claim covers (and that is not a tracked source file)."""
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".legacyrun"):
            continue  # an interrupted extraction's temp folder
        if any(_covers(c, entry) for c in claims) or (tracked is not None and entry in tracked):
            continue
        partly = any(entry in c.parents for c in claims) or (
            tracked is not None and any(entry in t.parents for t in tracked)
        )
        if partly and entry.is_dir() and not entry.is_symlink():
            if _unclaimed(entry, claims, tracked):
                return True
            continue
        return True
    return False


def placed_by_hand(ws: Workspace, ds: Dataset) -> bool:
    """A manual dataset's dest holds something no other dataset placed (a person unpacked it there)."""
    dest = ws.resolve_inside(ds.dest)
    if not dest.is_dir():
        return False
    claims = [c for rec in _other_records(ws, ds.name) for c in _claims(ws, rec.get("outputs") or {})]
    if any(_covers(c, dest) for c in claims):
        return False
    return _unclaimed(dest, claims, _tracked(dest, ws))


def dataset_present(ws: Workspace, ds: Dataset) -> bool:
    """Whether `ds` is in place in the workspace (the `up` data step's and `status`'s check)."""
    rec = ws.step_record(STEP_PREFIX + ds.name)
    if rec is not None:
        return record_present(ws, ds, rec)
    return ds.kind == "manual" and placed_by_hand(ws, ds)


def datasets_present(ws: Workspace, datasets: Iterable[Dataset]) -> bool:
    return all(dataset_present(ws, ds) for ds in datasets)


__all__ = ["content_key", "dataset_present", "datasets_present", "placed_by_hand", "record_present"]
