"""fetch_data: each dataset downloaded (or found in the cache), verified, unpacked into its `dest`, post-processed,
and recorded (sha256 per file in the lock, a step record in the workspace).

Checksums: the recipe's sha256 when it has one, else the one the lock recorded on the first download; either way
a mismatch is an error and nothing is placed. A file is looked up in the content-addressed cache by that sha256
before any network request.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legacyrun.errors import FetchError, ManualStepRequired, UsageError
from legacyrun.fetch import aria2, cache
from legacyrun.fetch.archive import DEFAULT_LIMITS, Limits, detect_format, extract
from legacyrun.fetch.http import Downloaded, HttpOptions, download
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.fetch.post import run_post_steps
from legacyrun.fetch.presence import content_key, placed_by_hand, record_present
from legacyrun.fetch.progress import NullProgress, Progress
from legacyrun.fetch.record import data_inputs_hash, known_dataset, record_dataset, step_data
from legacyrun.fsutil import sha256_file
from legacyrun.invocation import command
from legacyrun.lock import DatasetLock, DownloadOrigin
from legacyrun.recipe.models import Dataset
from legacyrun.workspace import Workspace

if TYPE_CHECKING:
    from legacyrun.recipe.loader import LoadedRecipe

AUTO_ARIA2_BYTES = 4 << 30  # plain http downloads at least this big go through aria2c when it is installed


@dataclass(frozen=True)
class FileResult:
    name: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class DataResult:
    """What fetching one dataset did."""

    name: str
    kind: str
    dest: Path
    files: list[FileResult]
    bytes: int
    seconds: float
    url: str | None = None  # where the bytes came from; None when nothing was downloaded
    network: bool = False
    skipped: bool = False  # the step record showed it was already in place
    resumed_from: int = 0
    placed: list[str] = field(default_factory=list)
    post: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. a size that differs from the recipe's hint


@dataclass(frozen=True)
class _Got:
    files: list[tuple[str, str, int]]  # (name, sha256, bytes), each in the cache
    url: str | None = None
    resumed_from: int = 0
    unverified: dict[str, DownloadOrigin] = field(default_factory=dict)  # first-use downloads (no published sha256)


def filename_for(ds: Dataset) -> str:
    if ds.filename:
        return ds.filename
    if ds.urls:
        name = urllib.parse.unquote(urllib.parse.urlparse(ds.urls[0]).path.rsplit("/", 1)[-1])
        if name:
            return name
    return ds.name


def _check_sha(ds: Dataset, name: str, got: str, expected: str | None, origin: str) -> None:
    if expected is not None and got != expected:
        raise FetchError(f"dataset {ds.name}: {origin}: sha256 {got} does not match the expected {expected}")


def adopted_name(ds: Dataset, path: Path) -> str:
    """The name a file given with --from is recorded and placed under: the recipe's (filename, or the URL's last
    segment) when it has one, else the user's file name (a manual dataset's SynthText.zip stays SynthText.zip,
    so it is recognised as an archive and extracted like a download)."""
    return filename_for(ds) if (ds.filename or ds.urls) else path.name


def _adopt_user_file(ds: Dataset, path: Path, expected: str | None) -> _Got:
    if path.is_dir():
        raise UsageError(
            f"--from {path}: a folder; --from takes the file you downloaded (an archive is extracted)",
            hint=f"to use a folder you unpacked yourself, put its contents in the dataset's dest ({ds.dest})",
        )
    if not path.is_file():
        raise UsageError(f"--from {path}: no such file")
    digest = sha256_file(path)
    _check_sha(ds, path.name, digest, expected, str(path))
    cache.adopt(path, digest, move=False)
    return _Got([(adopted_name(ds, path), digest, path.stat().st_size)])


def _check_size(ds: Dataset, got: _Got) -> list[str]:
    """The recipe's `size` is a hint (a warning) unless `size_exact`, when a differing size is an error."""
    total = sum(b for _, _, b in got.files)
    if ds.size is None or total == ds.size:
        return []
    what = got.files[0][0] if len(got.files) == 1 else f"{len(got.files)} files"
    if ds.size_exact:
        raise FetchError(f"dataset {ds.name}: {what} has {total} bytes, the recipe says exactly {ds.size} (size_exact)")
    return [f"dataset {ds.name}: {what} has {total} bytes, the recipe's size hint says {ds.size}"]


def _manual(ds: Dataset, recipe: str) -> ManualStepRequired:
    lines = []
    if ds.instructions:
        lines += [ln.rstrip() for ln in ds.instructions.strip().splitlines()]
    for link in ds.links:
        extra = "".join(
            [f" ({link.site})" if link.site else "", f" code: {link.code}" if link.code else ""]
            + ([f" - {link.note}"] if link.note else [])
        )
        lines.append(f"  {link.url}{extra}")
    lines.append(f"then run: {command('fetch', recipe, '--data', ds.name, '--from', f'PATH/TO/{filename_for(ds)}')}")
    return ManualStepRequired(
        f"dataset {ds.name} ({filename_for(ds)}) must be downloaded by hand", hint="\n".join(lines)
    )


def _changed_on_server(
    ds: Dataset, name: str, first_use: str, before: DownloadOrigin | None, done: Downloaded
) -> FetchError:
    """The refusal of a file whose sha256 was recorded on first use and which the server now serves otherwise."""
    url = before.url if before is not None else done.url
    what = [f"sha256 {first_use} -> {done.sha256}"]
    if before is not None and before.bytes != done.bytes:
        what.append(f"size {before.bytes} -> {done.bytes} bytes")
    if before is not None and done.url == before.url and before.validator != done.validator:
        what.append(f"validator {before.validator or '(none)'} -> {done.validator or '(none)'}")
    return FetchError(
        f"dataset {ds.name}: {url} changed on the server since {name} was first downloaded: " + ", ".join(what),
        hint=(
            f"the recipe publishes no sha256 for {name}, so the first download is the truth and this one is refused; "
            f"if the new file is right, put `sha256: {done.sha256}` in the recipe's dataset {ds.name} and fetch again"
        ),
    )


def _download_http(
    ds: Dataset,
    expected: str | None,
    mirrors: Mirrors,
    progress: Progress,
    key: str,
    options: HttpOptions,
    known: DatasetLock | None = None,
) -> _Got:
    name = filename_for(ds)
    urls = mirrors.rewrite_all(ds.urls)
    # The partial file is keyed by what is downloaded, not by mirror, so a rerun resumes whichever URL works.
    part = cache.partial_path(cache.partial_key(ds.name, ds.urls[0], name), name)
    use_aria2 = ds.kind == "aria2" or (
        ds.kind == "http" and ds.size is not None and ds.size >= AUTO_ARIA2_BYTES and aria2.available()
    )
    _check_space(ds, part)
    origins: dict[str, DownloadOrigin] = {}
    # A plain `size` is a hint (progress, disk space, the aria2 switch); only `size_exact` makes it a check here.
    exact_size = ds.size if ds.size_exact else None
    progress.start(key, f"{ds.name}: {name}", ds.size)
    # Two workspaces fetching the same file at once share the partial file: one waits for the other.
    from filelock import FileLock  # imported here like every other lock user, to keep module import light

    (cache.cache_root() / "locks").mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(cache.cache_root() / "locks" / f"{part.parent.name}.lock"))
    try:
        lock.acquire()
        if (hit := cache.lookup(expected)) is not None:
            return _Got([(name, hit.name, hit.stat().st_size)])
        if use_aria2:
            aria2.download_http(urls, part, progress=progress, key=key, size=ds.size)
            digest, size, url, resumed = sha256_file(part), part.stat().st_size, urls[0], 0
            if (expected is not None and digest != expected) or (exact_size is not None and size != exact_size):
                part.unlink(missing_ok=True)
                raise FetchError(
                    f"dataset {ds.name}: aria2c download of {name} has sha256 {digest} ({size} bytes), "
                    f"expected {expected or '-'} ({exact_size if exact_size is not None else '-'} bytes)"
                )
            if expected is None:
                origins = {name: DownloadOrigin(url=url, validator=None, bytes=size)}
        else:
            # A sha256 recorded on first use is compared here rather than inside download(), so that a changed
            # file is refused with what changed instead of being retried on other URLs as a corrupt one.
            first_use = expected if ds.sha256 is None else None
            done = download(
                urls,
                part,
                expected_sha256=None if first_use else expected,
                expected_size=exact_size,
                progress=progress,
                key=key,
                options=options,
            )
            digest, size, url, resumed = done.sha256, done.bytes, done.url, done.resumed_from
            if first_use is not None and digest != first_use:
                part.unlink(missing_ok=True)
                raise _changed_on_server(ds, name, first_use, (known or DatasetLock()).unverified.get(name), done)
            if ds.sha256 is None:
                before = (known or DatasetLock()).unverified.get(name)
                origin = before if first_use is not None and before is not None else None
                origins = {name: origin or DownloadOrigin(url=url, validator=done.validator, bytes=size)}
        if expected is None:
            # Trust on first use: say so, so that nobody takes the recorded sha256 for a published one.
            validator = origins[name].validator if name in origins else None
            progress.note(
                f"dataset {ds.name}: {name} is UNVERIFIED: no sha256 in the recipe or the lock; recorded sha256 "
                f"{digest} ({size} bytes, validator {validator or '(none)'}) from {url}; a later fetch that gets "
                "other bytes is refused"
            )
        cache.adopt(part, digest, move=True)
        origin = origins.get(name)
        cache.remember_url(list(ds.urls), name, digest, origin.model_dump(mode="json") if origin else None)
        _cleanup_partial(part.parent)
    finally:
        lock.release()
        progress.finish(key)
    return _Got([(name, digest, size)], url, resumed, origins)


def _check_space(ds: Dataset, part: Path) -> None:
    """Refuse early when the cache's file system cannot hold the rest of a download of known size."""
    if ds.size is None:
        return
    import shutil

    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    free = shutil.disk_usage(part.parent).free
    if ds.size - have > free:
        raise FetchError(
            f"dataset {ds.name}: needs {ds.size - have} more bytes in {part.parent}, only {free} are free",
            hint="free some space or move the cache with LEGACYRUN_CACHE_DIR",
        )


def _cleanup_partial(folder: Path) -> None:
    try:
        for leftover in folder.iterdir():
            if leftover.is_file():
                leftover.unlink()
        folder.rmdir()
    except OSError:
        pass


def _torrent_source(ds: Dataset, workdir: Path, mirrors: Mirrors, progress: Progress, options: HttpOptions) -> str:
    """A local .torrent path or a magnet for aria2c."""
    url = ds.urls[0]
    if url.startswith("magnet:?"):
        return url
    if "://" not in url:
        path = Path(url).expanduser()
        if not path.is_file():
            raise FetchError(f"dataset {ds.name}: torrent file {url} does not exist")
        return str(path)
    meta = workdir / "meta.torrent"
    done = download(mirrors.rewrite_all(ds.urls), meta.with_suffix(".part"), progress=progress, options=options)
    os.replace(done.path, meta)
    return str(meta)


def _download_torrent(
    ds: Dataset, locked: dict[str, str], mirrors: Mirrors, progress: Progress, key: str, options: HttpOptions
) -> _Got:
    aria2.aria2c()  # fail early with the install hint
    workdir = cache.partial_dir() / cache.partial_key(ds.name, *ds.urls, *ds.files)
    workdir.mkdir(parents=True, exist_ok=True)
    source = _torrent_source(ds, workdir, mirrors, progress, options)
    indexes = None
    wanted: list[str] | None = None
    if not source.startswith("magnet:"):
        listing = aria2.list_files(Path(source))
        chosen = aria2.select(listing, ds.files, ds.urls[0]) if ds.files else listing
        indexes = [f.index for f in chosen] if ds.files else None
        wanted = [f.path for f in chosen]
    elif ds.files:
        raise FetchError(f"dataset {ds.name}: selecting files needs a .torrent, not a magnet link")
    data = workdir / "data"
    progress.start(key, f"{ds.name}: torrent", ds.size)
    try:
        aria2.download_torrent(source, data, indexes=indexes, progress=progress, key=key)
    finally:
        progress.finish(key)
    if wanted is None:
        wanted = sorted(
            p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file() and not p.name.endswith(".aria2")
        )
    files = []
    for rel in wanted:
        path = data / rel
        if not path.is_file():
            raise FetchError(f"dataset {ds.name}: aria2c finished but {rel} is missing")
        digest = sha256_file(path)
        expected = ds.sha256 if (ds.sha256 and len(wanted) == 1) else locked.get(rel)
        _check_sha(ds, rel, digest, expected, f"torrent file {rel}")
        files.append((rel, digest, path.stat().st_size))
        cache.adopt(path, digest, move=True)
    shutil.rmtree(workdir, ignore_errors=True)
    return _Got(files, ds.urls[0])


def _place(ds: Dataset, got: _Got, dest: Path) -> list[str]:
    """Unpack (single archive) or link/copy the files into dest; returns the top-level names placed."""
    fmt = detect_format(got.files[0][0], ds.extract) if len(got.files) == 1 else None
    if fmt is not None:
        name, digest, _ = got.files[0]
        # An extraction killed mid-way (SIGKILL, OOM) leaves its temp folder in dest; this step holds the
        # workspace lock, so any such folder is a dead one's.
        for stale in dest.glob(".legacyrun-extract-*") if dest.is_dir() else ():
            shutil.rmtree(stale, ignore_errors=True)
        return extract(
            cache.cached_path(digest),
            dest,
            fmt=fmt,
            strip_components=ds.strip_components,
            label=f"{ds.name}: {name}",
            limits=unpack_limits(ds),
        )
    placed = []
    for name, digest, _ in got.files:
        cache.materialize(cache.cached_path(digest), dest / name)
        top = name.split("/", 1)[0]
        if top not in placed:
            placed.append(top)
    return placed


def unpack_limits(ds: Dataset) -> Limits:
    """The archive limits for a dataset: the defaults, raised where the recipe's `unpack_limits` says."""
    given = ds.unpack_limits
    if given is None:
        return DEFAULT_LIMITS
    return Limits(
        max_bytes=given.max_bytes or DEFAULT_LIMITS.max_bytes,
        max_members=given.max_members or DEFAULT_LIMITS.max_members,
        max_ratio=given.max_ratio or DEFAULT_LIMITS.max_ratio,
    )


def _outputs(ds: Dataset, placed: list[str], dest: Path) -> list[str]:
    """Paths (relative to dest) whose existence means the dataset is still in place."""
    paths = [p for p in placed if (dest / p).exists()]
    for step in ds.post:
        if step.move is not None:
            paths.append(step.move.dst)
        elif step.list is not None:
            paths.append(step.list.output)
    return paths


def _skip(ws: Workspace, ds: Dataset, dest: Path) -> DataResult | None:
    """The result of a fetch that finds the dataset in place (its record checked against the disk), else None."""
    rec = ws.step_record(step_data(ds.name))
    if rec is None:
        if ds.kind == "manual" and placed_by_hand(ws, ds):
            # A person unpacked it into dest; there is nothing to download and no content id to record.
            entries = sorted(p.name for p in dest.iterdir() if not p.name.startswith(".legacyrun"))
            return DataResult(ds.name, ds.kind, dest, [], 0, 0.0, skipped=True, placed=entries)
        return None
    if not record_present(ws, ds, rec):
        return None
    out: dict[str, Any] = rec.get("outputs") or {}
    files: dict[str, str] = out.get("files") or {}
    paths: list[str] = out.get("paths") or []
    sizes: dict[str, int] = out.get("sizes") or {}
    # A lock made after the first fetch still gets the content ids (no network needed for that).
    record_dataset(ws, ds.name, files, int(out.get("bytes", 0)), _origins(ds, files, out.get("unverified")))
    results = [FileResult(n, s, int(sizes.get(n, 0))) for n, s in sorted(files.items())]
    return DataResult(ds.name, ds.kind, dest, results, int(out.get("bytes", 0)), 0.0, skipped=True, placed=paths)


def _origins(ds: Dataset, files: dict[str, str], *known: Any) -> dict[str, DownloadOrigin]:
    """The first-use origins to record for these files: the first of `known` (mappings name -> origin, e.g. this
    download's, then the lock's) that has one, for files the recipe publishes no sha256 of."""
    if ds.sha256 is not None:
        return {}
    found: dict[str, DownloadOrigin] = {}
    for mapping in known:
        for name, origin in (mapping or {}).items():
            if origin is not None and name in files and name not in found:
                try:
                    found[name] = DownloadOrigin.model_validate(origin)
                except ValueError:
                    continue  # a damaged step record: that origin is lost, the sha256 still binds
    return found


def _needs_code_first(loaded: LoadedRecipe, ds: Dataset, ws: Workspace, dest: Path) -> None:
    """A dataset that lives inside a source tree (pix2pix's datasets/) needs that tree checked out first."""
    for source in loaded.recipe.sources:
        tree = ws.source_dir(source.name).resolve()
        if (dest == tree or tree in dest.parents) and not (tree / ".git").exists():
            raise FetchError(
                f"dataset {ds.name} goes into {ds.dest}, inside source {source.name}, which is not fetched yet",
                hint=f"run `{command('fetch', loaded.recipe.name, '--code')}` first (without --code it fetches both)",
            )


# The workspace's own files and folders: an archive unpacked over them could rewrite the lock, the step records
# or the built environment.
_RESERVED = ("legacyrun.lock", ".legacyrun", "conda-lock.yml", "requirements.lock.txt", "env", "runs")


def dataset_dest(ws: Workspace, ds: Dataset) -> Path:
    """The dataset's folder, refused (exit 4) when it is the workspace itself or reaches its own files."""
    try:
        dest = ws.resolve_inside(ds.dest)
    except ValueError:
        raise FetchError(f"dataset {ds.name}: dest {ds.dest!r} leaves the workspace") from None
    root = ws.root.resolve()
    reserved = [root / name for name in _RESERVED]
    if dest == root or any(dest == r or r in dest.parents for r in reserved):
        raise FetchError(
            f"dataset {ds.name}: dest {ds.dest!r} would write over the workspace's own files; "
            "use a folder such as data/<name>"
        )
    return dest


def _fetch_one(
    loaded: LoadedRecipe,
    ds: Dataset,
    ws: Workspace,
    *,
    from_path: Path | None,
    mirrors: Mirrors,
    progress: Progress,
    options: HttpOptions,
) -> DataResult:
    started = time.monotonic()
    dest = dataset_dest(ws, ds)
    _needs_code_first(loaded, ds, ws, dest)
    known = known_dataset(ws, ds)
    locked = dict(known.files)
    if from_path is None:
        skipped = _skip(ws, ds, dest)
        if skipped is not None:
            return skipped
    key = f"data:{ds.name}"
    name = filename_for(ds)
    if from_path is not None:
        name = adopted_name(ds, from_path)
    elif ds.kind == "manual" and not ds.filename and len(locked) == 1:
        name = next(iter(locked))  # recorded under the name of the file the person gave
    expected = ds.sha256 or locked.get(name)
    got: _Got | None = None
    if from_path is not None:
        got = _adopt_user_file(ds, from_path, expected)
    elif ds.kind == "torrent":
        if locked and all(cache.lookup(s) for s in locked.values()):
            got = _Got([(n, s, cache.cached_path(s).stat().st_size) for n, s in sorted(locked.items())])
        else:
            got = _download_torrent(ds, locked, mirrors, progress, key, options)
    elif (hit := cache.lookup(expected) or (None if expected else cache.lookup_url(list(ds.urls), name))) is not None:
        # Found by URL (no sha256 known here): the origin of that first download comes along, so the lock reads
        # as if this workspace had downloaded it.
        found = _origins(ds, {name: hit.name}, {name: cache.url_origin(list(ds.urls), name)} if not expected else {})
        got = _Got([(name, hit.name, hit.stat().st_size)], unverified=found)
        progress.note(f"{ds.name}: {name} found in the download cache")
    elif ds.kind == "manual":
        raise _manual(ds, loaded.recipe.name)
    else:
        got = _download_http(ds, expected, mirrors, progress, key, options, known)
    warnings = _check_size(ds, got)
    placed = _place(ds, got, dest)
    post = run_post_steps(dest, list(ds.post), dataset=ds.name)
    files = {n: s for n, s, _ in got.files}
    total = sum(b for _, _, b in got.files)
    origins = _origins(ds, files, got.unverified, known.unverified)
    record_dataset(ws, ds.name, files, total, origins)
    ws.record_step(
        step_data(ds.name),
        data_inputs_hash(ds),
        {
            "files": files,
            "sizes": {n: b for n, _, b in got.files},
            "bytes": total,
            "paths": _outputs(ds, placed, dest),
            "dest": ds.dest,
            "content": content_key(ds),
            "unverified": {n: o.model_dump(mode="json") for n, o in sorted(origins.items())},
        },
    )
    return DataResult(
        ds.name,
        ds.kind,
        dest,
        [FileResult(n, s, b) for n, s, b in got.files],
        total,
        time.monotonic() - started,
        url=got.url,
        network=got.url is not None,
        resumed_from=got.resumed_from,
        placed=placed,
        post=post,
        warnings=warnings,
    )


def select_datasets(loaded: LoadedRecipe, names: list[str] | None) -> list[Dataset]:
    """The named datasets (any, optional included), or every non-optional one."""
    datasets = list(loaded.recipe.datasets)
    if not names:
        return [d for d in datasets if not d.optional]
    by_name = {d.name: d for d in datasets}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(by_name) or "none"
        raise UsageError(f"recipe {loaded.recipe.name} has no dataset {', '.join(unknown)} (it has: {known})")
    return [by_name[n] for n in dict.fromkeys(names)]


def fetch_data(
    loaded: LoadedRecipe,
    ws: Workspace,
    *,
    names: list[str] | None = None,
    from_path: Path | None = None,
    mirrors: Mirrors | None = None,
    progress: Progress | None = None,
    http: HttpOptions | None = None,
) -> list[DataResult]:
    """Fetch the selected datasets; a manual one without `from_path` ends in ManualStepRequired after the others.

    The exception's `results` attribute holds what the other datasets gave.
    """
    mirrors = mirrors or Mirrors()
    progress = progress or NullProgress()
    options = http or HttpOptions()
    selected = select_datasets(loaded, names)
    if from_path is not None and len(selected) != 1:
        raise UsageError("--from adopts one file: name exactly one dataset with --data NAME")
    results: list[DataResult] = []
    manual: list[ManualStepRequired] = []
    for ds in selected:
        try:
            results.append(
                _fetch_one(loaded, ds, ws, from_path=from_path, mirrors=mirrors, progress=progress, options=options)
            )
        except ManualStepRequired as exc:
            manual.append(exc)
    if manual:
        first = manual[0]
        if len(manual) > 1:
            first = ManualStepRequired(
                f"{len(manual)} datasets must be downloaded by hand: " + "; ".join(m.message for m in manual),
                hint="\n".join(m.hint or "" for m in manual),
            )
        first.results = results  # type: ignore[attr-defined]
        raise first
    return results


__all__ = [
    "AUTO_ARIA2_BYTES",
    "DataResult",
    "FileResult",
    "adopted_name",
    "fetch_data",
    "filename_for",
    "select_datasets",
]
