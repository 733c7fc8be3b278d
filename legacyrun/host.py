"""The machine legacyrun plans for: probed (nvidia-smi, nvcc, gcc-N, docker, disk) or assumed from flags.

`host_from_flags` is what every command with --gpu/--driver/--cpu calls: no flag and no LEGACYRUN_ASSUME_* variable
means "probe this machine"; otherwise the GPUs and driver are assumed (planning on a laptop for a GPU server) while
the local tools (gcc, nvcc, docker, disk) are still probed because builds happen here.
"""

from __future__ import annotations

import csv
import os
import platform
import re
import shutil
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from legacyrun import memo, proc
from legacyrun.errors import ToolMissingError, UsageError
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import cc_key, cc_text
from legacyrun.resolution import GpuInfo, HostInfo

SMI_ENV = "LEGACYRUN_NVIDIA_SMI"
ASSUME_GPU_ENV = "LEGACYRUN_ASSUME_GPU"
ASSUME_DRIVER_ENV = "LEGACYRUN_ASSUME_DRIVER"
SMI_FIELDS = "index,uuid,name,compute_cap,driver_version,memory.total"
SMI_FIELDS_OLD = "index,uuid,name,driver_version,memory.total"
SMI_TIMEOUT = 15.0
DOCKER_TIMEOUT = 0.5


@dataclass
class SmiResult:
    """What nvidia-smi told us (GPUs before CUDA_VISIBLE_DEVICES), plus remarks for the report."""

    gpus: list[tuple[str, str, GpuInfo]] = field(default_factory=list)  # (index, uuid, gpu)
    driver: str | None = None
    notes: list[str] = field(default_factory=list)


def _memory_mib(text: str) -> int | None:
    digits = re.match(r"\s*(\d+)", text)
    return int(digits.group(1)) if digits else None


def _child_env(env: Mapping[str, str]) -> dict[str, str | None]:
    """The probe's environment for its subprocesses (tests pass a private one; normally it is os.environ)."""
    return {**{k: None for k in os.environ if k not in env}, **env}


def parse_smi_csv(text: str, *, has_cc: bool) -> SmiResult:
    """Rows of `--query-gpu=index,uuid,name[,compute_cap],driver_version,memory.total --format=csv,noheader`."""
    result = SmiResult()
    for row in csv.reader(text.splitlines(), skipinitialspace=True):
        if not row or not row[0].strip():
            continue
        cells = [c.strip() for c in row]
        if has_cc and len(cells) >= 6:
            index, uuid, name, cc, driver, mem = cells[:6]
        elif not has_cc and len(cells) >= 5:
            index, uuid, name, driver, mem = cells[:5]
            cc = ""
        else:
            result.notes.append(f"nvidia-smi: unreadable line {','.join(cells)!r}")
            continue
        if not re.fullmatch(r"\d+\.\d+", cc):
            # Drivers before ~510 cannot report compute_cap; the name table knows the common boards.
            cc = kb().gpu_cc(name) or ""
            if not cc:
                result.notes.append(f"compute capability of {name!r} is unknown; pass --gpu sm_XY to plan for it")
        result.gpus.append(
            (
                index,
                uuid,
                GpuInfo(
                    name=name,
                    compute_capability=cc or None,
                    memory_mib=_memory_mib(mem),
                    index=index or None,
                    uuid=uuid or None,
                ),
            )
        )
        result.driver = result.driver or driver
    return result


def nvidia_smi_path(env: Mapping[str, str]) -> str | None:
    override = env.get(SMI_ENV)
    if override:
        return override
    return shutil.which("nvidia-smi", path=env.get("PATH"))


def query_nvidia_smi(env: Mapping[str, str]) -> SmiResult:
    """Ask nvidia-smi for the GPUs; an old driver that rejects compute_cap is asked again without it."""
    exe = nvidia_smi_path(env)
    if exe is None:
        return SmiResult(notes=["nvidia-smi not found: no NVIDIA driver on this machine"])
    for fields, has_cc in ((SMI_FIELDS, True), (SMI_FIELDS_OLD, False)):
        try:
            done = proc.run(
                [exe, f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
                env=_child_env(env),
                timeout=SMI_TIMEOUT,
            )
        except ToolMissingError:
            return SmiResult(notes=[f"nvidia-smi ({exe}) cannot be started"])
        except subprocess.TimeoutExpired:
            return SmiResult(notes=[f"nvidia-smi did not answer within {SMI_TIMEOUT:.0f} s"])
        if done.ok:
            return parse_smi_csv(done.stdout, has_cc=has_cc)
        message = (done.stdout + done.stderr).strip()
        if has_cc and "compute_cap" in message:
            continue
        first = message.splitlines()[0] if message else f"exit code {done.returncode}"
        return SmiResult(notes=[f"nvidia-smi failed: {first}"])
    return SmiResult()


def apply_visible_devices(found: list[tuple[str, str, GpuInfo]], value: str | None) -> list[GpuInfo]:
    """CUDA_VISIBLE_DEVICES semantics: indices or UUID prefixes, in the given order; stops at the first bad entry."""
    if value is None:
        return [g for _, _, g in found]
    out: list[GpuInfo] = []
    for entry in (e.strip() for e in value.split(",")):
        match = None
        if re.fullmatch(r"\d+", entry):
            match = next((g for idx, _, g in found if idx == entry), None)
        elif entry.startswith(("GPU-", "MIG-")):
            match = next((g for _, uuid, g in found if uuid.startswith(entry)), None)
        if match is None:
            break  # CUDA ignores everything from the first invalid entry on ('-1' hides all GPUs)
        out.append(match)
    return out


def _tool_output(exe: str, args: tuple[str, ...], env: Mapping[str, str]) -> tuple[bool, str] | None:
    """(exited 0, stdout) of `exe args`, None when it cannot run. Remembered per binary (its path, size, times and
    inode): a version does not change while the file does not, and a no-op `up` must not wait for nvcc twice."""
    ident = memo.file_identity(exe)
    key = memo.key_of("tool", ident, args) if ident is not None else None
    if key is not None:
        found = memo.get("tools", key)
        if isinstance(found, list) and len(found) == 2:
            return bool(found[0]), str(found[1])
    try:
        done = proc.run([exe, *args], env=_child_env(env), timeout=10)
    except (ToolMissingError, subprocess.TimeoutExpired, OSError):
        return None  # not remembered: a timeout may not happen again
    if key is not None:
        memo.put("tools", key, [done.ok, done.stdout])
    return done.ok, done.stdout


def nvcc_version(env: Mapping[str, str]) -> str | None:
    """Release of the nvcc on PATH (or under CUDA_HOME / /usr/local/cuda), e.g. '11.1'."""
    candidates = [shutil.which("nvcc", path=env.get("PATH"))]
    for home in (env.get("CUDA_HOME"), env.get("CUDA_PATH"), "/usr/local/cuda"):
        if home:
            candidates.append(str(Path(home) / "bin" / "nvcc"))
    for exe in candidates:
        if not exe or not os.access(exe, os.X_OK):
            continue
        out = _tool_output(exe, ("--version",), env)
        if out is None:
            continue
        found = re.search(r"release (\d+\.\d+)", out[1])
        if found:
            return found.group(1)
    return None


_GCC_NAME = re.compile(r"^gcc(?:-(\d+))?$")


def gcc_versions(env: Mapping[str, str]) -> list[str]:
    """GCC majors on PATH: `gcc` (asked with -dumpversion) and every `gcc-N` (N from the name)."""
    majors: set[int] = set()
    plain: str | None = None
    for folder in (env.get("PATH") or "").split(os.pathsep):
        if not folder or not os.path.isdir(folder):
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            hit = _GCC_NAME.match(name)
            if not hit:
                continue
            path = os.path.join(folder, name)
            if not os.access(path, os.X_OK):
                continue
            if hit.group(1):
                majors.add(int(hit.group(1)))
            elif plain is None:
                plain = path
    if plain:
        out = _tool_output(plain, ("-dumpversion",), env)
        num = re.match(r"(\d+)", out[1].strip()) if out is not None else None
        if out is not None and out[0] and num:
            majors.add(int(num.group(1)))
    return [str(m) for m in sorted(majors)]


def docker_status(env: Mapping[str, str], timeout: float = DOCKER_TIMEOUT) -> tuple[bool, str]:
    """Whether a Docker daemon answers GET /_ping on DOCKER_HOST (unix socket or tcp) within `timeout`, and why.

    The one reachability check: the host probe, the backend choice and the docker backend all ask it.
    """
    host = env.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    answers = f"a docker daemon answers at {host}"
    silent = f"no docker daemon answers at {host}"
    try:
        if host.startswith("unix://"):
            path = host[len("unix://") :]
            if not os.path.exists(path):
                return False, silent + " (no socket)"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(path)
        elif host.startswith("tcp://"):
            name, _, port = host[len("tcp://") :].rstrip("/").rpartition(":")
            sock = socket.create_connection((name or "127.0.0.1", int(port or 2375)), timeout=timeout)
        else:
            return False, f"{silent} (only unix:// and tcp:// hosts are probed)"
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(64)
    except (OSError, ValueError) as exc:
        return False, f"{silent} ({type(exc).__name__})"
    if reply.startswith(b"HTTP/1.") and b" 200 " in reply[:16]:
        return True, answers
    return False, f"{silent} (no HTTP 200 to /_ping)"


def docker_answers(env: Mapping[str, str], timeout: float = DOCKER_TIMEOUT) -> bool:
    """docker_status without the why (what HostInfo.docker records)."""
    return docker_status(env, timeout)[0]


def free_disk(path: Path | None) -> int | None:
    where = (path or Path.cwd()).absolute()
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        return shutil.disk_usage(where).free
    except OSError:
        return None


def _driver_cuda(driver: str | None) -> str | None:
    if not driver:
        return None
    return kb().max_cuda_for_driver(driver)


def probe_host(*, workspace: Path | None = None, env: Mapping[str, str] | None = None, gpus: bool = True) -> HostInfo:
    """Probe this machine. `gpus=False` skips nvidia-smi (the GPUs are assumed from flags instead)."""
    env = os.environ if env is None else env
    notes: list[str] = []
    found: list[GpuInfo] = []
    driver = None
    if gpus:
        smi = query_nvidia_smi(env)
        notes.extend(smi.notes)
        found = apply_visible_devices(smi.gpus, env.get("CUDA_VISIBLE_DEVICES"))
        if smi.gpus and len(found) < len(smi.gpus):
            notes.append(
                f"CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES')!r} shows {len(found)} of {len(smi.gpus)} GPUs"
            )
        driver = smi.driver
    return HostInfo(
        assumed=False,
        gpus=found,
        driver=driver,
        cuda_driver_max=_driver_cuda(driver),
        nvcc=nvcc_version(env),
        gcc=gcc_versions(env),
        docker=docker_answers(env),
        free_disk_bytes=free_disk(workspace),
        arch=platform.machine() or "x86_64",
        notes=notes,
    )


_COUNT_PREFIX = re.compile(r"^(\d+)\s*[x×*]\s*(.+)$")
_COUNT_SUFFIX = re.compile(r"^(.+?)\s*:\s*(\d+)$")
_CC_SPEC = re.compile(r"^(?:sm_?|compute_)?(\d{2,3})$|^(\d{1,2})\.(\d)$", re.IGNORECASE)


def parse_gpu_spec(spec: str) -> list[GpuInfo]:
    """--gpu value: 'H100', 'RTX 3090', 'sm_86', '8.6', with an optional count ('2xA100' or 'A100:2')."""
    text = spec.strip()
    count = 1
    for pattern, count_first in ((_COUNT_PREFIX, True), (_COUNT_SUFFIX, False)):
        hit = pattern.match(text)
        if hit:
            count = int(hit.group(1) if count_first else hit.group(2))
            text = (hit.group(2) if count_first else hit.group(1)).strip()
            break
    if count < 1 or count > 64:
        raise UsageError(f"--gpu {spec!r}: the GPU count must be between 1 and 64")
    memory_mib: int | None = None
    cc_hit = _CC_SPEC.match(text)
    if cc_hit:
        cc = cc_text(cc_key(text))
        name = f"sm_{cc.replace('.', '')} GPU"
    else:
        match = kb().gpu_model(text)
        found = match.model.cc if match else kb().gpu_cc(text)
        if found is None:
            raise UsageError(
                f"--gpu {spec!r}: unknown GPU model",
                hint="give its compute capability instead, e.g. --gpu sm_86 or --gpu 8.6 (nvidia-smi "
                "--query-gpu=compute_cap shows it; `legacyrun doctor` lists the known boards' families)",
            )
        cc, name = found, text
        if match is not None:
            memory_mib = match.memory_gb * 1024
    return [GpuInfo(name=name, compute_capability=cc, memory_mib=memory_mib) for _ in range(count)]


def check_driver(driver: str) -> str:
    if not re.fullmatch(r"\d{2,4}(\.\d{1,3}){0,2}", driver.strip()):
        raise UsageError(f"--driver {driver!r}: expected an NVIDIA driver version such as 550.54.15 or 470")
    return driver.strip()


def assumed_host(
    gpu: str | None = None,
    driver: str | None = None,
    *,
    cpu: bool = False,
    base: HostInfo | None = None,
) -> HostInfo:
    """A host planned for: GPUs from `gpu` (or none with cpu=True), the driver from `driver`; tools from `base`."""
    if cpu and gpu:
        raise UsageError("--cpu and --gpu contradict each other; give one of them")
    base = base or HostInfo()
    gpus = [] if cpu else (parse_gpu_spec(gpu) if gpu else list(base.gpus))
    drv = None if cpu else (check_driver(driver) if driver else (base.driver if not gpu else None))
    return base.model_copy(update={"assumed": True, "gpus": gpus, "driver": drv, "cuda_driver_max": _driver_cuda(drv)})


def host_from_flags(
    gpu: str | None = None,
    driver: str | None = None,
    cpu: bool = False,
    *,
    workspace: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> HostInfo:
    """The HostInfo for commands taking --gpu/--driver/--cpu (flags win over LEGACYRUN_ASSUME_GPU/_DRIVER)."""
    env = os.environ if env is None else env
    if not cpu and gpu is None:
        assumed = env.get(ASSUME_GPU_ENV, "").strip()
        if assumed.lower() in ("cpu", "none"):
            cpu = True
        elif assumed:
            gpu = assumed
    if driver is None and not cpu:
        driver = env.get(ASSUME_DRIVER_ENV, "").strip() or None
    if not cpu and gpu is None and driver is None:
        return probe_host(workspace=workspace, env=env)
    base = probe_host(workspace=workspace, env=env, gpus=bool(driver and not gpu and not cpu))
    return assumed_host(gpu, driver, cpu=cpu, base=base)


__all__ = [
    "ASSUME_DRIVER_ENV",
    "ASSUME_GPU_ENV",
    "SMI_ENV",
    "SmiResult",
    "apply_visible_devices",
    "assumed_host",
    "check_driver",
    "docker_answers",
    "docker_status",
    "free_disk",
    "gcc_versions",
    "host_from_flags",
    "nvcc_version",
    "nvidia_smi_path",
    "parse_gpu_spec",
    "parse_smi_csv",
    "probe_host",
    "query_nvidia_smi",
]
