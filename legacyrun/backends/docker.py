"""Docker backend: a Dockerfile rendered from the pins, built with the docker SDK from a deterministic context.

The image tag is `legacyrun/<recipe>:<env_id[:24]>` where env_id hashes every rendered file and the source tree
content, so an unchanged build is a lookup, not a build. Runs go through the docker CLI (`docker run`) because the
caller needs a live line stream with an exit code, which is what legacyrun.proc.Stream gives.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from legacyrun import lock, proc
from legacyrun.backends import pinning, toolkit
from legacyrun.backends.base import (
    Backend,
    BuildPlan,
    EnvRef,
    OnFailure,
    Progress,
    Rendered,
    _no_progress,
)
from legacyrun.backends.identity import content_id, iter_source_files, source_tree_hash
from legacyrun.backends.native import (
    fail_with_log,
    gcc_names,
    skip_note,
    skipped_on_plan,
    step_env,
    steps_summary,
)
from legacyrun.backends.requirements import (
    LOCK_NAME,
    LockedSet,
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
    requirements_in,
    requirements_text,
)
from legacyrun.errors import BuildError, LockError, ToolMissingError, UsageError
from legacyrun.fsutil import atomic_write_text
from legacyrun.host import docker_status
from legacyrun.invocation import command
from legacyrun.knowledge import kb
from legacyrun.resources import data_root

if TYPE_CHECKING:
    from legacyrun.gpus import GpuSelection
    from legacyrun.proc import Stream
    from legacyrun.workspace import Workspace

ENV_PREFIX = "/opt/legacyrun/env"
CUDA_HOME = "/usr/local/cuda"
MICROMAMBA_URL = "https://micro.mamba.pm/api/micromamba/linux-64/latest"
LABEL_NS = "org.legacyrun"


def _template() -> str:
    return (data_root("docker") / "Dockerfile.template").read_text(encoding="utf-8")


# Old nvidia/cuda images list NVIDIA's apt repository signed with the key rotated in April 2022, so their
# `apt-get update` fails; the CUDA toolkit is already in the image, so that repository is not needed.
APT_UPDATE = "rm -f /etc/apt/sources.list.d/cuda*.list /etc/apt/sources.list.d/nvidia-ml*.list && apt-get update"


def _run(lines: list[str]) -> str:
    """One RUN instruction from shell lines joined with && (this is Dockerfile text, not a legacyrun subprocess)."""
    return "RUN " + " \\\n && ".join(lines)


# snapshot.ubuntu.com holds the Ubuntu archive from this day on; snapshot.debian.org goes back to 2005.
UBUNTU_SNAPSHOTS_FROM = date(2023, 3, 1)
_APT_LISTS = "/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources"


def _base_distro(base: str) -> str | None:
    """'ubuntu' or 'debian' when the image reference says which (nvidia/cuda tags end in -ubuntuXX.YY)."""
    name = base.split("@", 1)[0].rsplit("/", 1)[-1]
    if name.startswith("ubuntu") or "-ubuntu" in name:
        return "ubuntu"
    if name.startswith("debian") or any(f"-{c}" in name for c in ("buster", "bullseye", "bookworm", "stretch")):
        return "debian"
    return None


def apt_snapshot_block(plan: BuildPlan) -> str | None:
    """A RUN that points apt at the archive as it was on the recipe's `apt_snapshot` day (None: not asked)."""
    when = plan.profile_spec.apt_snapshot
    if when is None:
        return None
    where = f"env.profiles.{plan.profile}.apt_snapshot"
    base = plan.image_base or ""
    distro = _base_distro(base)
    stamp = when.strftime("%Y%m%dT000000Z")
    if distro == "ubuntu":
        if when < UBUNTU_SNAPSHOTS_FROM:
            raise UsageError(
                f"{where}: {when.isoformat()}: snapshot.ubuntu.com has no snapshot before "
                f"{UBUNTU_SNAPSHOTS_FROM.isoformat()} (base {base})",
                hint=f"use a date from {UBUNTU_SNAPSHOTS_FROM.isoformat()} on, or a Debian base with --base-image",
            )
        # Plain http like the images' own sources (no ca-certificates yet); apt checks the signed Release files.
        sub = rf"s#https?://(archive|security)\.ubuntu\.com/ubuntu/?#http://snapshot.ubuntu.com/ubuntu/{stamp}/#g"
    elif distro == "debian":
        sub = (
            r"s#https?://(deb|security)\.debian\.org/(debian-security|debian)/?"
            rf"#http://snapshot.debian.org/archive/\2/{stamp}/#g"
        )
    else:
        raise UsageError(
            f"{where}: cannot tell whether base {base} is Ubuntu or Debian, so no snapshot archive can be chosen"
        )
    return f"# apt from the {distro} archive as it was on {when.isoformat()} ({where})\n" + _run(
        [
            f'for f in {_APT_LISTS}; do if [ -f "$f" ]; then sed -i -E {shlex.quote(sub)} "$f"; fi; done',
            # Release files of a past day are past their Valid-Until; their signatures are still checked.
            "echo 'Acquire::Check-Valid-Until \"false\";' > /etc/apt/apt.conf.d/99legacyrun-snapshot",
        ]
    )


def _apt_block(plan: BuildPlan) -> str:
    snapshot = apt_snapshot_block(plan)
    block = _apt_packages_block(plan)
    return block if snapshot is None else f"{snapshot}\n{block}"


def base_pin(plan: BuildPlan) -> tuple[str, str | None]:
    """The FROM reference, by digest when the knowledge base knows the base's digest, and why not when it does not.

    Digests are never derived here: an unknown one leaves the tag, which the registry may move."""
    base = plan.image_base or ""
    if "@sha256:" in base:
        return base, None  # pinned by whoever gave --base-image
    digest = kb().image_digest(base)
    if digest is not None:
        return f"{base}@{digest}", None
    return base, (
        f"base not pinned by digest: the knowledge base records no digest for {base}, so the registry may move "
        "the tag; pass --base-image IMAGE@sha256:... to pin it"
    )


def _apt_packages_block(plan: BuildPlan) -> str:
    pkgs = list(plan.profile_spec.apt) + list(toolkit.apt_packages(plan))
    names = gcc_names(plan.resolution.gcc)
    if names:
        pkgs += list(names)
    if plan.resolution.installer == "conda":
        pkgs += ["bzip2", "ca-certificates", "curl"]
    if not pkgs:
        return "# no apt packages"
    pkgs = sorted(set(pkgs))
    block = _run(
        [
            APT_UPDATE,
            "apt-get install -y --no-install-recommends " + " ".join(shlex.quote(p) for p in pkgs),
            "rm -rf /var/lib/apt/lists/*",
        ]
    )
    if names:
        # The pinned GCC becomes the default compiler: nvcc of old CUDA rejects newer host compilers.
        block += f"\nENV CC={names[0]} CXX={names[1]}"
    return block


def _python_block(plan: BuildPlan) -> str:
    py = plan.resolution.python
    if plan.resolution.installer == "conda":
        return "\n".join(
            [
                _run([f"curl -fsSL {MICROMAMBA_URL} | tar -xj -C /usr/local bin/micromamba"]),
                "COPY environment.yml /opt/legacyrun/environment.yml",
                _run(
                    [
                        f"micromamba create -y -p {ENV_PREFIX} -f /opt/legacyrun/environment.yml",
                        "micromamba clean -a -y",
                    ]
                ),
            ]
        )
    exe = f"python{py}"
    return _run(
        [
            f"if ! command -v {exe} >/dev/null; then {APT_UPDATE}"
            f" && apt-get install -y --no-install-recommends {exe} {exe}-venv {exe}-dev"
            " && rm -rf /var/lib/apt/lists/*; fi",
            f"{exe} -m venv {ENV_PREFIX}",
        ]
    )


def _pip_block(plan: BuildPlan, locked: LockedSet | None = None) -> str:
    if not pip_lines(plan):
        return "# no pip packages"
    if locked is not None and locked.pinned:
        # The closure was resolved at the first build (pin_pip_set): no resolver runs in the image.
        dest = f"/opt/legacyrun/{LOCK_NAME}"
        return f"COPY {LOCK_NAME} {dest}\n" + _run([f"python -m pip install --require-hashes --no-deps -r {dest}"])
    args = " ".join(shlex.quote(a) for a in pip_index_args(plan))
    cmd = "python -m pip install " + (args + " " if args else "") + "-r /opt/legacyrun/requirements.txt"
    return "COPY requirements.txt /opt/legacyrun/requirements.txt\n" + _run([cmd])


def _cuda_env(plan: BuildPlan) -> str:
    res = plan.resolution
    parts = []
    if res.torch_cuda_arch_list:
        parts.append(f'TORCH_CUDA_ARCH_LIST="{res.torch_cuda_arch_list}"')
    if res.cuda:
        parts.append(f"CUDA_HOME={CUDA_HOME}")
    return ("ENV " + " ".join(parts)) if parts else "# CPU build: no CUDA environment"


def _build_block(plan: BuildPlan) -> str:
    steps = plan.profile_spec.build
    if not steps:
        return "# no native build steps"
    ws = plan.workspace.root.as_posix()
    out: list[str] = []
    for step in steps:
        if skipped_on_plan(plan, step):
            out.append(f"# {skip_note(step)}")
            continue
        cwd = (Path(ws) / "src" / step.source / step.cwd).as_posix()
        out.append(f"WORKDIR {os.path.normpath(cwd)}")
        # Inside the image the resolved GCC is installed (apt block), so it is the compiler here.
        env = step_env(plan, step, cuda_home=CUDA_HOME, compiler=gcc_names(plan.resolution.gcc))
        env.pop("TORCH_CUDA_ARCH_LIST", None)  # already an ENV of the image
        env.pop("CUDA_HOME", None)
        if step.clean:
            out.append(_run(["rm -rf " + " ".join(shlex.quote(c) for c in step.clean)]))
        # exec form with `env` so the step's argv is never reparsed by a shell; the image sets no CUDA-only
        # variable on a CPU plan, so an unset (None) entry needs no `env -u`.
        pairs = [f"{k}={v}" for k, v in sorted(env.items()) if v is not None]
        wheels = f"/tmp/legacyrun-wheels/{step.name}"
        argv = ["env", *pairs, *(x.replace("{wheel_dir}", wheels) for x in step.argv)]
        out.append(f"# build step {step.name}")
        out.append("RUN " + json.dumps(argv))
        if step.wheel_cache:
            # The image is the cache here (its layers); the wheel the step wrote is installed and removed.
            out.append(_run([f"python -m pip install --no-deps {wheels}/*.whl && rm -rf {wheels}"]))
    # Runs use the caller's uid: it must be able to write checkpoints inside the built source trees.
    out.append(_run([f"chmod -R a+rwX {shlex.quote(ws)}/src"]))
    return "\n".join(out)


def _labels(plan: BuildPlan) -> str:
    res = plan.resolution
    pins = {
        "python": res.python,
        "torch": res.torch,
        "torchvision": res.torchvision,
        "cuda": res.cuda,
        "cudnn": res.cudnn,
        "gcc": res.gcc,
    }
    labels = {
        f"{LABEL_NS}.recipe": plan.recipe.recipe.name,
        f"{LABEL_NS}.recipe-hash": plan.recipe.hash,
        f"{LABEL_NS}.profile": plan.profile,
        f"{LABEL_NS}.pins": json.dumps(pins, sort_keys=True, separators=(",", ":")),
        f"{LABEL_NS}.commits": json.dumps(dict(plan.commits), sort_keys=True, separators=(",", ":")),
        f"{LABEL_NS}.patch-hash": plan.patch_hash or "",
        f"{LABEL_NS}.native-build": "1" if plan.profile_spec.build else "0",
    }
    return "LABEL " + " \\\n      ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))


def render_dockerfile(plan: BuildPlan, locked: LockedSet | None = None) -> str:
    """The Dockerfile; with `locked` (a pinned pip set) pip installs that set instead of resolving in the image."""
    base = plan.image_base
    if not base:
        raise UsageError("no docker base image: the resolution has none; pass --base-image IMAGE")
    ref, unpinned = base_pin(plan)
    blocks = {
        "recipe": plan.recipe.recipe.name,
        "profile": plan.profile,
        "base_note": f"# {unpinned}" if unpinned else "# base pinned by digest",
        "base_image": ref,
        "apt_block": _apt_block(plan),
        "python_block": _python_block(plan),
        "toolkit_block": toolkit.toolkit_block(plan),
        "pip_block": _pip_block(plan, locked),
        "cuda_env": _cuda_env(plan),
        "workspace": plan.workspace.root.as_posix(),
        "build_block": _build_block(plan),
        "labels": _labels(plan),
    }
    text = _template()
    for key, value in blocks.items():
        text = text.replace(f"@{key}@", value)
    return text


def pip_set_input(plan: BuildPlan) -> tuple[str, str] | None:
    """(requirement text, its input hash) of the image's pip set when this host may pin it, else None (no pip
    set, or torch comes from micromamba's environment.yml: that set is resolved in the image)."""
    if not pip_lines(plan) or plan.resolution.installer == "conda":
        return None
    text = requirements_in(plan)
    return text, input_hash("docker", text)


def locked_pip_set(plan: BuildPlan) -> LockedSet | None:
    """The workspace's requirements.lock.txt when it was made for this image's pip set."""
    found = pip_set_input(plan)
    return read_locked_set(plan.workspace.root / LOCK_NAME, found[1]) if found else None


def pip_set_line(plan: BuildPlan) -> str | None:
    """The plan's one line about hash pinning its pip set (None: no pip set)."""
    if not pip_lines(plan):
        return None
    if plan.resolution.installer == "conda":
        return "pip set not hash-pinned: micromamba installs it from environment.yml inside the image"
    return pin_summary(locked_pip_set(plan), f"at the first build (with python{plan.resolution.python} of this host)")


def pin_pip_set(plan: BuildPlan, progress: Progress = _no_progress) -> LockedSet | None:
    """Resolve the image's pip set on this host and write requirements.lock.txt: hash-pinned, or the reason why not.

    A set pinned for this input is kept; one that could not be pinned is tried again (the index or this host may
    have changed). Resolved with this host's python of the image's version (see backends/pinning.py)."""
    found = pip_set_input(plan)
    if found is None:
        return None
    text, digest = found
    path = plan.workspace.root / LOCK_NAME
    current = read_locked_set(path, digest)
    if current is not None and current.pinned:
        return current
    version = plan.resolution.python
    python = shutil.which(f"python{version}")
    if python is None:
        locked = LockedSet("", f"no python{version} on this host to resolve the image's set with")
    else:
        log = plan.workspace.logs / "build-pip-resolve.log"
        got = pinning.resolve(python, mirrored(text, plan), ignore_installed=True, log_path=log, progress=progress)
        if got.report is None:
            locked = LockedSet("", got.reason or "pip gave no report")
        else:
            options = option_lines(pip_index_args(replace(plan, mirrors=None)))
            locked = pinned_or_reason(got.report, digest, options, any_platform=False)
    if not locked.pinned:
        locked = LockedSet(not_pinned_text(digest, locked.reason or ""), locked.reason)
    atomic_write_text(path, locked.text)
    progress(pin_summary(locked, ""))
    return locked


def image_tag(plan: BuildPlan, env_id: str) -> str:
    return f"legacyrun/{plan.recipe.recipe.name}:{env_id[:24]}"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def write_context(plan: BuildPlan, rendered: Rendered, out: IO[bytes]) -> None:
    """A deterministic build context: rendered files, then src/ (sorted, mtime 0, root-owned, no .git)."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(rendered.files):
            _add_bytes(tar, name, rendered.files[name].encode("utf-8"))
        src = plan.workspace.src
        dirs_done: set[str] = set()
        for path in iter_source_files(src):
            rel = "src/" + path.relative_to(src).as_posix()
            parent = rel.rsplit("/", 1)[0]
            parts = parent.split("/")
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs_done:
                    dirs_done.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    info.mtime = 0
                    tar.addfile(info)
            if path.is_symlink():
                info = tarfile.TarInfo(rel)
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                info.mtime = 0
                tar.addfile(info)
                continue
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            _add_bytes(tar, rel, path.read_bytes(), mode)
        if not dirs_done:
            # COPY src/ needs the folder even before anything was fetched.
            info = tarfile.TarInfo("src")
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)


def _client() -> Any:
    # Reachability is the host probe's question (legacyrun.host.docker_status), asked the same way everywhere.
    ok, why = docker_status(os.environ, timeout=3.0)
    if not ok:
        raise ToolMissingError(why, hint="start docker, set DOCKER_HOST, or use --backend conda")
    from docker.client import DockerClient

    return DockerClient.from_env(timeout=600)


def device_requests(gpus: GpuSelection | None) -> list[dict[str, Any]]:
    """The Engine API's HostConfig.DeviceRequests for the selection: one request naming the physical ids."""
    if gpus is None or not gpus.ids:
        return []
    return [{"Driver": "", "Count": 0, "DeviceIDs": list(gpus.ids), "Capabilities": [["gpu"]]}]


def gpus_flag(gpus: GpuSelection | None) -> list[str]:
    """`docker run --gpus` for device_requests(gpus): by id, never a count (a count takes the first N devices)."""
    requests = device_requests(gpus)
    if not requests:
        return []
    # The CLI reads the value as CSV; the quotes keep the comma-separated ids one field.
    return ["--gpus", '"device=' + ",".join(requests[0]["DeviceIDs"]) + '"']


class DockerBackend(Backend):
    name = "docker"
    description = "a Docker image built from a rendered Dockerfile (docker SDK)"

    def __init__(self, *, no_cache: bool = False) -> None:
        # no_cache: rebuild every layer (benchmarks of a cold build; a user's `--rebuild`).
        self.no_cache = no_cache

    def render(self, plan: BuildPlan) -> Rendered:
        files = {"Dockerfile": render_dockerfile(plan)}
        reqs = requirements_text(plan)
        if reqs:
            files["requirements.txt"] = reqs
        if plan.resolution.installer == "conda":
            files["environment.yml"] = environment_yml(plan)
        # The id is that of the set as asked for (as for the venv): pinning it at the first build must not rename
        # the image `up` planned, and a pinned set is a function of what was asked for (and the index that day).
        env_id = content_id(files, {"sources": source_tree_hash(plan.workspace.src)})
        locked = locked_pip_set(plan)
        if locked is not None and locked.pinned:
            files["Dockerfile"] = render_dockerfile(plan, locked)
            files[LOCK_NAME] = mirrored(locked.text, plan)
        ref, unpinned = base_pin(plan)
        summary = [
            f"docker image {image_tag(plan, env_id)} FROM {ref}",
            *([unpinned] if unpinned else []),
            f"python {plan.resolution.python}, torch {plan.resolution.torch}, cuda {plan.resolution.cuda or 'none'}",
            f"{len(pip_lines(plan))} pip requirement(s), {len(plan.profile_spec.apt)} apt package(s), "
            f"{len(plan.profile_spec.build)} native build step(s)",
        ]
        pinned = pip_set_line(plan)
        if pinned:
            summary.append(pinned)
        runfile = toolkit.runfile_for(plan)
        if runfile is not None:
            urls = toolkit.candidate_urls(runfile, plan.mirrors)
            summary.append(
                f"CUDA {runfile.cuda} toolkit from NVIDIA's archived runfile {runfile.filename}"
                + (f" (through the mirror {urls[0]})" if len(urls) > 1 else "")
            )
        steps = steps_summary(plan)
        if steps:
            summary.append(steps)
        return Rendered(self.name, files, env_id, summary)

    def ref(self, plan: BuildPlan) -> EnvRef:
        env_id = self.render(plan).env_id
        return EnvRef(self.name, env_id, image_tag(plan, env_id), sources_in_env=bool(plan.profile_spec.build))

    def exists(self, plan: BuildPlan) -> bool:
        return self._image_exists(_client(), self.ref(plan).location)

    @staticmethod
    def _image_exists(client: Any, tag: str) -> bool:
        import docker.errors

        try:
            client.images.get(tag)
        except docker.errors.ImageNotFound:
            return False
        return True

    @staticmethod
    def _image_id(client: Any, ref: str) -> str | None:
        import docker.errors

        try:
            return str(client.images.get(ref).id)
        except docker.errors.ImageNotFound:
            return None

    @staticmethod
    def _check_base(plan: BuildPlan, base_id: str | None) -> None:
        """Refuse a base whose ID differs from the one the lock recorded at the first build: a tag the registry
        moved (or a local retag) would otherwise change the environment under the same lock."""
        lf = lock.read_optional(plan.workspace.lockfile)
        recorded = lf.environment.base if lf is not None and lf.environment is not None else None
        if recorded is None or base_id is None or base_id == recorded:
            return
        base = plan.image_base
        raise LockError(
            f"docker base image {base} is now {base_id}; legacyrun.lock recorded {recorded} at the first build",
            hint=(
                f"if the recorded image is still on this machine: `docker tag {recorded} {base}`; to build on the new "
                f"base, delete the lock's environment entry (or run `{command('lock')}` in a fresh workspace) "
                "and build again, which records it"
            ),
        )

    def build(
        self, plan: BuildPlan, progress: Progress = _no_progress, *, on_failure: OnFailure | None = None
    ) -> EnvRef:
        rendered = self.render(plan)
        tag = image_tag(plan, rendered.env_id)
        native = bool(plan.profile_spec.build)
        client = _client()
        ref_base = base_pin(plan)[0]
        base_id = self._image_id(client, ref_base)
        self._check_base(plan, base_id)
        if self._image_exists(client, tag):
            progress(f"image {tag} is up to date")
            return EnvRef(self.name, rendered.env_id, tag, built=False, sources_in_env=native, base_id=base_id)
        if pin_pip_set(plan, progress) is not None:
            rendered = self.render(plan)  # the same id; the Dockerfile now installs the pinned set
        log_path = plan.workspace.logs / "build-docker.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as ctx:
            write_context(plan, rendered, ctx)
            ctx.seek(0)
            image_id = self._stream_build(
                client, ctx, tag, log_path, progress, on_failure, self.no_cache, toolkit.build_args(plan)
            )
        progress(f"built {tag} ({image_id[:19]})")
        if base_id is None:  # pulled by the build: what it pulled is what the lock records
            base_id = self._image_id(client, ref_base)
            self._check_base(plan, base_id)
        return EnvRef(self.name, rendered.env_id, tag, built=True, sources_in_env=native, base_id=base_id)

    @staticmethod
    def _stream_build(
        client: Any,
        ctx: IO[bytes],
        tag: str,
        log_path: Path,
        progress: Progress,
        on_failure: OnFailure | None,
        no_cache: bool = False,
        buildargs: Mapping[str, str] | None = None,
    ) -> str:
        import docker.errors

        image_id = ""
        error: str | None = None
        with log_path.open("w", encoding="utf-8") as log:
            try:
                chunks = client.api.build(
                    fileobj=ctx,
                    custom_context=True,
                    tag=tag,
                    rm=True,
                    forcerm=True,
                    pull=False,
                    network_mode="host",
                    nocache=no_cache,
                    buildargs=dict(buildargs or {}),
                    decode=True,
                )
                for chunk in chunks:
                    if "stream" in chunk:
                        for line in str(chunk["stream"]).splitlines():
                            if line.strip():
                                log.write(line + "\n")
                                progress(line)
                    elif "status" in chunk:
                        progress(str(chunk["status"]))
                    if "error" in chunk:
                        error = str(chunk["error"]).strip()
                        log.write(error + "\n")
                    aux = chunk.get("aux")
                    if isinstance(aux, dict) and "ID" in aux:
                        image_id = str(aux["ID"])
            except docker.errors.APIError as exc:
                error = str(exc.explanation or exc)
                log.write(error + "\n")
        if error is not None or not image_id:
            first = (error or "no image id in the build output").splitlines()[0][:300]
            fail_with_log(f"docker build of {tag} failed: {first}", log_path, on_failure)
        return image_id

    def exec(
        self,
        env_ref: EnvRef,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        gpus: GpuSelection | None = None,
        workspace: Workspace,
    ) -> Stream:
        return proc.stream(self.run_argv(env_ref, argv, cwd=cwd, env=env, gpus=gpus, workspace=workspace))

    @staticmethod
    def run_argv(
        env_ref: EnvRef,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        gpus: GpuSelection | None = None,
        workspace: Workspace,
    ) -> list[str]:
        """The `docker run` argv: workspace at the same path, caller's uid:gid, host network, GPUs if asked."""
        docker = proc.which("docker", install_hint="install the docker CLI (apt-get install docker.io)")
        root = workspace.root
        home = workspace.meta / "home"
        home.mkdir(parents=True, exist_ok=True)
        out = [docker, "run", "--rm", "--init", "--network=host", "--ipc=host"]
        out += ["--user", f"{os.getuid()}:{os.getgid()}"]
        if env_ref.sources_in_env:
            # The image holds the sources with their built extensions; mount everything else of the workspace.
            for entry in sorted(root.iterdir()) if root.is_dir() else []:
                if entry.name not in ("src", "env"):
                    out += ["-v", f"{entry}:{entry}"]
        else:
            out += ["-v", f"{root}:{root}"]
        out += ["-w", str(cwd), "-e", f"HOME={home}"]
        values = dict(env or {})
        if gpus is not None and gpus.ids:
            # The runtime exposes only the requested devices, renumbered from 0: the host's physical ids would
            # hide them again inside (issue 13: `--gpus 0,2` ran on one GPU).
            values["CUDA_VISIBLE_DEVICES"] = gpus.container_visible_devices
        for key, value in sorted(values.items()):
            out += ["-e", f"{key}={value}"]
        out += gpus_flag(gpus)
        out += [env_ref.location, *argv]
        return out

    def remove(self, env_ref: EnvRef) -> None:
        import docker.errors

        client = _client()
        try:
            client.images.remove(env_ref.location)
        except docker.errors.ImageNotFound:
            return
        except docker.errors.APIError as exc:
            raise BuildError(f"cannot remove image {env_ref.location}: {exc.explanation or exc}") from None


__all__ = [
    "DockerBackend",
    "device_requests",
    "gpus_flag",
    "image_tag",
    "pin_pip_set",
    "pip_set_line",
    "render_dockerfile",
    "write_context",
]
