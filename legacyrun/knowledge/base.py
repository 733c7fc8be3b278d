"""Typed, cached queries over the JSON facts in legacyrun/knowledge/data/."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"

Version = tuple[int, ...]


def version_key(text: str) -> Version:
    """'11.1.1' -> (11, 1, 1); trailing non-digits in a part are ignored ('0.3.0.post4' -> (0, 3, 0, 4))."""
    out: list[int] = []
    for part in text.split("."):
        digits = re.match(r"\d+", part) or re.search(r"\d+", part)
        if digits:
            out.append(int(digits.group(0)))
    return tuple(out)


def minor(cuda: str) -> str:
    """'11.1.1' -> '11.1'."""
    return ".".join(cuda.split(".")[:2])


def driver_at_least(driver: str, minimum: str) -> bool:
    """Whether an NVIDIA driver meets a minimum; a driver given as a branch ('418') means any 418.x, so it is
    compared only as far as it was given (418 satisfies 418.39, 418.30 does not)."""
    have = version_key(driver)
    return have >= version_key(minimum)[: len(have)]


def cc_key(cc: str) -> tuple[int, int]:
    """Compute capability '8.6' (or 'sm_86', '86') -> (8, 6)."""
    text = cc.strip().lower().removeprefix("sm_").removeprefix("sm").removeprefix("compute_")
    if "." in text:
        major, _, rest = text.partition(".")
        return int(major), int(re.match(r"\d+", rest).group(0) if re.match(r"\d+", rest) else 0)  # type: ignore[union-attr]
    digits = re.match(r"\d+", text)
    if not digits:
        raise ValueError(f"not a compute capability: {cc!r}")
    num = digits.group(0)
    return int(num[:-1]), int(num[-1])


def cc_text(key: tuple[int, int]) -> str:
    return f"{key[0]}.{key[1]}"


def _in_range(version: str, bounds: list[str]) -> bool:
    key = version_key(version)
    return version_key(bounds[0]) <= key <= version_key(bounds[1])


@dataclass(frozen=True)
class TorchRelease:
    """One torch release and its official builds."""

    torch: str
    torchvision: str
    python: tuple[str, ...]
    pip: dict[str, str]  # CUDA minor -> bundled cuDNN
    conda: dict[str, str]  # CUDA minor -> cuDNN of the pytorch-channel package
    pip_default: str | None
    cpu: bool
    date: str | None
    note: str | None
    index: str | None
    source: str
    proxy: str | None = None  # set when extrapolated: the known release whose build facts stand in
    torchvision_also: tuple[str, ...] = ()  # other torchvision releases whose torch requirement admits this one

    def torchvisions(self) -> tuple[str, ...]:
        """Every torchvision known to work with this torch: its own release first."""
        return (self.torchvision, *self.torchvision_also)

    @property
    def facts_from(self) -> str:
        """The release whose arch lists and channel rules describe this one."""
        return self.proxy or self.torch

    @property
    def key(self) -> Version:
        return version_key(self.torch)

    def cudas(self) -> list[str]:
        """Every CUDA minor with an official build (pip or conda), oldest first."""
        return sorted(set(self.pip) | set(self.conda), key=version_key)

    def cudnn(self, cuda: str, installer: str) -> str | None:
        table = self.pip if installer == "pip" else self.conda
        return table.get(cuda) or self.pip.get(cuda) or self.conda.get(cuda)


@dataclass(frozen=True)
class ArchList:
    """TORCH_CUDA_ARCH_LIST an official binary was built with: cubins per arch, PTX where '+PTX'."""

    text: str
    source: str
    note: str | None = None

    @cached_property
    def entries(self) -> tuple[tuple[tuple[int, int], bool], ...]:
        out = []
        for item in re.split(r"[;\s]+", self.text.strip()):
            if not item:
                continue
            ptx = item.endswith("+PTX")
            out.append((cc_key(item.removesuffix("+PTX")), ptx))
        return tuple(out)

    @property
    def max_cc(self) -> tuple[int, int]:
        return max(e[0] for e in self.entries)

    def has_cubin_for(self, gpu: tuple[int, int]) -> bool:
        """A cubin runs on GPUs of the same major and an equal or newer minor (binary compatibility)."""
        return any(cc[0] == gpu[0] and cc[1] <= gpu[1] for cc, _ in self.entries)

    def has_ptx_for(self, gpu: tuple[int, int]) -> bool:
        return any(ptx and cc <= gpu for cc, ptx in self.entries)

    def sm_list(self) -> str:
        return " ".join(f"sm_{a}{b}" for (a, b), _ in self.entries)


@dataclass(frozen=True)
class ArchRow:
    """A GPU arch and the first CUDA toolkit that compiles for it (Blackwell and later)."""

    sm: str
    cc: str
    family: str
    gpus: str
    first_cuda: str
    last_cuda: str | None
    source: str


@dataclass(frozen=True)
class DroppedArchs:
    """Archs a CUDA toolkit release no longer compiles for (offline compilation removed)."""

    cuda: str
    family: str
    sms: tuple[str, ...]
    source: str

    def span(self) -> str:
        return f"{self.sms[0]}-{self.sms[-1]}" if len(self.sms) > 1 else self.sms[0]


@dataclass(frozen=True)
class GpuRow:
    name: str
    cc: str
    patterns: tuple[re.Pattern[str], ...]
    source: str


@dataclass(frozen=True)
class GpuModel:
    """One board of gpu_models.csv: compute capability, memory variants (GB, the usual one first), sources."""

    name: str
    family: str  # geforce | titan | quadro | datacenter | jetson
    cc: str
    memory_gb: tuple[int, ...]
    aliases: tuple[str, ...]
    cc_source: str
    memory_source: str


@dataclass(frozen=True)
class GpuMatch:
    """A GPU name resolved against the table; `memory_gb` is the variant the name says ('80GB'), else the usual."""

    model: GpuModel
    memory_gb: int


# Words that vendors and drivers put around the same board: 'NVIDIA GeForce GTX 760', 'Tesla K80', 'NVIDIA H200'.
_NOISE = {"nvidia", "geforce", "tesla", "generation", "gpu", "graphics", "pcie", "sxm", "sxm2", "sxm4", "sxm5"}


def gpu_tokens(name: str) -> tuple[str, ...]:
    """Words of a GPU name for matching: lower case, letters and digits split ('GTX1080Ti' -> gtx 1080 ti),
    vendor words and memory sizes dropped."""
    text = re.sub(r"(\d+)\s*(gb|g)\b", " ", name.lower())  # memory variants are read apart, see gpu_memory_hint
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text)
    return tuple(t for t in text.split() if t not in _NOISE)


def gpu_memory_hint(name: str) -> int | None:
    """'NVIDIA A100-SXM4-80GB' -> 80; None when the name does not say."""
    found = re.search(r"(\d+)\s*gb\b", name.lower())
    return int(found.group(1)) if found else None


def _contains(words: tuple[str, ...], key: tuple[str, ...]) -> bool:
    return any(words[i : i + len(key)] == key for i in range(len(words) - len(key) + 1))


_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class ImageTag:
    """An nvidia/cuda devel tag."""

    cuda: str  # full version as in the tag, e.g. '11.1.1' or '10.0'
    ubuntu: str
    cudnn: str | None  # tag flavour: 'cudnn8', 'cudnn9', 'cudnn' or None
    status: str  # supported | eol | deleted
    source: str

    @property
    def tag(self) -> str:
        flavour = f"{self.cudnn}-devel" if self.cudnn else "devel"
        return f"nvidia/cuda:{self.cuda}-{flavour}-ubuntu{self.ubuntu}"


@dataclass(frozen=True)
class UbuntuGcc:
    ubuntu: str
    default_gcc: int
    gcc: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class CondaRule:
    channels: tuple[str, ...]
    cuda_spec: str
    torch_pkg: str
    source: str


@dataclass(frozen=True)
class PipRule:
    mode: str  # index | find_links
    url: str
    local_version: bool
    source: str


@dataclass(frozen=True)
class MmcvSeries:
    """One mmcv-full release series and the torch x CUDA pairs OpenMMLab published prebuilt wheels for."""

    series: str
    releases: tuple[str, ...]
    wheels: dict[str, tuple[str, ...]]  # torch minor -> CUDA minors (and 'cpu')
    note: str | None
    source: str

    def has_wheel(self, torch: str, cuda: str | None) -> bool:
        """Whether (torch, CUDA or None for CPU) is in the published matrix."""
        row = self.wheels.get(".".join(torch.split("+", maxsplit=1)[0].split(".")[:2]), ())
        return (minor(cuda) if cuda else "cpu") in row

    def torch_span(self) -> str:
        keys = sorted(self.wheels, key=version_key)
        return f"{keys[0]}-{keys[-1]}"

    def newest_torch(self) -> str:
        return max(self.wheels, key=version_key)


@dataclass(frozen=True)
class MmcvRequirement:
    """Which mmcv-full releases an OpenMMLab codebase release accepts (asserted in its __init__.py)."""

    package: str
    releases: tuple[str, ...]
    mmcv_full: str  # a PEP 440 specifier
    source: str


OVERLAY_ENV = "LEGACYRUN_KB_OVERLAY"


def _load(name: str, overlay: Path | None = None) -> Any:
    path = overlay / name if overlay is not None and (overlay / name).is_file() else DATA / name
    with path.open("rb") as fh:
        return json.load(fh)


@dataclass(frozen=True)
class CudaRunfile:
    """NVIDIA's archived runfile of one CUDA release (runfiles.json): where it is, its checksum, how to install it.

    A row without sha256 or md5 is unverified: the docker build refuses it (docs/gpus.md)."""

    cuda: str  # full version, e.g. '10.0.130'
    url: str
    sha256: str | None
    md5: str | None
    path_option: str  # '--toolkitpath' (<= 10.0) or '--installpath' (>= 10.1)
    apt: tuple[str, ...]
    ubuntu: str
    source: str
    note: str | None = None

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def verified(self) -> bool:
        return bool(self.sha256 or self.md5)


@dataclass
class KnowledgeBase:
    """Lazily parsed tables; use `kb()` for the shared instance.

    `overlay`: a folder whose JSON files replace the shipped ones of the same name (LEGACYRUN_KB_OVERLAY), for a
    lab's own facts, e.g. the checksum of a runfile the shipped table lacks."""

    _cache: dict[str, Any] = field(default_factory=dict)
    overlay: Path | None = None

    def _data(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = _load(name, self.overlay)
        return self._cache[name]

    # -- sources ------------------------------------------------------------------------------------------------
    @cached_property
    def sources(self) -> dict[str, str]:
        data: dict[str, str] = self._data("sources.json")
        return data

    # -- python -------------------------------------------------------------------------------------------------
    def python_releases(self) -> list[tuple[str, str]]:
        """(x.y, date of x.y.0) of CPython feature releases, oldest first (python.json)."""
        rows = [(str(r["python"]), str(r["date"])) for r in self._data("python.json")["releases"]]
        return sorted(rows, key=lambda r: version_key(r[0]))

    # -- conda package names ------------------------------------------------------------------------------------
    @cached_property
    def conda_names(self) -> dict[str, str]:
        """conda package name (lower case) -> the pin it sets: torch, torchvision, python, cuda or cudnn."""
        return {str(k): str(v) for k, v in self._data("conda_names.json")["names"].items()}

    # -- torch --------------------------------------------------------------------------------------------------
    @cached_property
    def torch_releases(self) -> tuple[TorchRelease, ...]:
        rows = []
        for r in self._data("torch.json")["releases"]:
            rows.append(
                TorchRelease(
                    torch=r["torch"],
                    torchvision=r["torchvision"],
                    python=tuple(r["python"]),
                    pip=dict(r["pip"]),
                    conda=dict(r["conda"]),
                    pip_default=r["pip_default"],
                    cpu=r["cpu"],
                    date=r["date"],
                    note=r["note"],
                    index=r["index"],
                    source=r["source"],
                    torchvision_also=tuple(r.get("torchvision_also", ())),
                )
            )
        return tuple(sorted(rows, key=lambda t: t.key))

    @cached_property
    def _torch_by_version(self) -> dict[Version, TorchRelease]:
        return {t.key: t for t in self.torch_releases}

    def torch_release(self, version: str) -> TorchRelease | None:
        return self._torch_by_version.get(version_key(version))

    @cached_property
    def _arch_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._data("torch.json")["arch_lists"]
        return rows

    def arch_list(self, torch: str, cuda: str, channel: str = "pip") -> ArchList | None:
        """Archs compiled into the official `channel` build of torch for CUDA `cuda` (conda falls back to pip)."""
        hit = self._arch_lookup(torch, minor(cuda), channel)
        if hit is None and channel == "conda":
            hit = self._arch_lookup(torch, minor(cuda), "pip")
        return hit

    def _arch_lookup(self, torch: str, cuda: str, channel: str) -> ArchList | None:
        key = f"arch:{torch}:{cuda}:{channel}"
        if key not in self._cache:
            found = None
            for row in self._arch_rows:
                if row["channel"] in (channel, "any") and cuda in row["cuda"] and _in_range(torch, row["torch"]):
                    found = ArchList(row["arch_list"], row["source"], row["note"])
                    break
            self._cache[key] = found
        hit: ArchList | None = self._cache[key]
        return hit

    @cached_property
    def _pip_rules(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = self._data("torch.json")["pip"]["rules"]
        return rules

    def pip_rule(self, torch: str) -> PipRule | None:
        """Where the CUDA/CPU variants of a torch release are published for pip (most specific rule wins)."""
        best: dict[str, Any] | None = None
        for rule in self._pip_rules:
            if _in_range(torch, rule["torch"]) and (
                best is None or version_key(rule["torch"][0]) >= version_key(best["torch"][0])
            ):
                best = rule
        if best is None:
            return None
        return PipRule(best["mode"], best["url"], best["local_version"], best["source"])

    def cpu_from_pypi(self, torch: str) -> bool:
        """A CPU plan installs this torch from PyPI: its default Linux wheel runs without a GPU (see torch.json)."""
        rule: dict[str, Any] | None = self._data("torch.json")["pip"].get("cpu_pypi")
        return rule is not None and _in_range(torch, rule["torch"])

    @cached_property
    def _conda(self) -> dict[str, Any]:
        data: dict[str, Any] = self._data("torch.json")["conda"]
        return data

    def conda_rule(self, torch: str) -> CondaRule | None:
        for rule in self._conda["rules"]:
            if _in_range(torch, rule["torch"]):
                return CondaRule(tuple(rule["channels"]), rule["cuda_spec"], rule["torch_pkg"], rule["source"])
        return None

    def conda_cpu_rule(self, torch: str) -> dict[str, Any] | None:
        for rule in self._conda["cpu"]:
            if _in_range(torch, rule["torch"]):
                return dict(rule)
        return None

    def conda_forge_needed(self, torch: str, cuda: str) -> bool:
        """PV1's commands add -c conda-forge for some cudatoolkit versions the pytorch channel did not carry."""
        return any(r["cuda"] == cuda and _in_range(torch, r["torch"]) for r in self._conda["conda_forge_cudatoolkit"])

    @property
    def last_pytorch_channel_release(self) -> str:
        value: str = self._conda["last_pytorch_channel_release"]["torch"]
        return value

    # -- CUDA: drivers, compilers, archs ------------------------------------------------------------------------
    @cached_property
    def _cuda(self) -> dict[str, Any]:
        data: dict[str, Any] = self._data("cuda.json")
        return data

    @cached_property
    def _driver_rows(self) -> list[tuple[Version, str, str]]:
        rows = [(version_key(r["cuda"]), r["linux_min_driver"], r["cuda"]) for r in self._cuda["driver_min"]]
        return sorted(rows)

    def driver_min(self, cuda: str) -> str | None:
        """Minimum Linux driver for a toolkit: exact patch row, or the lowest patch of a minor ('11.1')."""
        key = version_key(cuda)
        hits = [r for r in self._driver_rows if r[0][: len(key)] == key]
        if hits and len(key) >= 3:
            exact = [r for r in hits if r[0] == key]
            if exact:
                return exact[0][1]
        if not hits and len(key) >= 3:
            # A patch release newer than the table (12.3.2): the minor's newest known row is the best lower bound.
            same = [r for r in self._driver_rows if r[0][:2] == key[:2]]
            return max(same, key=lambda r: version_key(r[1]))[1] if same else None
        if not hits:
            return None
        return min(hits, key=lambda r: version_key(r[1]))[1]

    def minor_compat_floor(self, cuda: str) -> str | None:
        """Driver floor under minor-version compatibility (CUDA 11+), else None."""
        major = version_key(cuda)[0]
        for row in self._cuda["minor_version_compat"]:
            if row["cuda_major"] == major:
                value: str = row["min_driver"]
                return value
        return None

    def max_cuda_for_driver(self, driver: str) -> str | None:
        """Newest CUDA toolkit (minor) whose full minimum driver is <= `driver`."""
        ok = [r for r in self._driver_rows if driver_at_least(driver, r[1])]
        return minor(ok[-1][2]) if ok else None

    def cudas_with_driver_facts(self) -> list[str]:
        return sorted({minor(r[2]) for r in self._driver_rows}, key=version_key)

    def gcc_max(self, cuda: str) -> int | None:
        """Newest host GCC major nvcc of this CUDA accepts ('11.4' means 11.4.0)."""
        key = version_key(cuda)
        for row in self._cuda["gcc_max"]:
            if version_key(row["cuda"][0]) <= key <= version_key(row["cuda"][1]):
                value: int = row["gcc_max"]
                return value
        return None

    @cached_property
    def _sm(self) -> dict[str, tuple[str, ...]]:
        return {r["cuda"]: tuple(r["targets"]) for r in self._cuda["sm_targets"]}

    def sm_targets(self, cuda: str) -> tuple[str, ...]:
        return self._sm.get(minor(cuda), ())

    def toolkit_ccs(self, cuda: str) -> list[tuple[int, int]]:
        """Plain (not a/f-suffixed) compute capabilities nvcc of this CUDA can target."""
        return sorted(cc_key(t) for t in self.sm_targets(cuda) if re.fullmatch(r"sm_\d+", t))

    def toolkit_max_cc(self, cuda: str) -> tuple[int, int] | None:
        ccs = self.toolkit_ccs(cuda)
        return ccs[-1] if ccs else None

    def toolkit_knows(self, cuda: str, gpu: tuple[int, int]) -> bool:
        ccs = self.toolkit_ccs(cuda)
        return bool(ccs) and ccs[0] <= gpu <= ccs[-1]

    @cached_property
    def arch_rows(self) -> tuple[ArchRow, ...]:
        return tuple(
            ArchRow(r["sm"], r["cc"], r["family"], r["gpus"], r["first_cuda"], r.get("last_cuda"), r["source"])
            for r in self._cuda["archs"]
        )

    def arch_row(self, cc: tuple[int, int]) -> ArchRow | None:
        """The recorded facts of one (newer) arch: family, GPUs, first toolkit that compiles for it."""
        for row in self.arch_rows:
            if cc_key(row.cc) == cc:
                return row
        return None

    @cached_property
    def dropped_archs(self) -> tuple[DroppedArchs, ...]:
        return tuple(
            DroppedArchs(r["cuda"], r["family"], tuple(r["sms"]), r["source"]) for r in self._cuda["dropped_archs"]
        )

    def dropped_for(self, cuda: str, cc: tuple[int, int]) -> DroppedArchs | None:
        """The toolkit release (at or before `cuda`) that stopped compiling for this arch, if one did."""
        for row in self.dropped_archs:
            if version_key(row.cuda) <= version_key(minor(cuda)) and cc in {cc_key(s) for s in row.sms}:
                return row
        return None

    def first_cuda_for(self, gpu: tuple[int, int]) -> str | None:
        """Oldest toolkit that can compile for this GPU's arch (or its major)."""
        for cuda in sorted(self._sm, key=version_key):
            ccs = self.toolkit_ccs(cuda)
            if any(c[0] == gpu[0] and c[1] <= gpu[1] for c in ccs):
                return cuda
        return None

    # -- GPUs ---------------------------------------------------------------------------------------------------
    @cached_property
    def gpus(self) -> tuple[GpuRow, ...]:
        return tuple(
            GpuRow(g["name"], g["cc"], tuple(re.compile(p, re.IGNORECASE) for p in g["patterns"]), g["source"])
            for g in self._data("gpus.json")["gpus"]
        )

    def gpu_row(self, name: str) -> GpuRow | None:
        # 'rtx3090' / 'GTX1080Ti' as typed on a command line mean 'RTX 3090' / 'GTX 1080Ti'.
        name = re.sub(r"\b(RTX|GTX)(?=\d)", r"\1 ", name, flags=re.IGNORECASE)
        for row in self.gpus:
            if any(p.search(name) for p in row.patterns):
                return row
        return None

    def gpu_cc(self, name: str) -> str | None:
        match = self.gpu_model(name)
        if match is not None:
            return match.model.cc
        row = self.gpu_row(name)
        return row.cc if row else None

    @cached_property
    def gpu_models(self) -> tuple[GpuModel, ...]:
        import csv

        with (DATA / "gpu_models.csv").open(encoding="utf-8", newline="") as fh:
            return tuple(
                GpuModel(
                    name=r["name"],
                    family=r["family"],
                    cc=r["cc"],
                    memory_gb=tuple(int(m) for m in r["memory_gb"].split(";") if m),
                    aliases=tuple(a for a in r["aliases"].split(";") if a),
                    cc_source=r["cc_source"],
                    memory_source=r["memory_source"],
                )
                for r in csv.DictReader(fh)
            )

    @cached_property
    def _gpu_keys(self) -> list[tuple[tuple[str, ...], GpuModel]]:
        keys = [(gpu_tokens(n), m) for m in self.gpu_models for n in (m.name, *m.aliases)]
        # The most specific name wins: 'GTX 1080 Ti' before 'GTX 1080', 'GTX TITAN X' before 'GTX TITAN'.
        return sorted(keys, key=lambda k: -len(k[0]))

    def gpu_model(self, name: str) -> GpuMatch | None:
        """The board a name means ('NVIDIA GeForce GTX 760', 'GTX 760', 'Tesla K80', 'NVIDIA A100-SXM4-80GB')."""
        words = gpu_tokens(name)
        if not words:
            return None
        for key, model in self._gpu_keys:
            if key and _contains(words, key):
                hint = gpu_memory_hint(name)
                memory = hint if hint is not None and hint in model.memory_gb else model.memory_gb[0]
                return GpuMatch(model, memory)
        return None

    # -- images and Ubuntu compilers -------------------------------------------------------------------------------
    @cached_property
    def _images(self) -> dict[str, Any]:
        data: dict[str, Any] = self._data("images.json")
        return data

    @cached_property
    def image_tags(self) -> tuple[ImageTag, ...]:
        return tuple(
            ImageTag(t["cuda"], t["ubuntu"], t["cudnn"], t["status"], t["source"]) for t in self._images["tags"]
        )

    def images_for(self, cuda: str) -> list[ImageTag]:
        """Existing devel tags for a CUDA minor: newest patch first, then newest Ubuntu."""
        want = minor(cuda)
        hits = [t for t in self.image_tags if minor(t.cuda) == want]
        return sorted(hits, key=lambda t: (version_key(t.cuda), version_key(t.ubuntu)), reverse=True)

    def image_digest(self, ref: str) -> str | None:
        """The registry digest (sha256:...) the knowledge base records for an image reference, else None.

        Only digests read from a registry belong here (images.json `digests`: reference -> digest, with the source
        in `digest_sources`); none is ever derived, so an image without one is built from its tag and said so."""
        digests: dict[str, str] = self._images.get("digests") or {}
        digest = digests.get(ref)
        return digest if digest is not None and _DIGEST.fullmatch(digest) else None

    def deleted_images(self, cuda: str) -> list[dict[str, Any]]:
        want = minor(cuda)
        return [d for d in self._images["deleted"] if minor(d["cuda"]) == want]

    @cached_property
    def ubuntu_gcc(self) -> tuple[UbuntuGcc, ...]:
        return tuple(
            UbuntuGcc(u["ubuntu"], u["default_gcc"], tuple(u["gcc"]), u["source"]) for u in self._images["ubuntu_gcc"]
        )

    def ubuntu(self, release: str) -> UbuntuGcc | None:
        for row in self.ubuntu_gcc:
            if row.ubuntu == release:
                return row
        return None

    # -- archived CUDA runfiles ------------------------------------------------------------------------------------
    @cached_property
    def runfiles(self) -> tuple[CudaRunfile, ...]:
        return tuple(
            CudaRunfile(
                cuda=str(r["cuda"]),
                url=str(r["url"]),
                sha256=r.get("sha256"),
                md5=r.get("md5"),
                path_option=str(r["path_option"]),
                apt=tuple(r.get("apt", ())),
                ubuntu=str(r["ubuntu"]),
                source=str(r["source"]),
                note=r.get("note"),
            )
            for r in self._data("runfiles.json")["runfiles"]
        )

    def runfile(self, cuda: str) -> CudaRunfile | None:
        """The archived runfile for a CUDA minor ('10.0') or release ('10.0.130'); the newest patch of the minor."""
        want = version_key(cuda)
        hits = [r for r in self.runfiles if version_key(r.cuda)[: len(want)] == want]
        return max(hits, key=lambda r: version_key(r.cuda)) if hits else None

    # -- OpenMMLab ------------------------------------------------------------------------------------------------
    @cached_property
    def mmcv_series(self) -> tuple[MmcvSeries, ...]:
        return tuple(
            MmcvSeries(
                series=r["series"],
                releases=tuple(r["releases"]),
                wheels={k: tuple(v) for k, v in r["wheels"].items()},
                note=r.get("note"),
                source=r["source"],
            )
            for r in self._data("openmmlab.json")["mmcv_full"]
        )

    def mmcv_for(self, version: str) -> MmcvSeries | None:
        """The series an mmcv-full release belongs to, when the knowledge base has its wheel matrix."""
        return next((s for s in self.mmcv_series if version in s.releases), None)

    @cached_property
    def mmcv_requirements(self) -> tuple[MmcvRequirement, ...]:
        return tuple(
            MmcvRequirement(r["package"], tuple(r["releases"]), r["mmcv_full"], r["source"])
            for r in self._data("openmmlab.json")["requires"]
        )

    def mmcv_requirement(self, package: str, version: str) -> MmcvRequirement | None:
        """The mmcv-full window of an mmdet / mmsegmentation release (None when unknown)."""
        return next(
            (r for r in self.mmcv_requirements if r.package == package and version in r.releases),
            None,
        )


_KB: KnowledgeBase | None = None


def kb() -> KnowledgeBase:
    """The process-wide knowledge base (parsed on first use, then cached; LEGACYRUN_KB_OVERLAY read then)."""
    global _KB
    if _KB is None:
        import os

        overlay = os.environ.get(OVERLAY_ENV)
        _KB = KnowledgeBase(overlay=Path(overlay) if overlay else None)
    return _KB


def reset_kb() -> None:
    """Forget the parsed tables (after LEGACYRUN_KB_OVERLAY changed; tests)."""
    global _KB
    _KB = None


__all__ = [
    "ArchList",
    "ArchRow",
    "CondaRule",
    "CudaRunfile",
    "DroppedArchs",
    "GpuMatch",
    "GpuModel",
    "GpuRow",
    "ImageTag",
    "KnowledgeBase",
    "MmcvRequirement",
    "MmcvSeries",
    "PipRule",
    "TorchRelease",
    "UbuntuGcc",
    "cc_key",
    "cc_text",
    "driver_at_least",
    "gpu_memory_hint",
    "gpu_tokens",
    "kb",
    "minor",
    "reset_kb",
    "version_key",
]
