"""Export bundles: one .tar.gz with a recipe, its patches and the workspace's locks, to hand to a colleague.

Layout inside the tarball (so that legacyrun.recipe.refs.patches_dir_for() finds the patches beside the recipe):

    manifest.json              bundle format, legacyrun version, recipe name + hash, sha256 and size per member
    recipes/<name>.yaml        the recipe, byte for byte
    patches/<name>/...         the recipe's unified diffs (LoadedRecipe.patches_dir)
    legacyrun.lock             the workspace lock, when there is one
    conda-lock.yml             the conda lock, when there is one
    requirements.lock.txt      the venv backend's hash-pinned requirements, when there is one

The tarball is deterministic: members sorted, mtime 0, uid/gid 0, no user names, fixed modes, gzip without a
timestamp or file name; exporting the same inputs twice gives the same bytes (and the same sha256).

Opening a bundle extracts it, after checking every member's name and type and its sha256 against the manifest,
into cache_dir()/bundles/<sha256 of the tarball>/, via a temp folder and a rename. `up BUNDLE.tar.gz` seeds the new
workspace with every lock the bundle carries (seed_from_bundle), so each backend installs exactly that set.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from legacyrun import __version__
from legacyrun.errors import FetchError, LockError, UsageError
from legacyrun.fetch.archive import Limits, extract
from legacyrun.fsutil import atomic_write_bytes, atomic_write_text, sha256_file
from legacyrun.invocation import command
from legacyrun.lock import LOCK_VERSION, Lockfile
from legacyrun.recipe.loader import LoadedRecipe, load_path
from legacyrun.recipe.refs import RecipeRef
from legacyrun.userdirs import cache_dir
from legacyrun.workspace import Workspace

BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
LOCK_MEMBER = "legacyrun.lock"
CONDA_LOCK_MEMBER = "conda-lock.yml"
VENV_LOCK_MEMBER = "requirements.lock.txt"  # the venv backend's hash-pinned closure (backends/venv.py LOCK_NAME)
_FILE_MODE = 0o644
_MAX_MEMBER_BYTES = 256 << 20  # a bundle holds text; anything huge is a mistake or an attack


class BundleError(UsageError):
    """A bundle that is damaged, tampered with or unsafe to extract (exit 2, like any bad input file)."""


@dataclass(frozen=True)
class ExportResult:
    """What `recipe export` wrote."""

    path: Path
    sha256: str
    recipe: str
    members: dict[str, str]  # member name -> sha256
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "recipe": self.recipe,
            "members": self.members,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class OpenedBundle:
    """An extracted bundle."""

    root: Path
    sha256: str
    manifest: dict[str, object]
    recipe_path: Path
    lock_text: str | None
    conda_lock_text: str | None
    venv_lock_text: str | None = None


# --- safe extraction (shared with http recipe sources) --------------------------------------------------------


def safe_extract_tar(archive: Path, dest: Path, *, display: str | None = None) -> list[str]:
    """Extract regular files and folders only (no links, devices, absolute or climbing names) into `dest`, through
    the one extractor (legacyrun/fetch/archive.py) with its limits; its refusals become BundleError (exit 2).

    Returns the file names extracted. `dest` should be a fresh temp folder; the caller renames it into place.
    """
    shown = display or str(archive)
    limits = Limits(max_bytes=_MAX_MEMBER_BYTES, max_members=100_000, files_only=True)
    try:
        extract(archive, dest, fmt="tar", label=shown, limits=limits)
    except FetchError as exc:
        message = exc.message.replace("climbs out of the destination", "would be written outside the extraction folder")
        raise BundleError(message.replace("not a valid tar archive", "not a readable .tar.gz")) from None
    names = []
    for path in sorted(dest.rglob("*")):
        if path.is_file() and not path.is_symlink():
            os.chmod(path, _FILE_MODE)
            names.append(path.relative_to(dest).as_posix())
    return names


# --- export ---------------------------------------------------------------------------------------------------


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    """A deterministic .tar.gz of `members` (sorted; fixed metadata)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = _FILE_MODE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_bundle(loaded: LoadedRecipe, output: Path, *, workspace: Path | None = None) -> ExportResult:
    """Write `output` (.tar.gz) with the recipe, its patches and the workspace's locks (when present)."""
    if not output.name.endswith(".tar.gz"):
        raise UsageError(f"export file must end in .tar.gz: {output}")
    name = loaded.recipe.name
    notes: list[str] = []
    members: dict[str, bytes] = {f"recipes/{name}.yaml": loaded.text.encode("utf-8")}
    patches = loaded.patches_dir
    if patches.is_dir():
        for path in sorted(patches.rglob("*")):
            if path.is_file() and not path.is_symlink():
                members[f"patches/{name}/{path.relative_to(patches).as_posix()}"] = path.read_bytes()
    lock_info: dict[str, object] | None = None
    if workspace is not None:
        ws = Workspace.at(workspace)
        # Every lock a backend wrote travels: the bundle reproduces the environment, not only the pins.
        locks = (
            (LOCK_MEMBER, ws.lockfile),
            (CONDA_LOCK_MEMBER, ws.conda_lockfile),
            (VENV_LOCK_MEMBER, ws.root / VENV_LOCK_MEMBER),
        )
        for member, path in locks:
            if path.is_file():
                members[member] = path.read_bytes()
        if LOCK_MEMBER in members:
            lock_info = _check_lock(members[LOCK_MEMBER], f"{ws.lockfile}")
            if lock_info.get("recipe_hash") != loaded.hash:
                notes.append(
                    f"{ws.lockfile} was made from another version of recipe {name} (recipe_hash differs); "
                    f"run `{command('lock', name)}` first if the bundle should match the recipe"
                )
        else:
            notes.append(f"no legacyrun.lock in {ws.root}: the bundle carries the recipe only")
    manifest: dict[str, object] = {
        "bundle_version": BUNDLE_VERSION,
        "legacyrun_version": __version__,
        "recipe": name,
        "recipe_hash": loaded.hash,
        "schema_version": loaded.recipe.schema_version,
        "lock": lock_info,
        "members": {m: {"sha256": _sha(d), "size": len(d)} for m, d in sorted(members.items())},
    }
    members[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    data = _tar_bytes(members)
    atomic_write_bytes(output, data)
    return ExportResult(
        path=output,
        sha256=_sha(data),
        recipe=name,
        members={m: _sha(d) for m, d in sorted(members.items())},
        notes=notes,
    )


def _check_lock(data: bytes, display: str) -> dict[str, object]:
    """The lock must be a lockfile this legacyrun reads; returns the few fields the manifest repeats."""
    import yaml
    from pydantic import ValidationError

    try:
        parsed = yaml.safe_load(data.decode("utf-8"))
        lock = Lockfile.model_validate(parsed)
    except (UnicodeDecodeError, yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise LockError(f"{display}: not a valid legacyrun lockfile: {first}") from None
    if lock.lock_version != LOCK_VERSION:
        raise LockError(f"{display}: lock_version {lock.lock_version} is not supported")
    res = lock.resolution
    return {
        "recipe_hash": lock.recipe_hash,
        "profile": res.profile,
        "python": res.python,
        "torch": res.torch,
        "cuda": res.cuda,
    }


# --- open -----------------------------------------------------------------------------------------------------


def bundles_dir() -> Path:
    return cache_dir() / "bundles"


def _verify(root: Path, files: list[str], display: str) -> dict[str, object]:
    if MANIFEST not in files:
        raise BundleError(f"{display}: no {MANIFEST}; not a legacyrun bundle")
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{display}: {MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("bundle_version") != BUNDLE_VERSION:
        raise BundleError(f"{display}: bundle_version {manifest.get('bundle_version')!r} is not supported")
    listed = manifest.get("members")
    if not isinstance(listed, dict):
        raise BundleError(f"{display}: {MANIFEST} has no members table")
    present = set(files) - {MANIFEST}
    if present != set(listed):
        extra = sorted(present - set(listed)) + sorted(set(listed) - present)
        raise BundleError(f"{display}: members do not match the manifest: {', '.join(extra)}")
    for member in sorted(present):
        allowed = member in (LOCK_MEMBER, CONDA_LOCK_MEMBER, VENV_LOCK_MEMBER) or member.startswith(
            ("recipes/", "patches/")
        )
        if not allowed:
            raise BundleError(f"{display}: unexpected member {member!r}")
        entry = listed[member]
        if not isinstance(entry, dict) or sha256_file(root / member) != entry.get("sha256"):
            raise BundleError(f"{display}: {member} does not match its sha256 in the manifest (damaged bundle?)")
    return manifest


def open_bundle_full(path: Path) -> OpenedBundle:
    """Extract (once per bundle content) and verify a bundle; see open_bundle."""
    display = str(path)
    if not path.is_file():
        raise UsageError(f"bundle not found: {path}")
    digest = sha256_file(path)
    final = bundles_dir() / digest
    if not (final / MANIFEST).is_file():
        bundles_dir().mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}.", dir=bundles_dir()))
        try:
            files = safe_extract_tar(path, tmp, display=display)
            _verify(tmp, files, display)
            try:
                os.replace(tmp, final)
            except OSError:
                # Another process extracted the same bundle first; its copy is identical.
                if not (final / MANIFEST).is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    files = [p.relative_to(final).as_posix() for p in final.rglob("*") if p.is_file()]
    manifest = _verify(final, files, display)
    recipes = sorted(f for f in files if f.startswith("recipes/") and f.count("/") == 1 and f.endswith(".yaml"))
    if len(recipes) != 1:
        raise BundleError(f"{display}: expected exactly one recipes/<name>.yaml, found {len(recipes)}")
    texts: dict[str, str | None] = {}
    for member in (LOCK_MEMBER, CONDA_LOCK_MEMBER, VENV_LOCK_MEMBER):
        p = final / member
        texts[member] = p.read_bytes().decode("utf-8") if p.is_file() else None
    if texts[LOCK_MEMBER] is not None:
        _check_lock((final / LOCK_MEMBER).read_bytes(), f"{display}!{LOCK_MEMBER}")
    return OpenedBundle(
        root=final,
        sha256=digest,
        manifest=manifest,
        recipe_path=final / recipes[0],
        lock_text=texts[LOCK_MEMBER],
        conda_lock_text=texts[CONDA_LOCK_MEMBER],
        venv_lock_text=texts[VENV_LOCK_MEMBER],
    )


def bundle_origin(digest: str) -> str:
    return f"bundle:{digest[:12]}"


def open_bundle(path: Path) -> tuple[LoadedRecipe, str | None, str | None]:
    """(recipe, legacyrun.lock text or None, conda-lock.yml text or None) of an exported bundle."""
    opened = open_bundle_full(Path(path))
    loaded = load_path(opened.recipe_path, origin=bundle_origin(opened.sha256))
    return loaded, opened.lock_text, opened.conda_lock_text


def find_bundle(spec: str) -> RecipeRef:
    """The registry's hook: RECIPE given as a path ending .tar.gz is the recipe inside that bundle."""
    opened = open_bundle_full(Path(spec).expanduser())
    return RecipeRef(opened.recipe_path.stem, opened.recipe_path, bundle_origin(opened.sha256))


# --- seeding a workspace --------------------------------------------------------------------------------------

SEED_STEP = "bundle-lock"


@dataclass(frozen=True)
class SeedResult:
    """Which lock files seed_workspace_lock wrote, and which it left as they were."""

    written: list[str]
    kept: list[str]


def seed_workspace_lock(
    ws: Workspace,
    lock_text: str | None,
    conda_lock_text: str | None,
    *,
    venv_lock_text: str | None = None,
    replace: bool = False,
) -> SeedResult:
    """Put a bundle's locks into a workspace so the next steps reproduce exactly that lock: legacyrun.lock for the
    pins, conda-lock.yml and requirements.lock.txt for what the conda and venv backends install (the venv backend
    installs a requirements.lock.txt made from the same requirements as it is, hash-pinned, without resolving).

    A missing file is written; an identical one is kept. A different one is kept when this same bundle lock was
    seeded before (the later steps of `up` own it since), and otherwise is a LockError unless `replace`.
    """
    written: list[str] = []
    kept: list[str] = []
    seeded = (ws.step_record(SEED_STEP) or {}).get("outputs", {})
    locks = (
        (LOCK_MEMBER, ws.lockfile, lock_text),
        (CONDA_LOCK_MEMBER, ws.conda_lockfile, conda_lock_text),
        (VENV_LOCK_MEMBER, ws.root / VENV_LOCK_MEMBER, venv_lock_text),
    )
    for member, path, text in locks:
        if text is None:
            continue
        digest = _sha(text.encode("utf-8"))
        if path.is_file():
            current = path.read_bytes()
            if current == text.encode("utf-8") or (seeded.get(member) == digest and not replace):
                kept.append(member)
                continue
            if not replace:
                raise LockError(
                    f"{path} differs from the bundle's {member}",
                    hint="use a fresh workspace (--workspace), or move the existing lock away",
                )
        atomic_write_text(path, text)
        written.append(member)
    if written:
        ws.root.mkdir(parents=True, exist_ok=True)
        outputs = {m: _sha(t.encode("utf-8")) for m, _path, t in locks if t is not None}
        ws.record_step(SEED_STEP, _sha(json.dumps(outputs, sort_keys=True).encode()), outputs)
    return SeedResult(written=written, kept=kept)


def seed_from_bundle(ws: Workspace, path: Path, *, replace: bool = False) -> SeedResult:
    """`up BUNDLE.tar.gz`: every lock the bundle carries, placed in `ws` before anything resolves or builds."""
    opened = open_bundle_full(Path(path))
    return seed_workspace_lock(
        ws, opened.lock_text, opened.conda_lock_text, venv_lock_text=opened.venv_lock_text, replace=replace
    )


__all__ = [
    "BUNDLE_VERSION",
    "VENV_LOCK_MEMBER",
    "BundleError",
    "ExportResult",
    "OpenedBundle",
    "SeedResult",
    "bundle_origin",
    "bundles_dir",
    "export_bundle",
    "find_bundle",
    "open_bundle",
    "open_bundle_full",
    "safe_extract_tar",
    "seed_from_bundle",
    "seed_workspace_lock",
]
