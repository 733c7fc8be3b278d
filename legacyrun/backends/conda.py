"""Conda backend with py-rattler (no conda executable): solve, install into <workspace>/env, conda-lock.yml.

The first build solves the resolved specs against the channels (mirrors rewrite their URLs), with `__cuda` set to
the CUDA version the resolved host's driver supports, installs the records, then writes conda-lock.yml in
conda-lock's v1 format. When conda-lock.yml exists and was made from the same specs, the env is installed from it
alone (no solve), which is what makes a lab mate's env identical. Pip-only extras go in afterwards with the env's
own `python -m pip`. The prefix is an ordinary conda prefix (`conda activate PATH` works).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from legacyrun import proc
from legacyrun.backends import pinning
from legacyrun.backends.base import (
    BuildPlan,
    EnvRef,
    OnFailure,
    Progress,
    Rendered,
    _no_progress,
)
from legacyrun.backends.identity import content_id
from legacyrun.backends.native import fail_with_log, steps_summary
from legacyrun.backends.prefix import PrefixBackend
from legacyrun.backends.requirements import (
    LOCK_NAME,
    LockedSet,
    channel_url,
    conda_specs,
    environment_yml,
    input_hash,
    mirrored,
    not_pinned_text,
    option_lines,
    pin_summary,
    pinned_or_reason,
    pip_index_args,
    pip_lines,
    read_locked_set,
)
from legacyrun.errors import BuildError, LockError
from legacyrun.fsutil import atomic_write_text
from legacyrun.invocation import command
from legacyrun.userdirs import cache_dir

if TYPE_CHECKING:
    pass

PLATFORM: Literal["linux-64"] = "linux-64"
MARKER = "conda-meta/legacyrun-env-id"
STEPS_RECORD = "conda-meta/legacyrun-steps.json"

# Oldest Linux driver for each CUDA minor (NVIDIA's CUDA toolkit release notes, table 3); the message names it.
DRIVER_FOR_CUDA: dict[str, str] = {
    "8.0": "375.26",
    "9.0": "384.81",
    "9.1": "390.46",
    "9.2": "396.26",
    "10.0": "410.48",
    "10.1": "418.39",
    "10.2": "440.33",
    "11.0": "450.36.06",
    "11.1": "455.23",
    "11.2": "460.27.03",
    "11.3": "465.19.01",
    "11.4": "470.42.01",
    "11.5": "495.29.05",
    "11.6": "510.39.01",
    "11.7": "515.43.04",
    "11.8": "520.61.05",
    "12.0": "525.60.13",
    "12.1": "530.30.02",
    "12.2": "535.54.03",
    "12.3": "545.23.06",
    "12.4": "550.54.14",
    "12.5": "555.42.02",
    "12.6": "560.28.03",
    "12.8": "570.26",
    "12.9": "575.51.03",
    "13.0": "580.65.06",
}


def virtual_packages(plan: BuildPlan) -> list[Any]:
    """Virtual packages of this machine, except __cuda, which comes from the resolved host's driver."""
    import rattler

    out = [vp.into_generic() for vp in rattler.VirtualPackage.detect()]
    out = [vp for vp in out if vp.name.normalized != "__cuda"]
    cuda = plan.resolution.host.cuda_driver_max
    if cuda:
        out.append(
            rattler.GenericVirtualPackage(
                rattler.PackageName("__cuda"), rattler.Version(cuda), rattler.BuildString("0")
            )
        )
    return out


def _cuda_needed(message: str, fallback: str | None) -> str | None:
    m = re.search(r"__cuda\s*>=\s*([0-9]+(?:\.[0-9]+)?)", message)
    return m.group(1) if m else fallback


def driver_for(cuda: str) -> str | None:
    parts = cuda.split(".")
    return DRIVER_FOR_CUDA.get(".".join(parts[:2]))


def _one_line(text: str, limit: int = 400) -> str:
    # The solver draws a tree (└─ ├─ │); one line keeps its words, joined by '; '.
    parts = [s.strip(" \t└├─│:") for s in text.splitlines()]
    line = "; ".join(p for p in parts if p)
    return line if len(line) <= limit else line[: limit - 3] + "..."


def solve_error(plan: BuildPlan, exc: Exception) -> BuildError:
    """The solver's explanation in one line; a too-old __cuda names the driver the pins need."""
    text = str(exc)
    if "__cuda" in text:
        host_cuda = plan.resolution.host.cuda_driver_max
        need = _cuda_needed(text, plan.resolution.cuda)
        driver = driver_for(need) if need else None
        have = f"the driver supports CUDA {host_cuda} at most" if host_cuda else "no NVIDIA driver was found"
        needs = f"NVIDIA driver >= {driver} (CUDA {need})" if driver else f"a driver for CUDA {need}"
        return BuildError(
            f"conda: the pins need {needs}, but {have}: {_one_line(text, 200)}",
            hint=f"install {needs}, or resolve for this host (`{command('lock', plan.recipe.recipe.name)}`), "
            "e.g. the modern profile",
        )
    return BuildError(
        f"conda: cannot solve {', '.join(conda_specs(plan))}: {_one_line(text)}",
        hint="check the specs and channels in the recipe; `--mirror` if a channel is unreachable",
    )


def _cache_dirs() -> tuple[Path, Path]:
    root = cache_dir() / "conda"
    return root / "repodata", root / "pkgs"


async def _solve(plan: BuildPlan) -> list[Any]:
    import rattler

    repodata_cache, _ = _cache_dirs()
    gateway = rattler.Gateway(cache_dir=repodata_cache)
    channels = [rattler.Channel(channel_url(c, plan.mirrors)) for c in plan.resolution.conda_channels]
    # Lenient parsing: recipes and the knowledge base write conda's classic 'pytorch 1.9.0' form.
    specs = [rattler.MatchSpec(s, strict=False) for s in conda_specs(plan)]
    return list(
        await rattler.solve(
            sources=channels,
            specs=specs,
            gateway=gateway,
            platforms=[PLATFORM, "noarch"],
            virtual_packages=virtual_packages(plan),
            timestamp_policy="allow-missing",
        )
    )


def solve(plan: BuildPlan) -> list[Any]:
    """Solve the plan's specs; BuildError with rattler's explanation on failure."""
    from rattler.exceptions import GatewayError, InvalidMatchSpecError, SolverError

    try:
        return asyncio.run(_solve(plan))
    except SolverError as exc:
        raise solve_error(plan, exc) from None
    except (GatewayError, InvalidMatchSpecError) as exc:
        raise BuildError(
            f"conda: {_one_line(str(exc))}", hint="check the recipe's channels and specs; `--mirror` to rewrite URLs"
        ) from None


def _hex(value: Any) -> str | None:
    if value is None:
        return None
    return value.hex() if isinstance(value, bytes | bytearray) else str(value)


def _dep_map(depends: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for dep in depends:
        name, _, spec = dep.strip().partition(" ")
        out[name] = spec.strip()
    return out


def lock_text(records: Sequence[Any], spec_hash: str, channels: Sequence[str]) -> str:
    """conda-lock v1 YAML (the format `conda-lock install` reads); deterministic: sorted, no timestamps."""
    packages = []
    for rec in sorted(records, key=lambda r: r.name.normalized):
        packages.append(
            {
                "name": rec.name.normalized,
                "version": str(rec.version),
                "manager": "conda",
                "platform": str(rec.subdir),
                "dependencies": _dep_map([str(d) for d in rec.depends]),
                "url": str(rec.url),
                "hash": {"md5": _hex(rec.md5), "sha256": _hex(rec.sha256)},
                "build": str(rec.build),
                "category": "main",
                "optional": False,
            }
        )
    data = {
        "version": 1,
        "metadata": {
            "content_hash": {PLATFORM: spec_hash},
            "channels": [{"url": c, "used_env_vars": []} for c in channels],
            "platforms": [PLATFORM],
            "sources": ["environment.yml"],
        },
        "package": packages,
    }
    header = (
        "# Generated by legacyrun (py-rattler) in conda-lock's v1 format; do not edit.\n"
        "# Install it with `legacyrun build` or `conda-lock install -p PREFIX conda-lock.yml`.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def _build_number(build: str) -> int:
    tail = build.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def records_from_lock(path: Path) -> list[Any]:
    """RepoDataRecords for every conda package of a conda-lock.yml (v1), to install without solving."""
    import rattler

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != 1:
            raise LockError(f"{path}: not a conda-lock v1 file", hint="delete it to solve again")
        out = []
        for pkg in data.get("package", []):
            if pkg.get("manager") != "conda" or pkg.get("platform") not in (PLATFORM, "noarch"):
                continue
            url = str(pkg["url"])
            hashes = pkg.get("hash") or {}
            build = str(pkg.get("build") or "")
            deps = [f"{k} {v}".strip() for k, v in (pkg.get("dependencies") or {}).items()]
            record = rattler.PackageRecord(
                name=str(pkg["name"]),
                version=str(pkg["version"]),
                build=rattler.BuildString(build) if build else rattler.BuildString("0"),
                build_number=_build_number(build),
                subdir=url.rsplit("/", 2)[-2],
                depends=deps,
                md5=bytes.fromhex(hashes["md5"]) if hashes.get("md5") else None,
                sha256=bytes.fromhex(hashes["sha256"]) if hashes.get("sha256") else None,
            )
            channel = url.rsplit("/", 2)[0]
            out.append(rattler.RepoDataRecord(record, url.rsplit("/", 1)[-1], url, channel))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise LockError(f"{path}: cannot read conda lock: {exc}", hint="delete it to solve again") from None
    return out


def lock_spec_hash(path: Path) -> str | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return str(data["metadata"]["content_hash"][PLATFORM])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None


def install(records: Sequence[Any], prefix: Path) -> None:
    import rattler
    from rattler.exceptions import InstallerError, LinkError, TransactionError

    _, pkgs_cache = _cache_dirs()
    pkgs_cache.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(rattler.install(list(records), target_prefix=prefix, cache_dir=pkgs_cache, show_progress=False))
    except (InstallerError, LinkError, TransactionError) as exc:
        raise BuildError(f"conda: installing into {prefix} failed: {_one_line(str(exc))}") from None


def installed(prefix: Path) -> list[tuple[str, str, str, str]]:
    """(name, version, build, sha256) of every package in a prefix, sorted: what 'the same env' means."""
    import json

    out = []
    for meta in sorted((prefix / "conda-meta").glob("*.json")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        out.append((data["name"], data["version"], data["build"], data.get("sha256") or ""))
    return sorted(out)


def locked_pip_set(plan: BuildPlan) -> LockedSet | None:
    """The workspace's requirements.lock.txt when it was made for this env's pip extras (keyed by environment.yml:
    the extras are resolved against the packages conda installed)."""
    digest = input_hash("conda", environment_yml(plan))
    return read_locked_set(plan.workspace.root / LOCK_NAME, digest)


class CondaBackend(PrefixBackend):
    marker = MARKER
    steps_record = STEPS_RECORD
    name = "conda"
    description = "a conda prefix in <workspace>/env, solved and installed with py-rattler, locked in conda-lock.yml"

    def render(self, plan: BuildPlan) -> Rendered:
        files = {"environment.yml": environment_yml(plan)}
        # The env id covers the packages only; each build step has its own key (native.step_keys).
        extra = {"platform": PLATFORM, "virtual_cuda": plan.resolution.host.cuda_driver_max or ""}
        env_id = content_id(files, extra)
        summary = [
            f"conda prefix {plan.workspace.env}",
            f"channels: {', '.join(channel_url(c, plan.mirrors) for c in plan.resolution.conda_channels) or '-'}",
            f"specs: {', '.join(conda_specs(plan))}",
            f"pip extras: {', '.join(pip_lines(plan)) or '-'}",
            *([pin_summary(locked_pip_set(plan), "at build (with the env's own pip)")] if pip_lines(plan) else []),
            "from conda-lock.yml (no solve)"
            if plan.workspace.conda_lockfile.exists()
            else "solve, then write conda-lock.yml",
        ]
        steps = steps_summary(plan)
        if steps:
            summary.append(steps)
        return Rendered(self.name, files, env_id, summary)

    def ref(self, plan: BuildPlan) -> EnvRef:
        return EnvRef(self.name, self.render(plan).env_id, str(plan.workspace.env))

    def build(
        self,
        plan: BuildPlan,
        progress: Progress = _no_progress,
        *,
        on_failure: OnFailure | None = None,
        force: list[str] | None = None,
    ) -> EnvRef:
        rendered = self.render(plan)
        prefix = plan.workspace.env
        if self.env_exists(plan):
            return self.run_steps_in_kept_env(plan, rendered, progress, on_failure, force)
        spec_hash = hashlib.sha256(rendered.files["environment.yml"].encode("utf-8")).hexdigest()
        lockfile = plan.workspace.conda_lockfile
        if lockfile.exists() and lock_spec_hash(lockfile) == spec_hash:
            progress(f"installing from {lockfile} (no solve)")
            records = records_from_lock(lockfile)
        else:
            progress(f"solving {', '.join(conda_specs(plan))}")
            records = solve(plan)
            channels = [channel_url(c, plan.mirrors) for c in plan.resolution.conda_channels]
            atomic_write_text(lockfile, lock_text(records, spec_hash, channels))
            progress(f"wrote {lockfile} ({len(records)} packages)")
        # A half-built prefix has no marker; start it over rather than trust it.
        if prefix.exists():
            shutil.rmtree(prefix)
        progress(f"installing {len(records)} packages into {prefix}")
        install(records, prefix)
        self._pip_extras(plan, prefix, progress, on_failure)
        return self.run_steps_in_new_env(plan, rendered, progress, on_failure)

    @staticmethod
    def _pip_extras(plan: BuildPlan, prefix: Path, progress: Progress, on_failure: OnFailure | None) -> None:
        """Install the pip extras from the hash-pinned set (resolved now with the env's pip when there is none for
        this environment.yml), or, when it cannot be pinned, as before with a plain `pip install`."""
        lines = pip_lines(plan)
        if not lines:
            return
        python = str(prefix / "bin" / "python")
        locked = CondaBackend._pin_extras(plan, python, progress)
        if locked.pinned and not locked.lines:
            progress("pip extras: conda installed all of them already")
            return
        with tempfile.TemporaryDirectory(prefix="legacyrun-pip-") as tmp:
            if locked.pinned:
                install_from = Path(tmp) / LOCK_NAME
                install_from.write_text(mirrored(locked.text, plan), encoding="utf-8")
                argv = [python, "-m", "pip", "install", "--require-hashes", "--no-deps", "-r", str(install_from)]
                progress(f"pip install --require-hashes --no-deps -r {LOCK_NAME} ({len(locked.lines)} package(s))")
            else:
                argv = [python, "-m", "pip", "install", *pip_index_args(plan), *lines]
                progress(f"pip install {' '.join(lines)}")
            CondaBackend._pip(plan, prefix, argv, progress, on_failure)

    @staticmethod
    def _pin_extras(plan: BuildPlan, python: str, progress: Progress) -> LockedSet:
        digest = input_hash("conda", environment_yml(plan))
        path = plan.workspace.root / LOCK_NAME
        current = read_locked_set(path, digest)
        if current is not None and current.pinned:
            return current
        options = option_lines(pip_index_args(replace(plan, mirrors=None)))
        text = "".join(f"{ln}\n" for ln in [*options, *pip_lines(plan)])
        log = plan.workspace.logs / "build-pip-resolve.log"
        got = pinning.resolve(python, mirrored(text, plan), ignore_installed=False, log_path=log, progress=progress)
        if got.report is None:
            locked = LockedSet("", got.reason or "pip gave no report")
        else:
            locked = pinned_or_reason(got.report, digest, options, any_platform=True)
        if not locked.pinned:
            locked = LockedSet(not_pinned_text(digest, locked.reason or ""), locked.reason)
        atomic_write_text(path, locked.text)
        progress(pin_summary(locked, ""))
        return locked

    @staticmethod
    def _pip(plan: BuildPlan, prefix: Path, argv: list[str], progress: Progress, on_failure: OnFailure | None) -> None:
        log_path = plan.workspace.logs / "build-pip.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        stream = proc.stream(argv, env={"PYTHONNOUSERSITE": "1"})
        with log_path.open("w", encoding="utf-8") as log:
            for line in stream:
                log.write(line + "\n")
                progress(line)
        if stream.returncode != 0:
            fail_with_log(f"pip install into {prefix} failed (exit {stream.returncode})", log_path, on_failure)


__all__ = [
    "DRIVER_FOR_CUDA",
    "CondaBackend",
    "driver_for",
    "install",
    "installed",
    "lock_text",
    "locked_pip_set",
    "records_from_lock",
    "solve",
    "virtual_packages",
]
