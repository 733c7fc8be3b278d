"""The pip and conda specs every backend installs, rendered as text: requirement lines, requirement files (the input
pip resolves and the hash-pinned requirements.lock.txt made from pip's report) and environment.yml.

Rendering only: nothing here runs pip or a solver. The venv and conda backends write these files into the
workspace; the docker backend copies them into its build context.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from legacyrun.backends.base import BuildPlan
from legacyrun.fetch.mirrors import rewrite_prefix

LOCK_NAME = "requirements.lock.txt"
"""The hash-pinned pip closure beside legacyrun.lock (what `recipe export` carries with the lock)."""
LOCK_HEADER = "# legacyrun requirements lock; input "
NOT_PINNED = "# not pinned: "

# A name with plain version clauses: how resolved pins and most extras are written. Read here because
# importing packaging.requirements costs a no-op `up` ~30 ms; any other form goes to packaging (same answer).
_PRE_POST_DEV = r"(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?"
_VERSION_CLAUSE = (
    rf"(?:(?:==|!=)\s*(?:\d+(?:\.\d+)*\.\*|\d+(?:\.\d+)*{_PRE_POST_DEV}(?:\+[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*)?)"
    rf"|~=\s*\d+(?:\.\d+)+{_PRE_POST_DEV}|(?:<=|>=|<|>)\s*\d+(?:\.\d+)*{_PRE_POST_DEV})"
)
_SIMPLE_REQ = re.compile(
    rf"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?:\s*{_VERSION_CLAUSE}(?:\s*,\s*{_VERSION_CLAUSE})*)?"
)


@functools.lru_cache(maxsize=4096)  # rendering a plan asks for the same lines many times
def _req_name(line: str) -> str | None:
    simple = _SIMPLE_REQ.fullmatch(line)
    if simple is not None:
        return simple.group(1).lower().replace("_", "-")
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(line).name.lower().replace("_", "-")
    except InvalidRequirement:
        return None


def _installs_torch(plan: BuildPlan) -> bool:
    res = plan.resolution
    names = {_req_name(ln) for ln in res.pip_specs}
    names |= {re.split(r"[\s=<>!~\[]", spec.strip(), maxsplit=1)[0].lower() for spec in res.conda_specs}
    return bool(names & {"torch", "pytorch"})


def pip_lines(plan: BuildPlan) -> list[str]:
    """Resolved pip specs (torch first) plus the profile's extras whose names the resolution did not pin."""
    res = plan.resolution
    lines = list(res.pip_specs)
    if res.installer == "conda":
        # torch and friends come from conda; only the profile's pure-pip extras go through pip.
        lines = [ln for ln in lines if _req_name(ln) not in {"torch", "torchvision", "pytorch"}]
    seen = {_req_name(ln) for ln in lines}
    for extra in plan.profile_spec.pip:
        if _req_name(extra) not in seen:
            lines.append(extra)
            seen.add(_req_name(extra))
    if plan.profile_spec.build and "ninja" not in seen and _installs_torch(plan):
        # torch.utils.cpp_extension builds in parallel (MAX_JOBS) only with ninja; without it a CUDA op that takes
        # a minute takes ten.
        lines.append("ninja")
    return lines


def pip_index_args(plan: BuildPlan) -> list[str]:
    """pip options for the PyTorch wheel index of this CUDA variant (as extra index: PyPI stays for the rest)."""
    res = plan.resolution
    args: list[str] = []
    if res.pip_index_url:
        args += ["--extra-index-url", rewrite_prefix(res.pip_index_url, plan.mirrors)]
    if res.pip_find_links:
        args += ["--find-links", rewrite_prefix(res.pip_find_links, plan.mirrors)]
    return args


def requirements_in(plan: BuildPlan) -> str:
    """What pip resolves: index options first, then the pinned lines (torch first).

    The index URLs are the canonical ones, never mirror-rewritten: a mirror is how the files travel, not what the
    environment is, so an env built through --mirror or LEGACYRUN_MIRRORS has the same id (and `run` without the
    mirror finds it). Mirrors are applied to a temporary copy at install time (`_mirrored`).
    """
    lines = [*option_lines(pip_index_args(replace(plan, mirrors=None))), *pip_lines(plan)]
    return "".join(f"{ln}\n" for ln in lines)


_INDEX_OPTIONS = ("--extra-index-url ", "--index-url ", "--find-links ")


def mirrored(text: str, plan: BuildPlan) -> str:
    """Requirement text with the index option URLs rewritten by the plan's mirrors."""
    if not plan.mirrors:
        return text
    out = []
    for line in text.splitlines():
        for opt in _INDEX_OPTIONS:
            if line.startswith(opt):
                line = opt + rewrite_prefix(line[len(opt) :].strip(), plan.mirrors)
        out.append(line)
    return "\n".join(out) + "\n"


def option_lines(args: list[str]) -> list[str]:
    return [f"{args[i]} {args[i + 1]}" for i in range(0, len(args), 2)]


def requirements_text(plan: BuildPlan) -> str:
    lines = pip_lines(plan)
    return "".join(f"{ln}\n" for ln in lines)


def archive_sha256(item: dict[str, Any]) -> str | None:
    info = item.get("download_info") or {}
    archive = info.get("archive_info") or {}
    hashes = archive.get("hashes") or {}
    if "sha256" in hashes:
        return str(hashes["sha256"])
    legacy = archive.get("hash") or ""
    if legacy.startswith("sha256="):
        return legacy.split("=", 1)[1]
    url = str(info.get("url") or "")
    if url.startswith("file://"):
        path = Path(unquote(urlparse(url).path))
        if path.is_file():
            return hashlib.sha256(path.read_bytes()).hexdigest()
    return None


def lock_from_report(report: dict[str, Any], input_hash: str, options: list[str]) -> str:
    """requirements.lock.txt text from pip's installation report (sorted, hashed where a hash is known)."""
    lines = [f"{LOCK_HEADER}{input_hash}", *options]
    for item in sorted(report.get("install", []), key=lambda i: str(i["metadata"]["name"]).lower()):
        meta = item["metadata"]
        line = f"{meta['name']}=={meta['version']}"
        sha = archive_sha256(item)
        if sha:
            line += f" --hash=sha256:{sha}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def lock_input_hash(path: Path) -> str | None:
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        return None
    return first.rsplit(" ", 1)[-1] if first.startswith(LOCK_HEADER) else None


CHANNEL_ALIAS = "https://conda.anaconda.org/"
_DEFAULTS = "https://repo.anaconda.com/pkgs/main"


def channel_url(channel: str, mirrors: Mapping[str, str] | None = None) -> str:
    """A channel name, URL or local path as a URL, with the longest matching mirror prefix rewritten."""
    if channel.startswith("/"):
        url = Path(channel).as_uri()
    elif "://" in channel:
        url = channel
    elif channel == "defaults":
        url = _DEFAULTS
    else:
        url = CHANNEL_ALIAS + channel
    return rewrite_prefix(url.rstrip("/"), mirrors)


def _spec_name(spec: str) -> str:
    return re.split(r"[\s=<>!~\[]", spec.strip(), maxsplit=1)[0].lower()


def conda_specs(plan: BuildPlan) -> list[str]:
    """Resolved specs (python and torch first), then the profile's extra conda specs not already named."""
    specs = list(plan.resolution.conda_specs)
    if not specs:
        specs = [f"python {plan.resolution.python}.*"]
    names = {_spec_name(s) for s in specs}
    for extra in plan.profile_spec.conda:
        if _spec_name(extra) not in names:
            specs.append(extra)
            names.add(_spec_name(extra))
    return specs


def environment_yml(plan: BuildPlan) -> str:
    """The environment spec (channels + specs + pip extras); also what the docker backend feeds micromamba."""
    deps: list[Any] = list(conda_specs(plan))
    pip = pip_lines(plan)
    if pip:
        if "pip" not in {_spec_name(d) for d in deps if isinstance(d, str)}:
            deps.append("pip")
        args = pip_index_args(plan)
        options = [f"{args[i]} {args[i + 1]}" for i in range(0, len(args), 2)]  # one line per option
        deps.append({"pip": [*options, *pip]})
    data = {
        "name": plan.recipe.recipe.name,
        "channels": [channel_url(c, plan.mirrors) for c in plan.resolution.conda_channels],
        "dependencies": deps,
    }
    return "# Rendered by legacyrun; conda-lock.yml pins it exactly.\n" + yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False
    )


# --- the pinned set on disk ---------------------------------------------------------------------------------------


def input_hash(kind: str, text: str) -> str:
    """The id of what a backend pins: its kind and the requirement text pip resolves (docker and conda sets never
    pass for each other or for the venv's, which hashes requirements.in alone)."""
    return hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()


def not_pinned_text(digest: str, reason: str) -> str:
    """requirements.lock.txt when the set could not be pinned here: the input and the one-line reason, no packages."""
    return f"{LOCK_HEADER}{digest}\n{NOT_PINNED}{' '.join(reason.split())}\n"


@dataclass(frozen=True)
class LockedSet:
    """requirements.lock.txt as made for one input: a pinned set (reason None) or why it could not be pinned."""

    text: str
    reason: str | None = None

    @property
    def pinned(self) -> bool:
        return self.reason is None

    @property
    def lines(self) -> list[str]:
        """The requirement lines (no comments, no options)."""
        return [ln for ln in self.text.splitlines() if ln.strip() and not ln.startswith(("#", "-"))]


def read_locked_set(path: Path, digest: str) -> LockedSet | None:
    """The set at `path` when it was made from this input, else None (no file, or made from another input)."""
    if lock_input_hash(path) != digest:
        return None
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith(NOT_PINNED):
            return LockedSet(text, line[len(NOT_PINNED) :].strip() or "unknown")
    return LockedSet(text)


def platform_wheels(report: dict[str, Any]) -> list[str]:
    """Names whose chosen file is a wheel for one platform or ABI (not `-none-any`), sorted."""
    out = []
    for item in report.get("install", []):
        url = str((item.get("download_info") or {}).get("url") or "")
        name = url.rsplit("/", 1)[-1].split("#", 1)[0]
        if name.endswith(".whl") and not name.endswith("-none-any.whl"):
            out.append(str(item["metadata"]["name"]))
    return sorted(out, key=str.lower)


def unhashed(report: dict[str, Any]) -> list[str]:
    """Names whose chosen file has no sha256 (the index gave none and it is not a local file), sorted."""
    return sorted(
        (str(i["metadata"]["name"]) for i in report.get("install", []) if archive_sha256(i) is None), key=str.lower
    )


def pinned_or_reason(report: dict[str, Any], digest: str, options: list[str], *, any_platform: bool) -> LockedSet:
    """The hash-pinned set from pip's report, or why it cannot be one.

    any_platform=False (docker): a wheel for one platform is refused, because the image's pip picks among a
    release's wheels for its own platform (its glibc, not this host's) and may take another file than the hash."""
    missing = unhashed(report)
    if missing:
        return LockedSet("", f"the index gives no sha256 for {', '.join(missing)}")
    if not any_platform:
        bound = platform_wheels(report)
        if bound:
            return LockedSet(
                "",
                f"{', '.join(bound)} {'has' if len(bound) == 1 else 'have'} platform wheels, and the image's pip may "
                "choose another file of the same release than this host's",
            )
    return LockedSet(lock_from_report(report, digest, options))


def pin_summary(locked: LockedSet | None, when: str) -> str:
    """The one line of a plan about its pip set: pinned, why not, or when it will be."""
    if locked is None:
        return f"pip set: resolved here and hash-pinned into {LOCK_NAME} {when}"
    if locked.pinned:
        return f"pip set: {len(locked.lines)} package(s) from {LOCK_NAME} (hash-pinned, --require-hashes --no-deps)"
    return f"pip set not hash-pinned: {locked.reason}; pip resolves it at install time"


__all__ = [
    "CHANNEL_ALIAS",
    "LOCK_HEADER",
    "LOCK_NAME",
    "NOT_PINNED",
    "LockedSet",
    "archive_sha256",
    "channel_url",
    "conda_specs",
    "environment_yml",
    "input_hash",
    "lock_from_report",
    "lock_input_hash",
    "mirrored",
    "not_pinned_text",
    "option_lines",
    "pin_summary",
    "pinned_or_reason",
    "pip_index_args",
    "pip_lines",
    "platform_wheels",
    "read_locked_set",
    "requirements_in",
    "requirements_text",
    "unhashed",
]
