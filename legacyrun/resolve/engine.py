"""Recipe profile + host -> complete pins with reasons.

Profiles are tried in the recipe's `prefer` order (faithful, then modern). A profile fits when some official torch
build it allows (a) exists for its Python, (b) carries kernels for every visible GPU and (c) runs on the driver.
Kernels: a cubin of the same major arch and an equal or lower minor (binary compatibility); PTX only counts when
the build's CUDA toolkit knows the GPU's arch, because the cuDNN/cuBLAS bundled with an older toolkit have no
kernels for it. Driver: the toolkit's minimum, or the CUDA 11+ minor-version-compatibility floor (noted).
No I/O happens here beyond reading the knowledge base.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from packaging.version import Version

from legacyrun.errors import ResolveError, UsageError
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import ArchList, TorchRelease, cc_key, cc_text, driver_at_least, version_key
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.recipe.models import Profile, Recipe
from legacyrun.resolution import GpuInfo, HostInfo, Resolution
from legacyrun.resolve import openmmlab
from legacyrun.resolve.image import choose_image, cpu_image
from legacyrun.resolve.match import is_exact, matches
from legacyrun.resolve.oldgpu import old_gpu_plan
from legacyrun.resolve.openmmlab import MmcvWindow
from legacyrun.resolve.pins import FLAG, Pinned, apply_pins, check_pins, passed_over, pin_reasons


@dataclass
class Candidate:
    release: TorchRelease
    python: str
    cuda: str | None
    installer: str
    arch: ArchList | None
    full_driver: bool = True
    driver_note: str | None = None


@dataclass
class Failure:
    """Why a profile does not fit, most telling first; `driver` is the driver that would satisfy it, if that is all."""

    lines: list[str] = field(default_factory=list)
    arch: str | None = None
    driver: tuple[str, str] | None = None  # (needed driver, for CUDA)
    driver_line: str | None = None

    def best(self) -> str:
        return self.arch or self.driver_line or (self.lines[0] if self.lines else "no official torch build fits")


def gpu_label(gpu: GpuInfo) -> str:
    """Short model name for messages: 'NVIDIA H100 80GB HBM3' -> 'H100'."""
    row = kb().gpu_row(gpu.name)
    if row is not None:
        for pattern in row.patterns:
            hit = pattern.search(gpu.name)
            if hit:
                return hit.group(0)
    return re.sub(r"^(NVIDIA |Tesla |GeForce |NVIDIA GeForce )+", "", gpu.name)


def describe_host(host: HostInfo) -> str:
    if host.cpu_only:
        return "a host without GPU" + (" (assumed)" if host.assumed else "")
    names: dict[str, int] = {}
    for gpu in host.gpus:
        names[gpu_label(gpu)] = names.get(gpu_label(gpu), 0) + 1
    gpus = ", ".join(f"{n}x {name}" if n > 1 else name for name, n in names.items())
    driver = f", driver {host.driver}" if host.driver else ", driver unknown"
    return f"{gpus}{driver}" + (" (assumed)" if host.assumed else "")


def _gpu_ccs(host: HostInfo) -> list[tuple[GpuInfo, tuple[int, int]]]:
    out = []
    for gpu in host.gpus:
        if not gpu.compute_capability:
            raise ResolveError(
                f"cannot tell the compute capability of GPU {gpu.name!r}",
                hint="plan for it explicitly with --gpu sm_XY (e.g. --gpu sm_86)",
            )
        out.append((gpu, cc_key(gpu.compute_capability)))
    return out


def _runs_on(arch: ArchList, cuda: str, cc: tuple[int, int]) -> bool:
    if arch.has_cubin_for(cc):
        return True
    return arch.has_ptx_for(cc) and kb().toolkit_knows(cuda, cc)


def _installer(release: TorchRelease, cuda: str | None) -> str | None:
    knowledge = kb()
    if cuda is None:
        if knowledge.pip_rule(release.facts_from):
            return "pip"
        return "conda" if knowledge.conda_cpu_rule(release.facts_from) else None
    if cuda in release.pip and knowledge.pip_rule(release.facts_from):
        return "pip"
    if cuda in release.conda and knowledge.conda_rule(release.facts_from):
        return "conda"
    return None


def _check_driver(driver: str | None, cuda: str) -> tuple[bool, bool, str | None, str | None]:
    """(ok, full, note, needed) for running a CUDA `cuda` build on `driver` (unknown driver: assume current)."""
    knowledge = kb()
    need = knowledge.driver_min(cuda)
    if driver is None or need is None:
        return True, True, None, None
    if driver_at_least(driver, need):
        return True, True, None, need
    floor = knowledge.minor_compat_floor(cuda)
    if floor and driver_at_least(driver, floor):
        note = (
            f"driver {driver} is below CUDA {cuda}'s {need} but >= {floor}: runs under CUDA minor-version "
            "compatibility (no PTX JIT)"
        )
        return True, False, note, need
    return False, False, None, floor or need


def _python_for(release: TorchRelease, pin: str) -> str | None:
    ok = [p for p in release.python if matches(p, pin)]
    return max(ok, key=version_key) if ok else None


def _candidates_for(
    release: TorchRelease, prof: Profile, host: HostInfo, failure: Failure, window: MmcvWindow | None = None
) -> list[Candidate]:
    python = _python_for(release, prof.python)
    if python is None:
        failure.lines.append(
            f"torch {release.torch} has no build for Python {prof.python} (builds: {', '.join(release.python)})"
        )
        return []
    if host.cpu_only:
        if not release.cpu or _installer(release, None) is None:
            failure.lines.append(f"torch {release.torch} has no CPU-only build")
            return []
        cpu = Candidate(release, python, None, _installer(release, None) or "pip", None)
        return [cpu] if openmmlab.keep(window, release.torch, [None], failure.lines) else []
    ccs = _gpu_ccs(host)
    out: list[Candidate] = []
    cudas = [c for c in release.cudas() if matches(c, prof.cuda)]
    if not cudas:
        failure.lines.append(f"torch {release.torch} has no official build for CUDA {prof.cuda}")
        return []
    cudas = openmmlab.keep(window, release.torch, cudas, failure.lines)
    for cuda in cudas:
        installer = _installer(release, cuda)
        if installer is None:
            continue
        if prof.cudnn and not matches(release.cudnn(cuda, installer) or "", prof.cudnn):
            failure.lines.append(
                f"torch {release.torch}+cu{cuda.replace('.', '')} bundles cuDNN "
                f"{release.cudnn(cuda, installer)}, not {prof.cudnn}"
            )
            continue
        arch = kb().arch_list(release.facts_from, cuda, installer)
        if arch is None:
            failure.lines.append(f"the archs of torch {release.torch}+cu{cuda.replace('.', '')} are not known")
            continue
        missing = [(gpu, cc) for gpu, cc in ccs if not _runs_on(arch, cuda, cc)]
        if missing:
            continue
        ok, full, note, needed = _check_driver(host.driver, cuda)
        if not ok:
            assert needed is not None
            build = f"{release.torch}+cu{cuda.replace('.', '')}"
            line = f"driver {host.driver} is too old for torch {build} (needs >= {needed})"
            failure.lines.append(line)
            if failure.driver is None or version_key(needed) < version_key(failure.driver[0]):
                failure.driver = (needed, cuda)
                failure.driver_line = line
            continue
        out.append(Candidate(release, python, cuda, installer, arch, full, note))
    if not out and not failure.arch and len(cudas) == 1:
        failure.arch = _dropped_failure(cudas[0], ccs)
    if not out and not failure.arch:
        failure.arch = _arch_failure(release, cudas, ccs)
    return out


def _dropped_failure(cuda: str, ccs: list[tuple[GpuInfo, tuple[int, int]]]) -> str | None:
    """'V100 is sm_70; CUDA 13.0 dropped sm_50-sm_72 (Maxwell, Pascal, Volta)' when the toolkit cannot target a GPU."""
    for gpu, cc in ccs:
        dropped = kb().dropped_for(cuda, cc)
        if dropped is not None:
            sm = cc_text(cc).replace(".", "")
            return f"{gpu_label(gpu)} is sm_{sm}; CUDA {dropped.cuda} dropped {dropped.span()} ({dropped.family})"
    return None


def _any_arch_list(torch: str, cuda: str) -> ArchList | None:
    return kb().arch_list(torch, cuda, "pip") or kb().arch_list(torch, cuda, "conda")


def _arch_failure(release: TorchRelease, cudas: list[str], ccs: list[tuple[GpuInfo, tuple[int, int]]]) -> str | None:
    """'H100 is sm_90; torch 1.9.0 builds stop at CUDA 11.1 (sm_86)' when no build has kernels for a GPU."""
    newest = cudas[-1]
    arch = _any_arch_list(release.torch, newest)
    if arch is None:
        return None
    lists = [(c, _any_arch_list(release.torch, c)) for c in cudas]
    for gpu, cc in ccs:
        if not any(a is not None and _runs_on(a, c, cc) for c, a in lists):
            top = cc_text(arch.max_cc).replace(".", "")
            sm = cc_text(cc).replace(".", "")
            return f"{gpu_label(gpu)} is sm_{sm}; torch {release.torch} builds stop at CUDA {newest} (sm_{top})"
    return None


def _pick(cands: list[Candidate], driver_known: bool) -> Candidate:
    """A build the driver fully supports (newest CUDA); else, under minor-version compatibility, the CUDA closest
    to the driver. With no driver to go by, the release's default (stable) CUDA variant first."""

    def key(c: Candidate) -> tuple[bool, bool, tuple[int, ...], bool]:
        cuda = version_key(c.cuda or "0")
        default = not driver_known and c.cuda is not None and c.cuda == c.release.pip_default
        return (c.full_driver, default, cuda if c.full_driver else tuple(-x for x in cuda), c.installer == "pip")

    return max(cands, key=key)


def _newer_release(pin: str) -> TorchRelease | None:
    """An exact torch pin newer than the knowledge base: the base always lags PyTorch's releases, and a new release
    keeps its predecessor's Python, CUDA and arch support far more often than not. Its facts are taken from the
    newest known release, and the resolution says so."""
    if not is_exact(pin):
        return None
    newest = kb().torch_releases[-1]
    if version_key(pin) <= version_key(newest.torch):
        return None
    old, new = Version(newest.torch), Version(pin)
    tv = Version(newest.torchvision)
    guess = f"{tv.major}.{tv.minor + (new.minor - old.minor)}.{new.micro}" if new.major == old.major else None
    return replace(
        newest,
        torch=str(new),
        torchvision=guess or newest.torchvision,
        date=None,
        note=f"newer than the knowledge base; build facts assumed from torch {newest.torch}",
        source="extrapolated",
        proxy=newest.torch,
        torchvision_also=(),
    )


def _try_profile(
    prof: Profile, host: HostInfo, pins: Mapping[str, str], window: MmcvWindow | None = None
) -> tuple[Candidate | None, Failure]:
    failure = Failure()
    releases = [r for r in kb().torch_releases if matches(r.torch, prof.torch)]
    if "torchvision" in pins and "torch" not in pins:
        # a torchvision pin chooses the torch releases it pairs with
        releases = [r for r in releases if pins["torchvision"] in r.torchvisions()]
        if not releases:
            failure.lines.append(f"no torch {prof.torch} pairs with torchvision {pins['torchvision']} ({FLAG})")
            return None, failure
    if not releases:
        newer = _newer_release(prof.torch)
        if newer is None:
            known = kb().torch_releases
            failure.lines.append(
                f"torch {prof.torch} is not in the knowledge base (it knows {known[0].torch} .. {known[-1].torch})"
            )
            return None, failure
        releases = [newer]
    for release in sorted(releases, key=lambda r: r.key, reverse=True):
        cands = _candidates_for(release, prof, host, failure, window)
        if cands:
            return _pick(cands, host.driver is not None), failure
    return None, failure


# -- turning a candidate into pins ------------------------------------------------------------------------------


def _arch_list_for(host: HostInfo, cuda: str) -> str | None:
    """TORCH_CUDA_ARCH_LIST for extension builds: each GPU's arch, capped at what this nvcc targets, last +PTX."""
    if host.cpu_only:
        return None
    toolkit = kb().toolkit_ccs(cuda)
    chosen: set[tuple[int, int]] = set()
    for _, cc in _gpu_ccs(host):
        fits = [t for t in toolkit if t <= cc and (t[0] == cc[0] or not any(x[0] == cc[0] for x in toolkit))]
        chosen.add(max(fits) if fits else cc)
    ordered = sorted(chosen)
    parts = [cc_text(c) for c in ordered]
    parts[-1] += "+PTX"
    return ";".join(parts)


def _pip_lines(cand: Candidate, tv: str | None) -> tuple[str | None, str | None, list[str]]:
    release = cand.release
    if cand.cuda is None and kb().cpu_from_pypi(release.facts_from):
        # PyPI's default wheel runs without a GPU: no PyTorch index, so a PyPI mirror (or local disk) is enough
        return None, None, [f"torch=={release.torch}"] + ([f"torchvision=={tv}"] if tv else [])
    rule = kb().pip_rule(release.facts_from)
    assert rule is not None
    variant = "cpu" if cand.cuda is None else "cu" + cand.cuda.replace(".", "")
    suffix = ""
    if rule.local_version and not (cand.cuda is not None and cand.cuda == release.pip_default):
        suffix = "+" + variant
    specs = [f"torch=={release.torch}{suffix}"]
    if tv:
        specs.append(f"torchvision=={tv}{suffix}")
    if rule.mode == "index":
        return rule.url.format(variant=variant), None, specs
    return None, rule.url, specs


def _conda_lines(cand: Candidate, tv: str | None) -> tuple[list[str], list[str]]:
    knowledge = kb()
    release = cand.release
    specs = [f"python={cand.python}"]
    if cand.cuda is None:
        cpu = knowledge.conda_cpu_rule(release.facts_from) or {}
        specs.append(f"{cpu.get('torch_pkg', 'pytorch')}={release.torch}")
        if tv:
            specs.append(f"{cpu.get('torchvision_pkg', 'torchvision')}={tv}")
        specs.extend(cpu.get("extra", []))
        return list(cpu.get("channels", ["pytorch"])), specs
    rule = knowledge.conda_rule(release.facts_from)
    assert rule is not None
    specs.append(f"{rule.torch_pkg}={release.torch}")
    if tv:
        specs.append(f"torchvision={tv}")
    specs.append(rule.cuda_spec.format(cuda=cand.cuda, nodot=cand.cuda.replace(".", "")))
    channels = list(rule.channels)
    if knowledge.conda_forge_needed(release.torch, cand.cuda):
        channels.append("conda-forge")
    return channels, specs


def _has_forward_ports(recipe: Recipe, profile: str) -> bool:
    return any(p.when is None or p.when.profiles is None or profile in p.when.profiles for p in recipe.patches)


def _choice_line(recipe: Recipe, name: str, cand: Candidate, host: HostInfo, failures: list[str]) -> str:
    build = f"torch {cand.release.torch}" + (f", CUDA {cand.cuda}" if cand.cuda else ", CPU build")
    if failures:
        tail = " with forward-port patches" if _has_forward_ports(recipe, name) else ""
        return f"{failures[0]}; using profile {name} ({build}){tail}"
    if host.cpu_only:
        return f"no GPU{' (assumed)' if host.assumed else ''}: using profile {name} ({build})"
    labels = sorted({gpu_label(g) for g in host.gpus})
    archs = sorted({(g.compute_capability or "?").replace(".", "") for g in host.gpus})
    return f"{', '.join(labels)} is sm_{', sm_'.join(archs)}; {build} has kernels for it: using profile {name}"


def _torchvision(name: str, prof: Profile, release: TorchRelease) -> str | None:
    if prof.torchvision == "none":
        return None
    if prof.torchvision and is_exact(prof.torchvision):
        return prof.torchvision
    if prof.torchvision and not matches(release.torchvision, prof.torchvision):
        raise ResolveError(
            f"profile {name}: torchvision {prof.torchvision} does not match torch {release.torch}'s "
            f"torchvision {release.torchvision}",
            hint="pin torchvision exactly or drop it to use the matching release",
        )
    return release.torchvision


def _build_step_reasons(prof: Profile) -> list[str]:
    """What a CPU plan does with the profile's native build steps (no CUDA is compiled on a CPU plan)."""
    skipped = [s.name for s in prof.build if s.cpu == "skip"]
    cpu_only = [s.name for s in prof.build if s.cpu == "build" and s.cuda]
    lines = []
    if cpu_only:
        lines.append(f"CPU plan: {_steps(cpu_only)} without CUDA (CPU ops only)")
    if skipped:
        lines.append(f"CPU plan: {_steps(skipped, skip=True)} on this plan (cpu: skip)")
    return lines


def _steps(names: list[str], *, skip: bool = False) -> str:
    many = len(names) > 1
    verb = ("are skipped" if many else "is skipped") if skip else ("compile" if many else "compiles")
    return f"build step{'s' if many else ''} {', '.join(names)} {verb}"


def _build_resolution(
    loaded: LoadedRecipe,
    name: str,
    cand: Candidate,
    host: HostInfo,
    failures: list[str],
    forced: bool,
    pins: Mapping[str, str],
    pinned: Pinned,
) -> Resolution:
    recipe = loaded.recipe
    prof = pinned.profile
    release = cand.release
    tv = _torchvision(name, prof, release)
    reasons = [_choice_line(recipe, name, cand, host, failures)]
    if forced:
        reasons.append(f"profile {name} was requested with --profile")
    reasons.extend(pin_reasons(pins, pinned))
    reasons.extend(openmmlab.reasons(recipe, prof, release.torch, cand.cuda))
    reasons.extend(failures[1:])
    cudnn = None
    if cand.cuda is None:
        image = cpu_image(prof.gcc)
        arch_list = None
        if prof.cuda:
            reasons.append(f"CPU build: the profile's cuda {prof.cuda} does not apply")
        reasons.extend(_build_step_reasons(prof))
    else:
        cudnn = release.cudnn(cand.cuda, cand.installer)
        image_choice = choose_image(cand.cuda, cudnn, prof.gcc)
        if image_choice is None and "gcc" in pins:
            raise ResolveError(
                f"{FLAG} gcc={pins['gcc']}: nvcc {cand.cuda} accepts gcc <= {kb().gcc_max(cand.cuda)} "
                f"(profile {name}, torch {release.torch})",
                hint="pin an older gcc, or a newer CUDA with --pin cuda=X.Y",
            )
        if image_choice is None:
            raise ResolveError(
                f"profile {name}: no nvidia/cuda image or Ubuntu release offers a gcc {prof.gcc or ''} that nvcc "
                f"{cand.cuda} accepts (<= {kb().gcc_max(cand.cuda)})".replace("gcc  ", "gcc "),
                hint="relax the profile's gcc pin",
            )
        image = image_choice
        arch_list = _arch_list_for(host, cand.cuda)
        assert cand.arch is not None
        variant = f"{release.torch}+cu{cand.cuda.replace('.', '')}"
        reasons.append(
            f"torch {variant} ({cand.installer}) is compiled for {cand.arch.sm_list()} ({cand.arch.source}"
            + (f"; {cand.arch.note}" if cand.arch.note else "")
            + ")"
        )
        if cand.driver_note:
            reasons.append(cand.driver_note)
        elif host.driver:
            reasons.append(f"driver {host.driver} >= {kb().driver_min(cand.cuda)} needed by CUDA {cand.cuda}")
        else:
            reasons.append(f"driver unknown: CUDA {cand.cuda} needs >= {kb().driver_min(cand.cuda)}")
    if release.proxy:
        reasons.append(
            f"torch {release.torch} is newer than the knowledge base; builds assumed as for torch {release.proxy}"
        )
    reasons.append(f"python {cand.python} (torch {release.torch} builds: {', '.join(release.python)})")
    reasons.append(image.reason)
    if image.note:
        reasons.append(image.note)
    pip_index = find_links = None
    pip_specs: list[str] = []
    conda_channels: list[str] = []
    conda_specs: list[str] = [f"python={cand.python}"]
    if cand.installer == "pip":
        pip_index, find_links, pip_specs = _pip_lines(cand, tv)
        if pip_index is None and find_links is None:
            reasons.append(
                f"pip: torch {release.torch} from PyPI: its default Linux wheel (a CUDA build) runs without a GPU, "
                "so no PyTorch index is needed"
            )
        if prof.conda:
            conda_channels = ["conda-forge"]
    else:
        conda_channels, conda_specs = _conda_lines(cand, tv)
    pip_specs.extend(prof.pip)
    conda_specs.extend(prof.conda)
    if arch_list:
        reasons.append(f"TORCH_CUDA_ARCH_LIST={arch_list} (the GPUs' archs, capped at what nvcc {cand.cuda} targets)")
    return Resolution(
        recipe=recipe.name,
        recipe_hash=loaded.hash,
        profile=name,
        python=cand.python,
        torch=release.torch,
        torchvision=tv,
        cuda=cand.cuda,
        cudnn=cudnn,
        gcc=image.gcc,
        base_image=image.base_image,
        base_image_note=image.note,
        torch_cuda_arch_list=arch_list,
        pip_index_url=pip_index,
        pip_find_links=find_links,
        pip_specs=pip_specs,
        conda_channels=conda_channels,
        conda_specs=conda_specs,
        installer=cand.installer,
        host=host,
        pins=dict(pins),
        reasons=reasons,
    )


def _order(recipe: Recipe, profile: str | None, pinned: dict[str, Pinned]) -> tuple[list[str], list[str]]:
    """Profiles to try, and why preferred ones were put last: with pins, the profiles admitting all come first."""
    order = [profile] if profile else list(recipe.env.prefer) or sorted(recipe.env.profiles)
    if profile is not None:
        return order, []
    admitting = [n for n in order if pinned[n].admits_all]
    if not admitting or admitting == order[: len(admitting)]:
        return order, []
    ahead = order[: order.index(admitting[0])]
    return admitting + [n for n in order if n not in admitting], [passed_over(n, pinned[n]) for n in ahead]


def _check_host_pins(pins: Mapping[str, str], host: HostInfo) -> None:
    if "cuda" in pins and host.cpu_only:
        raise UsageError(
            f"{FLAG} cuda={pins['cuda']}: the plan is for {describe_host(host)}, which installs no CUDA",
            hint="plan for a GPU with --gpu NAME|sm_XY (and --driver VERSION)",
        )


def _old_gpu_hint(loaded: LoadedRecipe, host: HostInfo) -> str | None:
    """For a Kepler GPU, the explained plan (binaries with its arch, a source build, the CPU) instead of a refusal."""
    for gpu in host.gpus:
        plan = old_gpu_plan(loaded, gpu)
        if plan is not None:
            lines = plan.lines()
            if plan.source_builds:
                lines.append("`legacyrun resolve ... --source-build` prints the Dockerfile of the source build")
            return "\n".join(lines)
    return None


def resolve(
    loaded: LoadedRecipe, host: HostInfo, *, profile: str | None = None, pins: Mapping[str, str] | None = None
) -> Resolution:
    """Pins for `loaded` on `host`: the first profile in the recipe's `prefer` order that fits, or `profile`.

    `pins` (--pin NAME=VERSION for torch, torchvision, python, cuda, gcc) override the profile's values; profiles
    whose own specs admit every pin are tried first."""
    recipe = loaded.recipe
    if profile is not None and profile not in recipe.env.profiles:
        raise UsageError(
            f"recipe {recipe.name} has no profile {profile!r} (profiles: {', '.join(sorted(recipe.env.profiles))})"
        )
    checked = check_pins(pins)
    _check_host_pins(checked, host)
    pinned = {n: apply_pins(p, checked) for n, p in recipe.env.profiles.items()}
    order, passed = _order(recipe, profile, pinned)
    failures: list[str] = []
    driver_needs: list[tuple[str, str, str]] = []
    for name in order:
        prof = pinned[name].profile
        cand, failure = _try_profile(prof, host, checked, openmmlab.window_for(recipe, prof))
        if cand is not None:
            return _build_resolution(
                loaded, name, cand, host, passed + failures, profile is not None, checked, pinned[name]
            )
        failures.append(failure.best())
        if failure.driver and not failure.arch:
            driver_needs.append((failure.driver[0], failure.driver[1], name))
    where = describe_host(host)
    hint = None
    if driver_needs:
        need, cuda, name = min(driver_needs, key=lambda d: version_key(d[0]))
        hint = f"upgrade the NVIDIA driver to >= {need} (CUDA {cuda}, profile {name})"
    elif "torch" in checked and "python" not in checked and any("has no build for Python" in f for f in failures):
        release = kb().torch_release(checked["torch"])
        builds = f" (builds: {', '.join(release.python)})" if release else ""
        hint = f"pin a Python that torch {checked['torch']} has with {FLAG} python=X.Y{builds}"
    elif not host.cpu_only and profile is None:
        hint = "plan for another machine with --gpu NAME|sm_XY --driver VERSION, or use --cpu"
    old_gpu = _old_gpu_hint(loaded, host)
    if old_gpu is not None:
        hint = old_gpu
    if profile is not None:
        raise ResolveError(f"profile {profile} of {recipe.name} cannot run on {where}: {failures[0]}", hint=hint)
    detail = "; ".join(f"{n}: {f}" for n, f in zip(order, failures, strict=True))
    raise ResolveError(f"no profile of {recipe.name} can run on {where}: {detail}", hint=hint)


__all__ = ["describe_host", "gpu_label", "resolve"]
