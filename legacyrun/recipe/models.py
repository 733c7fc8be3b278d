"""The recipe format, schema_version 1: strict pydantic models (unknown keys are errors), every field described.

A recipe pins one legacy project: its code (git sources at full commits), environments (profiles), datasets and
other downloads, patches, GPU-count adaptation and tasks. docs/recipes.md explains it with a full example;
recipes/schema/recipe.schema.json is generated from these models.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import PurePosixPath
from typing import Annotated, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1


class LocatedValueError(ValueError):
    """A model-level check that knows which sub-field is wrong; the loader appends `loc` to the error path so the
    message points at that line (e.g. `datasets[0].urls[1]` instead of `datasets[0]`)."""

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


class StrictModel(BaseModel):
    """Base of every recipe model: unknown keys and type coercion are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


# --- field validators -----------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_GIT_URL_RE = re.compile(r"^(https?|git|ssh|file)://[^\s]+$|^[\w.-]+@[\w.-]+:[^\s]+$")
_HTTP_URL_RE = re.compile(r"^(https?|ftp|file)://[^\s/]*(/[^\s]*)?$")


def _name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError("must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


def _commit(value: str) -> str:
    if not _SHA_RE.match(value):
        raise ValueError(f"must be a full 40-hex commit SHA (got {value!r}); branches, tags and short SHAs move")
    return value


def _sha256(value: str) -> str:
    if not _SHA256_RE.match(value):
        raise ValueError("must be 64 lower-case hex digits")
    return value


def _git_url(value: str) -> str:
    if not _GIT_URL_RE.match(value):
        raise ValueError(f"not a git URL: {value!r} (expected https://, git://, ssh://, file:// or user@host:path)")
    return value


def _http_url(value: str) -> str:
    if not _HTTP_URL_RE.match(value) or value.rstrip("/").endswith("://"):
        raise ValueError(f"not a download URL: {value!r} (expected http://, https://, ftp:// or file://)")
    return value


def _is_torrent(value: str) -> bool:
    """A magnet link, or a .torrent file given as a URL (query string allowed) or a path."""
    if value.startswith("magnet:?xt="):
        return True
    path = re.split(r"[?#]", value, maxsplit=1)[0]
    if not path.endswith(".torrent"):
        return False
    return bool(_HTTP_URL_RE.match(value)) or "://" not in value


def _relpath(value: str) -> str:
    """A path inside the workspace (or a source tree): relative, no '..' that climbs out."""
    if not value or value.strip() != value:
        raise ValueError("must be a non-empty path without surrounding spaces")
    if value.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", value):
        raise ValueError(f"{value!r} is absolute; paths must stay inside the workspace")
    depth = 0
    for part in PurePosixPath(value.replace("\\", "/")).parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                raise ValueError(f"{value!r} leaves the workspace")
        elif part not in (".", ""):
            depth += 1
    return value


def _version_or_spec(value: str) -> str:
    """An exact version ('1.9.0') or a PEP 440 specifier ('>=2.0,<2.5', '==1.4.*')."""
    try:
        Version(value)
        return value
    except InvalidVersion:
        pass
    try:
        SpecifierSet(value)
    except InvalidSpecifier:
        raise ValueError(f"{value!r} is neither a version nor a version specifier such as '>=1.8,<2'") from None
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None
    return value


Name = Annotated[str, AfterValidator(_name)]
Commit = Annotated[str, AfterValidator(_commit)]
Sha256 = Annotated[str, AfterValidator(_sha256)]
GitUrl = Annotated[str, AfterValidator(_git_url)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
RelPath = Annotated[str, AfterValidator(_relpath)]
VersionSpec = Annotated[str, AfterValidator(_version_or_spec)]
Regex = Annotated[str, AfterValidator(_regex)]
Argv = Annotated[list[str], Field(min_length=1)]


# --- top-level pieces -----------------------------------------------------------------------------------------


_PYPI_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


def _pypi_name(value: str) -> str:
    if not _PYPI_NAME_RE.match(value):
        raise ValueError(f"not a package name: {value!r}")
    return value


def _exact_version(value: str) -> str:
    try:
        Version(value)
    except InvalidVersion:
        raise ValueError(f"must be one exact release such as '2.28.2' (got {value!r}); ranges move") from None
    return value


class PypiRelease(StrictModel):
    """One file of a release on a package index (PyPI or the index pip is configured with), pinned by sha256."""

    name: Annotated[str, AfterValidator(_pypi_name)] = Field(description="Project name on the index, e.g. mmdet.")
    version: Annotated[str, AfterValidator(_exact_version)] = Field(description="Exact release, e.g. 2.28.2.")
    kind: Literal["sdist", "wheel"] = Field(
        description="sdist: the source archive (setup.py, buildable); wheel: the pure-Python py3-none-any wheel."
    )
    sha256: Sha256 = Field(description="sha256 of the file, as the index lists it; a different file is refused.")
    filename: str | None = Field(
        default=None,
        description="The exact file name when the release has several files of that kind (default: the only "
        "sdist, or the py3-none-any wheel).",
    )


class Source(StrictModel):
    """Code of the project: a git repository at an exact commit, or a release from a package index (`pypi`).

    Either way it becomes a git work tree `src/<name>/`; a package release is unpacked and committed once (the
    pristine release, a reproducible commit), so patches work on both alike.
    """

    name: Name = Field(description="Directory under src/ in the workspace; also how patches and tasks refer to it.")
    url: GitUrl | None = Field(default=None, description="Upstream git URL (mirrors may rewrite its prefix).")
    commit: Commit | None = Field(default=None, description="Full 40-hex commit SHA that is checked out and verified.")
    pypi: PypiRelease | None = Field(
        default=None, description="Instead of url and commit: a release file from the package index pip uses."
    )
    submodules: bool = Field(default=False, description="Also check out the submodules recorded at that commit.")
    note: str | None = Field(default=None, description="Why this commit (e.g. the paper's release, the last tag).")

    @model_validator(mode="after")
    def _git_or_pypi(self) -> Source:
        if self.pypi is not None:
            for key in ("url", "commit"):
                if getattr(self, key) is not None:
                    raise LocatedValueError(f"a pypi source has no {key} (the release's sha256 pins it)", (key,))
            if self.submodules:
                raise LocatedValueError("submodules applies to git sources only", ("submodules",))
            return self
        for key in ("url", "commit"):
            if getattr(self, key) is None:
                # Worded as pydantic words a missing field: a git source is still the common case.
                raise LocatedValueError("required field is missing", (key,))
        return self

    @property
    def is_git(self) -> bool:
        return self.pypi is None

    @property
    def pin(self) -> str:
        """What pins the code, as one string: the commit, or `sha256:<hex>` of a package release file."""
        if self.pypi is not None:
            return f"sha256:{self.pypi.sha256}"
        return self.commit or ""

    @property
    def origin(self) -> str:
        """Where the code comes from, for people: the git URL or `pypi:NAME==VERSION (KIND)`."""
        if self.pypi is not None:
            return f"pypi:{self.pypi.name}=={self.pypi.version} ({self.pypi.kind})"
        return self.url or ""


class BuildStep(StrictModel):
    """A native-extension build or other setup command run inside the environment."""

    name: Name = Field(description="Short id shown in progress and logs.")
    source: Name = Field(description="Source whose tree is the working directory.")
    cwd: RelPath = Field(default=".", description="Working directory relative to the source tree.")
    argv: Argv = Field(description="Command as an argv list (never a shell string).")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment (e.g. FORCE_CUDA=1); TORCH_CUDA_ARCH_LIST is set from the resolved GPU.",
    )
    clean: list[RelPath] = Field(
        default_factory=list, description="Paths (relative to cwd) removed first so a stale build is never reused."
    )
    cuda: bool = Field(
        default=True,
        description="The step compiles CUDA code when the plan has CUDA (legacyrun then sets FORCE_CUDA and the arch "
        "list; a recipe does not set FORCE_CUDA itself).",
    )
    cpu: Literal["build", "skip"] = Field(
        default="build",
        description="On a CPU plan: 'build' runs the step without CUDA (CPU ops only); 'skip' leaves out a CUDA-only "
        "op (the recipe then carries a patch that falls back to a CPU path, `when: {device: cpu}`).",
    )
    wheel_cache: bool = Field(
        default=False,
        description="argv builds a wheel into {wheel_dir} (`pip wheel ... -w {wheel_dir} .`); legacyrun installs it "
        "and keeps it in the user cache under its build key (source tree, step, Python, torch, CUDA, arch list, "
        "GCC), so another workspace with the same key installs it without compiling (local backends).",
    )

    @model_validator(mode="after")
    def _wheel_dir(self) -> BuildStep:
        if self.wheel_cache and not any("{wheel_dir}" in a for a in self.argv):
            raise LocatedValueError("wheel_cache needs an argv that writes the wheel into {wheel_dir}", ("argv",))
        return self


class Profile(StrictModel):
    """One complete environment: what the authors ran (faithful) or current PyTorch plus forward ports (modern)."""

    description: str | None = Field(default=None, description="What this profile is for.")
    python: VersionSpec = Field(description="Python version or specifier, e.g. '3.6' or '>=3.10,<3.13'.")
    torch: VersionSpec = Field(description="PyTorch version or specifier, e.g. '1.9.0' or '>=2.1'.")
    torchvision: Literal["none"] | VersionSpec | None = Field(
        default=None,
        description="torchvision version or specifier; omitted means the one matching torch; 'none' installs none.",
    )
    cuda: VersionSpec | None = Field(
        default=None, description="CUDA toolkit version or specifier; omitted means whatever torch build fits the GPU."
    )
    cudnn: VersionSpec | None = Field(default=None, description="cuDNN major version or specifier.")
    gcc: VersionSpec | None = Field(
        default=None, description="Host GCC for native extensions (must be one nvcc of that CUDA accepts)."
    )
    pip: list[str] = Field(default_factory=list, description="Extra pip requirement lines, pinned where it matters.")
    conda: list[str] = Field(default_factory=list, description="Extra conda match specs.")
    apt: list[str] = Field(default_factory=list, description="Extra Debian/Ubuntu packages for the docker image.")
    apt_snapshot: Annotated[date, Field(strict=False)] | None = Field(
        default=None,
        description="Install the docker image's apt packages from the archive as it was on this date (YYYY-MM-DD): "
        "snapshot.ubuntu.com for Ubuntu bases (from 2023-03-01 on), snapshot.debian.org for Debian ones.",
    )
    build: list[BuildStep] = Field(default_factory=list, description="Native-extension build steps, in order.")
    env: dict[str, str] = Field(default_factory=dict, description="Environment for every task in this profile.")


class Env(StrictModel):
    """The environments a recipe can run in."""

    profiles: dict[Name, Profile] = Field(
        description="Named profiles; 'faithful' (what the authors ran) and 'modern' (current PyTorch) are required."
    )
    prefer: list[Name] = Field(
        default_factory=lambda: ["faithful", "modern"],
        description="Order in which the resolver tries profiles on a host.",
    )

    @model_validator(mode="after")
    def _required_profiles(self) -> Env:
        missing = [p for p in ("faithful", "modern") if p not in self.profiles]
        if missing:
            raise LocatedValueError(f"missing required profile(s): {', '.join(missing)}", ("profiles",))
        for i, p in enumerate(self.prefer):
            if p not in self.profiles:
                raise LocatedValueError(f"unknown profile {p!r}", ("prefer", i))
        return self


# --- datasets and other downloads -----------------------------------------------------------------------------


class ManualLink(StrictModel):
    """Where a person can download a file by hand (Google Drive, OneDrive, Baidu Pan...)."""

    url: HttpUrl = Field(description="Page to open in a browser.")
    site: str | None = Field(default=None, description="Which service it is, e.g. 'Google Drive' or 'Baidu Pan'.")
    code: str | None = Field(default=None, description="Extraction code or password, e.g. Baidu's 提取码.")
    note: str | None = Field(default=None, description="Anything else the person needs to know.")


class MoveStep(StrictModel):
    """Rename or move a path inside the dataset directory."""

    src: RelPath = Field(alias="from", description="Path relative to the dataset directory.")
    dst: RelPath = Field(alias="to", description="New path relative to the dataset directory.")

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class ListStep(StrictModel):
    """Write a list file of paths matching a glob (e.g. SynthText's train_list.txt)."""

    glob: str = Field(description="Glob relative to `root`, e.g. '**/*.jpg'.")
    output: RelPath = Field(description="List file to write, relative to the dataset directory.")
    root: RelPath = Field(default=".", description="Directory (relative to the dataset directory) the glob starts at.")
    relative_to: RelPath | None = Field(
        default=None, description="Write paths relative to this directory (default: `root`)."
    )
    strip_suffix: bool = Field(default=False, description="Drop file extensions in the list.")


class RunStep(StrictModel):
    """Run a command in the dataset directory (after download and extraction)."""

    argv: Argv = Field(description="Command as an argv list.")
    cwd: RelPath = Field(default=".", description="Working directory relative to the dataset directory.")


class PostStep(StrictModel):
    """One post-processing step; exactly one of move, list, run."""

    move: MoveStep | None = Field(default=None, description="Rename/move a path.")
    list: ListStep | None = Field(default=None, description="Generate a list file from a glob.")
    run: RunStep | None = Field(default=None, description="Run a command.")

    @model_validator(mode="after")
    def _exactly_one(self) -> PostStep:
        given = [k for k in ("move", "list", "run") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a post step needs exactly one of: move, list, run")
        return self


class UnpackLimits(StrictModel):
    """Raises the extraction limits for one dataset whose real archive exceeds the defaults (an archive bomb is
    refused under them: see legacyrun/fetch/archive.py)."""

    max_bytes: int | None = Field(default=None, ge=1, description="Total unpacked bytes (default 64 GiB).")
    max_members: int | None = Field(default=None, ge=1, description="Number of members (default 2,000,000).")
    max_ratio: float | None = Field(
        default=None, gt=0, description="Unpacked bytes per archive byte (default 200); text compresses about 10x."
    )


class Dataset(StrictModel):
    """A download a run needs: a dataset, pretrained weights or a checkpoint."""

    name: Name = Field(description="Unique name; tasks list the datasets they need by it.")
    kind: Literal["http", "aria2", "torrent", "manual"] = Field(
        description="http (requests, resumable), aria2 (multi-connection), torrent (.torrent or magnet), manual."
    )
    role: Literal["dataset", "weights", "checkpoint", "other"] = Field(
        default="dataset", description="What the file is; all roles follow the same checksum and cache rules."
    )
    urls: list[str] = Field(
        default_factory=list,
        description="Primary URL first, then mirrors tried in order (torrent: .torrent URL/path or magnet).",
    )
    filename: str | None = Field(default=None, description="File name to save as (default: last URL segment).")
    sha256: Sha256 | None = Field(
        default=None, description="Expected sha256; when absent it is recorded on first download and then enforced."
    )
    size: int | None = Field(
        default=None, ge=0, description="Size in bytes, for progress and disk checks; a hint unless size_exact."
    )
    size_exact: bool = Field(
        default=False, description="The download must be exactly `size` bytes (otherwise a differing size only warns)."
    )
    dest: RelPath = Field(description="Directory inside the workspace where the result goes, e.g. data/facades.")
    extract: Literal["auto", "none", "tar", "zip"] = Field(
        default="auto", description="Unpack the download: auto by file name, or forced, or none (keep the file)."
    )
    strip_components: int = Field(default=0, ge=0, description="Leading path components dropped when unpacking.")
    unpack_limits: UnpackLimits | None = Field(
        default=None, description="Raise the archive limits (size, members, ratio) for this dataset's archive."
    )
    files: list[str] = Field(default_factory=list, description="Torrent only: which files of the torrent to fetch.")
    post: list[PostStep] = Field(default_factory=list, description="Steps after download and extraction.")
    instructions: str | None = Field(default=None, description="Manual only: what a person must do.")
    links: list[ManualLink] = Field(default_factory=list, description="Manual only: where to download by hand.")
    optional: bool = Field(default=False, description="Not needed by the default tasks.")
    note: str | None = Field(default=None, description="Provenance or caveats (e.g. the original link is dead).")

    @model_validator(mode="after")
    def _kind_fields(self) -> Dataset:
        if self.kind == "manual":
            if not self.instructions and not self.links:
                raise LocatedValueError("a manual dataset needs instructions or links", ("kind",))
        elif not self.urls:
            raise LocatedValueError(f"a {self.kind} dataset needs at least one URL", ("kind",))
        for i, url in enumerate(self.urls):
            if self.kind == "torrent":
                if not _is_torrent(url):
                    raise LocatedValueError(
                        f"not a torrent: {url!r} (expected a magnet link, or a URL or path ending in .torrent)",
                        ("urls", i),
                    )
            else:
                try:
                    _http_url(url)
                except ValueError as exc:
                    raise LocatedValueError(str(exc), ("urls", i)) from None
        if self.files and self.kind != "torrent":
            raise LocatedValueError("files selects files of a torrent; it only applies to kind torrent", ("files",))
        return self


# --- patches --------------------------------------------------------------------------------------------------


class When(StrictModel):
    """Condition on the resolved environment; every given key must hold."""

    profiles: list[Name] | None = Field(default=None, description="Only for these profiles.")
    torch: VersionSpec | None = Field(default=None, description="Specifier the resolved torch must satisfy.")
    python: VersionSpec | None = Field(default=None, description="Specifier the resolved Python must satisfy.")
    cuda: VersionSpec | None = Field(default=None, description="Specifier the resolved CUDA must satisfy.")
    gpus: VersionSpec | None = Field(default=None, description="Specifier on the GPU count, e.g. '==1'.")
    device: Literal["cpu", "cuda"] | None = Field(
        default=None, description="Only for a CPU plan (no CUDA) or only for a CUDA plan."
    )


class RegexPatch(StrictModel):
    """A sed-style rule: in files matching a glob, replace a regex a declared number of times."""

    id: Name = Field(description="Unique patch id (appears in the commit message and the lock).")
    kind: Literal["regex"] = Field(description="regex")
    source: Name = Field(description="Which source tree.")
    files: list[str] = Field(min_length=1, description="Globs relative to the source tree.")
    find: Regex = Field(description="Python regular expression (multiline mode).")
    replace: str = Field(
        description="Replacement; \\1 groups and workspace values {gpus}, {data_root}, {workspace} are expanded."
    )
    count: int | None = Field(
        default=None, ge=0, description="Expected number of replacements in total; a different count fails."
    )
    why: str | None = Field(default=None, description="What breaks without it.")
    when: When | None = Field(default=None, description="Apply only when this holds.")


class DiffPatch(StrictModel):
    """A unified diff from patches/<recipe>/, applied with a three-way fallback."""

    id: Name = Field(description="Unique patch id.")
    kind: Literal["diff"] = Field(description="diff")
    source: Name = Field(description="Which source tree.")
    file: RelPath = Field(description="Diff file relative to patches/<recipe>/.")
    why: str | None = Field(default=None, description="What breaks without it.")
    when: When | None = Field(default=None, description="Apply only when this holds.")


class CatalogPatch(StrictModel):
    """Rules from legacyrun's forward-port catalog, by rule id or rule-set id."""

    id: Name = Field(description="Unique patch id.")
    kind: Literal["catalog"] = Field(description="catalog")
    source: Name = Field(description="Which source tree.")
    rules: list[str] = Field(min_length=1, description="Catalog rule ids or rule-set ids (e.g. 'set:thc').")
    files: list[str] = Field(default_factory=lambda: ["**/*"], description="Globs limiting where rules apply.")
    exclude: list[str] = Field(default_factory=list, description="Globs excluded.")
    why: str | None = Field(default=None, description="Why these rules.")
    when: When | None = Field(default=None, description="Apply only when this holds.")


Patch = Annotated[RegexPatch | DiffPatch | CatalogPatch, Field(discriminator="kind")]


# --- GPU-count adaptation -------------------------------------------------------------------------------------


class Bounds(StrictModel):
    """An inclusive range; a missing end is open."""

    min: float | None = Field(default=None, description="Lower bound (inclusive).")
    max: float | None = Field(default=None, description="Upper bound (inclusive).")

    def holds(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class AdaptWhen(StrictModel):
    """When an adapt key applies: every given condition must hold (an unknown value holds none)."""

    gpu_memory_gb: Bounds | None = Field(
        default=None,
        description="Memory of the smallest selected GPU in GB, e.g. {max: 6} for 4-6 GB cards. Unknown (CPU, a GPU "
        "given as sm_XY) does not hold.",
    )
    gpus: VersionSpec | None = Field(default=None, description="Specifier on the GPU count, e.g. '==1'.")


class AdaptKey(StrictModel):
    """One value that depends on the GPU count (or the GPU's memory), and where it lives."""

    key: str = Field(description="Key: a dotted config key (SOLVER.BASE_LR), a CLI flag (--nproc_per_node), ...")
    format: Literal["yaml", "cli", "shell", "python"] = Field(
        description="yaml: key in a YAML config file; cli: appended to a task's argv as KEY VALUE (detectron2 "
        "style); shell: a flag in a shell script; python: an assignment in a Python file."
    )
    files: list[str] = Field(default_factory=list, description="Globs of files holding the key (yaml/shell/python).")
    tasks: list[Name] = Field(default_factory=list, description="cli: tasks whose argv get the override.")
    rule: Literal["gpus", "linear", "set", "syncbn", "launcher", "accumulate"] = Field(
        description="gpus: the GPU count; linear: reference value x gpus / reference_gpus; set: `value`; "
        "syncbn: SyncBN becomes BN on one GPU; launcher: torch.distributed.launch vs torchrun/LOCAL_RANK; "
        "accumulate: the code's gradient-accumulation option, set to the batch the count rules give divided by the "
        "batch that applies (a memory rule's smaller one), so the effective batch stays (needs `batch`)."
    )
    batch: str | None = Field(
        default=None,
        description="rule accumulate: the `key` of an earlier adapt key holding the batch size it compensates, "
        "e.g. SOLVER.IMS_PER_BATCH.",
    )
    reference: float | int | str | None = Field(
        default=None, description="Value at the reference GPU count (default: read from the file)."
    )
    value: float | int | str | None = Field(default=None, description="rule set: the value to use.")
    min: float | int | None = Field(default=None, description="Lower bound after scaling.")
    why: str | None = Field(default=None, description="Why it scales this way.")
    when: AdaptWhen | None = Field(
        default=None,
        description="Only when this holds; such a key replaces the earlier keys of the same key and format "
        "(a memory rule overrides the count rule of the same value).",
    )


class Adapt(StrictModel):
    """How the project scales with the number of GPUs."""

    reference_gpus: int = Field(ge=1, description="GPU count the authors' configs were written for.")
    keys: list[AdaptKey] = Field(default_factory=list, description="Values to adapt.")


# --- tasks ----------------------------------------------------------------------------------------------------


class SmokeData(StrictModel):
    """A generated stand-in for a dataset: a few tiny samples in the real dataset's layout."""

    generator: Name = Field(description="A generator legacyrun ships (`legacyrun smoke list`), e.g. ade20k-semseg.")
    dest: RelPath = Field(description="Directory under <workspace>/smoke/ where the samples are written.")
    options: dict[str, int | str | bool] = Field(
        default_factory=dict, description="Generator options, e.g. {images: 4, size: 64}."
    )


class Smoke(StrictModel):
    """How `--smoke` runs a task: generated data and arguments that prove the environment in minutes."""

    data: list[SmokeData] = Field(default_factory=list, description="Generated datasets, written before the run.")
    datasets: list[Name] = Field(
        default_factory=list, description="Real datasets still needed in smoke mode (default: none)."
    )
    args: list[str] = Field(
        default_factory=list, description="Appended after the task's argv and adapted flags (later values win)."
    )
    env: dict[str, str] = Field(default_factory=dict, description="Environment overrides, e.g. the data root.")


class Task(StrictModel):
    """A command users run: train, test, eval, prepare, demo..."""

    description: str | None = Field(default=None, description="What it does.")
    source: Name = Field(description="Source tree that is the working directory.")
    cwd: RelPath = Field(default=".", description="Working directory relative to the source tree.")
    argv: Argv = Field(description="Command as an argv list; {gpus}, {data_root}, {workspace}, {python} are expanded.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment for the task.")
    datasets: list[Name] = Field(default_factory=list, description="Datasets (and weights) that must be present.")
    distributed: bool = Field(default=False, description="The task starts one process per GPU.")
    smoke: Smoke | None = Field(default=None, description="How `--smoke` runs this task (tiny generated data).")


class Recipe(StrictModel):
    """A legacy deep-learning project, pinned so that it runs again."""

    schema_version: Literal[1] = Field(description="Recipe format version; this is version 1.")
    name: Name = Field(description="Recipe name, also the default workspace directory.")
    title: str = Field(min_length=1, description="Human title, e.g. the paper's.")
    homepage: HttpUrl | None = Field(default=None, description="Project homepage or repository page.")
    paper: HttpUrl | None = Field(default=None, description="Paper URL.")
    license: str | None = Field(default=None, description="Licence of the code and a note on data terms.")
    description: str | None = Field(default=None, description="Longer notes for people reading the recipe.")
    sources: list[Source] = Field(min_length=1, description="Git sources; the first is the main project.")
    env: Env = Field(description="Environment profiles.")
    datasets: list[Dataset] = Field(default_factory=list, description="Datasets, weights and checkpoints.")
    patches: list[Patch] = Field(default_factory=list, description="Patches, applied in order.")
    adapt: Adapt | None = Field(default=None, description="GPU-count adaptation.")
    tasks: dict[Name, Task] = Field(default_factory=dict, description="Runnable tasks by name.")
    default_task: Name | None = Field(default=None, description="Task `legacyrun up` runs (default: train).")

    def source(self, name: str) -> Source:
        for src in self.sources:
            if src.name == name:
                return src
        raise KeyError(name)

    def dataset(self, name: str) -> Dataset:
        for ds in self.datasets:
            if ds.name == name:
                return ds
        raise KeyError(name)


Location = tuple[str | int, ...]


def _duplicates(items: list[str], section: str, field: str) -> list[tuple[Location, str]]:
    seen: set[str] = set()
    out: list[tuple[Location, str]] = []
    for i, item in enumerate(items):
        if item in seen:
            out.append(((section, i, field), f"duplicate name {item!r}"))
        seen.add(item)
    return out


def _patch_refs(recipe: Recipe, sources: set[str]) -> list[tuple[Location, str]]:
    out: list[tuple[Location, str]] = []
    for i, patch in enumerate(recipe.patches):
        if patch.source not in sources:
            out.append((("patches", i, "source"), f"unknown source {patch.source!r}"))
        for j, prof in enumerate((patch.when.profiles or []) if patch.when else []):
            if prof not in recipe.env.profiles:
                out.append((("patches", i, "when", "profiles", j), f"unknown profile {prof!r}"))
    for pname, profile in recipe.env.profiles.items():
        for j, step in enumerate(profile.build):
            if step.source not in sources:
                out.append((("env", "profiles", pname, "build", j, "source"), f"unknown source {step.source!r}"))
    return out


def _task_refs(recipe: Recipe, sources: set[str], datasets: set[str]) -> list[tuple[Location, str]]:
    out: list[tuple[Location, str]] = []
    for tname, task in recipe.tasks.items():
        if task.source not in sources:
            out.append((("tasks", tname, "source"), f"unknown source {task.source!r}"))
        for j, ds in enumerate(task.datasets):
            if ds not in datasets:
                out.append((("tasks", tname, "datasets", j), f"unknown dataset {ds!r}"))
        for j, ds in enumerate(task.smoke.datasets if task.smoke else []):
            if ds not in datasets:
                out.append((("tasks", tname, "smoke", "datasets", j), f"unknown dataset {ds!r}"))
    if recipe.default_task is not None and recipe.default_task not in recipe.tasks:
        out.append((("default_task",), f"unknown task {recipe.default_task!r}"))
    return out


def _adapt_refs(recipe: Recipe) -> list[tuple[Location, str]]:
    out: list[tuple[Location, str]] = []
    for i, key in enumerate(recipe.adapt.keys if recipe.adapt else []):
        for j, t in enumerate(key.tasks):
            if t not in recipe.tasks:
                out.append((("adapt", "keys", i, "tasks", j), f"unknown task {t!r}"))
        if key.format == "cli" and not key.tasks:
            out.append((("adapt", "keys", i, "tasks"), "a cli key needs the tasks it applies to"))
        if key.format in ("yaml", "shell", "python") and not key.files:
            out.append((("adapt", "keys", i, "files"), f"a {key.format} key needs the files holding it"))
        earlier = {k.key for k in recipe.adapt.keys[:i]} if recipe.adapt else set()
        if key.rule == "accumulate" and key.batch not in earlier:
            what = f"{key.batch!r} is not the key of an earlier adapt key" if key.batch else "rule accumulate needs it"
            out.append((("adapt", "keys", i, "batch"), what))
    return out


def cross_reference_problems(recipe: Recipe) -> list[tuple[Location, str]]:
    """Checks that span fields (unique names, references between sections); each with the path it concerns."""
    sources = {s.name for s in recipe.sources}
    datasets = {d.name for d in recipe.datasets}
    return [
        *_duplicates([s.name for s in recipe.sources], "sources", "name"),
        *_duplicates([d.name for d in recipe.datasets], "datasets", "name"),
        *_duplicates([p.id for p in recipe.patches], "patches", "id"),
        *_patch_refs(recipe, sources),
        *_task_refs(recipe, sources, datasets),
        *_adapt_refs(recipe),
    ]


__all__ = [
    "SCHEMA_VERSION",
    "Adapt",
    "AdaptKey",
    "BuildStep",
    "CatalogPatch",
    "Dataset",
    "DiffPatch",
    "Env",
    "ListStep",
    "LocatedValueError",
    "ManualLink",
    "MoveStep",
    "Patch",
    "PostStep",
    "Profile",
    "PypiRelease",
    "Recipe",
    "RegexPatch",
    "RunStep",
    "Smoke",
    "SmokeData",
    "Source",
    "StrictModel",
    "Task",
    "When",
    "cross_reference_problems",
]
