"""Native-extension build steps (maskrcnn_benchmark `setup.py build develop`, Mask2Former `make.sh`).

On a plan with CUDA, a `cuda: true` step gets TORCH_CUDA_ARCH_LIST from the resolution (so a GPU-less build host
still compiles kernels for the target GPU), FORCE_CUDA=1 and CUDA_HOME. A plan without CUDA never compiles CUDA:
FORCE_CUDA and the arch list are removed (also when the caller's shell has them) and `cpu: skip` steps are left out.
Inside docker the compiler is the image's pinned GCC; on this machine (venv, conda) it is a GCC that exists here and
that nvcc accepts, and the CUDA headers missing from a bare toolkit come from the env's nvidia-* wheels.
A step's `clean:` paths are removed when its setup changed (a build/ left from another torch version links but
crashes at import), not for a patch: then the kept build folder, ninja and ccache (backends/ccache.py) recompile
only the changed files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from legacyrun import gitcli, proc
from legacyrun.backends.base import BuildPlan, OnFailure, Progress
from legacyrun.backends.ccache import cache_settings, wrap_compilers
from legacyrun.errors import BuildError, ToolMissingError, UsageError
from legacyrun.fsutil import atomic_write_text
from legacyrun.gitcli import head_commit
from legacyrun.host import nvcc_version
from legacyrun.invocation import command
from legacyrun.knowledge import kb
from legacyrun.recipe.models import BuildStep
from legacyrun.resolve.match import matches
from legacyrun.userdirs import wheels_dir


def gcc_names(version: str | None) -> tuple[str, str] | None:
    """('gcc-7', 'g++-7') for a pinned GCC major, None when no GCC is pinned (inside docker: the image's GCC)."""
    if not version:
        return None
    major = version.split(".")[0]
    return f"gcc-{major}", f"g++-{major}"


def compiles_cuda(plan: BuildPlan, step: BuildStep) -> bool:
    """A step compiles CUDA only when it says so and the plan has CUDA: a CPU plan never does."""
    return step.cuda and plan.resolution.cuda is not None


def skipped_on_plan(plan: BuildPlan, step: BuildStep) -> bool:
    """`cpu: skip` steps (CUDA-only ops) are left out of a plan without CUDA."""
    return plan.resolution.cuda is None and step.cpu == "skip"


def skip_note(step: BuildStep) -> str:
    return f"build step {step.name}: skipped on this CPU plan (the recipe marks it `cpu: skip`: CUDA only)"


def steps_summary(plan: BuildPlan) -> str | None:
    """One summary line for `build --dry-run`: the steps that run, and those a CPU plan leaves out."""
    steps = plan.profile_spec.build
    if not steps:
        return None
    run = [s.name + (" (CUDA)" if compiles_cuda(plan, s) else "") for s in steps if not skipped_on_plan(plan, s)]
    skipped = [s.name for s in steps if skipped_on_plan(plan, s)]
    line = f"native build steps: {', '.join(run) or '-'}"
    return line + (f"; skipped on this CPU plan: {', '.join(skipped)}" if skipped else "")


# Set only on a plan with CUDA; removed from the step (also when inherited from the caller's shell) otherwise, so
# that setup.py files testing `os.environ.get("FORCE_CUDA")` (any value counts) do not compile CUDA on a CPU plan.
CUDA_ONLY_VARS = ("FORCE_CUDA", "TORCH_CUDA_ARCH_LIST")


def step_env(
    plan: BuildPlan,
    step: BuildStep,
    *,
    cuda_home: str | None,
    compiler: tuple[str, str] | None,
) -> dict[str, str | None]:
    """Environment of one build step (None = unset): arch list, FORCE_CUDA, CUDA_HOME, CC/CXX, the step's own env.

    Pure: the compiler is chosen by the caller (docker: the image's pinned GCC; venv/conda: `choose_compiler`).
    """
    res = plan.resolution
    env: dict[str, str | None] = {}
    cuda = compiles_cuda(plan, step)
    if cuda:
        if res.torch_cuda_arch_list:
            env["TORCH_CUDA_ARCH_LIST"] = res.torch_cuda_arch_list
        env["FORCE_CUDA"] = "1"
        if cuda_home:
            env["CUDA_HOME"] = cuda_home
    if compiler:
        env["CC"], env["CXX"] = compiler
    # pip inside a step must build against the env's own torch: an isolated build env has no torch (or another
    # one, with another ABI). setuptools >= 80 runs `setup.py develop` as `pip install -e . --use-pep517`, which
    # isolates unless told not to. pip reads this double negative as "--no-build-isolation" (pypa/pip#5735).
    env["PIP_NO_BUILD_ISOLATION"] = "0"
    env.update(step.env)
    if res.cuda is None:
        for var in CUDA_ONLY_VARS:
            env[var] = None
    return env


# -- the host compiler (venv and conda builds run on this machine, not in the resolved base image) -----------------

_GCC_N = re.compile(r"^gcc-(\d+)$")


@dataclass(frozen=True)
class HostCompiler:
    """A C/C++ compiler pair that exists on this machine, with its GCC major (None when unknown)."""

    cc: str
    cxx: str
    major: int | None
    versioned: bool


def host_compilers(path: str | None = None) -> list[HostCompiler]:
    """gcc-N/g++-N pairs on PATH (newest first), then the plain gcc/g++ (its major from -dumpversion)."""
    search = os.environ.get("PATH", "") if path is None else path
    found: dict[int, HostCompiler] = {}
    for folder in search.split(os.pathsep):
        if not folder or not os.path.isdir(folder):
            continue
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            hit = _GCC_N.match(name)
            if not hit or int(hit.group(1)) in found:
                continue
            cxx = shutil.which(f"g++-{hit.group(1)}", path=search)
            if cxx and os.access(os.path.join(folder, name), os.X_OK):
                found[int(hit.group(1))] = HostCompiler(name, f"g++-{hit.group(1)}", int(hit.group(1)), True)
    out = [found[m] for m in sorted(found, reverse=True)]
    gcc = shutil.which("gcc", path=search)
    if gcc and shutil.which("g++", path=search):
        major: int | None = None
        try:
            done = proc.run([gcc, "-dumpversion"], timeout=10)
            num = re.match(r"(\d+)", done.stdout.strip())
            major = int(num.group(1)) if done.ok and num else None
        except (ToolMissingError, subprocess.TimeoutExpired, OSError):
            major = None
        out.append(HostCompiler("gcc", "g++", major, False))
    return out


@dataclass(frozen=True)
class CompilerChoice:
    """The pair to use (None: leave CC/CXX alone, nothing was found) and a note for the progress stream."""

    pair: tuple[str, str] | None
    note: str | None = None


def choose_compiler(
    candidates: list[HostCompiler], *, gcc_spec: str | None, pinned: str | None, nvcc_gcc_max: int | None
) -> CompilerChoice:
    """The host compiler for a venv/conda build: it exists here, nvcc accepts it, the profile's gcc spec allows it.

    Order: the resolved GCC (the docker image's, usually absent here), the newest gcc-N that satisfies both the
    spec and nvcc's limit, then the default gcc/g++ when nvcc accepts it (with a note when the spec does not hold).
    `nvcc_gcc_max` is None for a step that does not run nvcc.
    """

    def nvcc_ok(c: HostCompiler) -> bool:
        return nvcc_gcc_max is None or c.major is None or c.major <= nvcc_gcc_max

    def spec_ok(c: HostCompiler) -> bool:
        return c.major is not None and matches(str(c.major), gcc_spec)

    pin = int(pinned.split(".")[0]) if pinned and pinned.split(".")[0].isdigit() else None
    ordered = sorted(candidates, key=lambda c: (c.major != pin, not c.versioned, -(c.major or 0)))
    for cand in ordered:
        if spec_ok(cand) and nvcc_ok(cand):
            return CompilerChoice((cand.cc, cand.cxx))
    limit = f"nvcc accepts gcc <= {nvcc_gcc_max}" if nvcc_gcc_max is not None else "no nvcc limit"
    want = f"the profile asks for gcc {gcc_spec}" if gcc_spec else "the profile pins no gcc"
    for cand in ordered:
        if not cand.versioned and nvcc_ok(cand):
            ver = cand.major if cand.major is not None else "?"
            return CompilerChoice(
                (cand.cc, cand.cxx), f"compiler: no gcc-N on PATH fits ({want}; {limit}); using the default gcc {ver}"
            )
    if not candidates:
        return CompilerChoice(None, "compiler: no gcc on PATH; the build uses whatever its tools find")
    best = ordered[0]
    return CompilerChoice(
        (best.cc, best.cxx),
        f"compiler: no gcc on PATH that {limit} ({want}); trying {best.cc}, nvcc may refuse it "
        f"(install a gcc-N <= {nvcc_gcc_max})",
    )


# -- CUDA outside docker: the toolkit's nvcc plus headers and libraries from the nvidia-* wheels ----------------------


def local_cuda_home(plan: BuildPlan, prefix: Path) -> str | None:
    """CUDA_HOME for a conda/venv build: the env's own nvcc (conda, or the nvidia-cuda-nvcc wheel), else
    $CUDA_HOME, else /usr/local/cuda-X.Y, /usr/local/cuda, else the toolkit of the nvcc on PATH."""
    if (prefix / "bin" / "nvcc").exists():
        return str(prefix)
    for wheel_nvcc in sorted(prefix.glob("lib/python*/site-packages/nvidia/*/bin/nvcc")):
        return str(wheel_nvcc.parent.parent)
    if os.environ.get("CUDA_HOME"):
        return os.environ["CUDA_HOME"]
    cuda = plan.resolution.cuda
    for cand in ([f"/usr/local/cuda-{cuda}"] if cuda else []) + ["/usr/local/cuda"]:
        if Path(cand, "bin", "nvcc").exists():
            return cand
    on_path = shutil.which("nvcc")
    if on_path:
        # torch guesses dirname(dirname(nvcc)); a wrapper script in /usr/local/bin would make that /usr/local.
        home = Path(on_path).resolve().parent.parent
        if (home / "include" / "cuda_runtime.h").exists():
            return str(home)
    return None


def wheel_cuda_dirs(prefix: Path) -> tuple[list[Path], list[Path]]:
    """(include dirs, lib dirs) of the nvidia-* wheels in the env (nvidia/cu13/include, nvidia/cudnn/include, ...).

    torch's CUDA wheels carry the headers of cuBLAS, cuSPARSE, cuSOLVER, cuRAND, cuDNN that ATen's CUDA headers
    include; a toolkit that is only nvcc plus the runtime (CI, login nodes) lacks them.
    """
    incs: list[Path] = []
    libs: list[Path] = []
    for site in sorted(prefix.glob("lib/python*/site-packages/nvidia")):
        for pkg in sorted(p for p in site.iterdir() if p.is_dir()):
            if (pkg / "include").is_dir():
                incs.append(pkg / "include")
            if (pkg / "lib").is_dir():
                libs.append(pkg / "lib")
    return incs, libs


LINK_DIR = ".legacyrun-cuda-link"


def cudart_link_dir(prefix: Path, cuda_home: str, wheel_libs: list[Path]) -> Path | None:
    """A folder with libcudart.so when the toolkit has none (pip-only CUDA): `-lcudart` needs the unversioned name.

    torch links its extensions with -L$CUDA_HOME/lib64 -lcudart; the wheels ship only libcudart.so.N.
    """
    home = Path(cuda_home)
    if any((home / lib / "libcudart.so").exists() for lib in ("lib64", "lib", "targets/x86_64-linux/lib")):
        return None
    for lib in wheel_libs:
        versioned = sorted(lib.glob("libcudart.so.*"))
        if versioned:
            link_dir = prefix / LINK_DIR
            link_dir.mkdir(exist_ok=True)
            link = link_dir / "libcudart.so"
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(versioned[0])
            return link_dir
    return None


def _joined(paths: list[Path], inherited: str | None) -> str:
    parts = [str(p) for p in paths] + ([inherited] if inherited else [])
    return os.pathsep.join(parts)


def local_cuda_env(prefix: Path, cuda_home: str) -> dict[str, str]:
    """CPATH/LIBRARY_PATH additions for a CUDA step built on this machine (appended after the user's own)."""
    incs, libs = wheel_cuda_dirs(prefix)
    env: dict[str, str] = {}
    if incs:
        # CPATH dirs come after every -I, so the toolkit's own headers win and the wheels fill only the gaps; the
        # host compiler reads CPATH for both the C++ sources and nvcc's host/device preprocessing.
        env["CPATH"] = _joined(incs, os.environ.get("CPATH"))
    link = cudart_link_dir(prefix, cuda_home, libs)
    lib_dirs = ([link] if link else []) + libs
    if lib_dirs:
        env["LIBRARY_PATH"] = _joined(lib_dirs, os.environ.get("LIBRARY_PATH"))
    return env


def clean_paths(cwd: Path, paths: list[str]) -> None:
    """Remove stale build outputs (relative to the step's cwd; the recipe validator keeps them inside)."""
    for rel in paths:
        target = cwd / rel
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()


@dataclass(frozen=True)
class LocalSetup:
    """What the steps of one venv/conda build share: CUDA_HOME, nvcc's GCC limit, the compilers found."""

    cuda_home: str | None
    nvcc: str | None
    compilers: list[HostCompiler]
    notes: list[str] = field(default_factory=list)


def local_setup(plan: BuildPlan, prefix: Path, steps: Sequence[BuildStep] | None = None) -> LocalSetup:
    """Probe this machine once per build: CUDA_HOME and its nvcc (only when a step compiles CUDA), the compilers."""
    notes: list[str] = []
    steps = [s for s in (plan.profile_spec.build if steps is None else steps) if not skipped_on_plan(plan, s)]
    cuda_home = nvcc = None
    if any(compiles_cuda(plan, s) for s in steps):
        cuda_home = local_cuda_home(plan, prefix)
        if cuda_home is None:
            notes.append(
                f"no nvcc found (env, $CUDA_HOME, /usr/local/cuda-{plan.resolution.cuda}, /usr/local/cuda): "
                "the CUDA steps will fail or build CPU-only"
            )
        else:
            nvcc = nvcc_version({"PATH": str(Path(cuda_home) / "bin")})
            if nvcc and plan.resolution.cuda and nvcc.split(".")[0] != plan.resolution.cuda.split(".")[0]:
                notes.append(
                    f"nvcc {nvcc} in {cuda_home} differs in major from CUDA {plan.resolution.cuda} of torch: "
                    "torch.utils.cpp_extension refuses such a build"
                )
    return LocalSetup(cuda_home, nvcc, host_compilers() if steps else [], notes)


def max_jobs() -> str:
    return str(os.cpu_count() or 1)


def local_step_env(
    plan: BuildPlan, step: BuildStep, prefix: Path, setup: LocalSetup
) -> tuple[dict[str, str | None], list[str]]:
    """The full environment of a step run on this machine, and notes about the choices made for it."""
    notes: list[str] = []
    cuda = compiles_cuda(plan, step)
    gmax = kb().gcc_max(setup.nvcc) if cuda and setup.nvcc else None
    choice = choose_compiler(
        setup.compilers, gcc_spec=plan.profile_spec.gcc, pinned=plan.resolution.gcc, nvcc_gcc_max=gmax
    )
    if choice.note:
        notes.append(choice.note)
    env = step_env(plan, step, cuda_home=setup.cuda_home if cuda else None, compiler=choice.pair)
    if cuda and setup.cuda_home:
        for key, value in local_cuda_env(prefix, setup.cuda_home).items():
            env.setdefault(key, value)
    if "MAX_JOBS" not in step.env and not os.environ.get("MAX_JOBS"):
        env["MAX_JOBS"] = max_jobs()
    bin_dir = prefix / "bin"
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    if shutil.which("ninja", path=path) is None:
        notes.append(
            "ninja is neither in the env nor on PATH: torch.utils.cpp_extension falls back to a slow serial build "
            "(add `ninja` to the profile's pip)"
        )
    env["PATH"] = path
    nvcc = str(Path(setup.cuda_home) / "bin" / "nvcc") if cuda and setup.cuda_home else None
    cache_note = wrap_compilers(env, prefix, plan.workspace.root, nvcc=nvcc)
    if cache_note:
        notes.append(cache_note)
    env["VIRTUAL_ENV"] = str(prefix)
    env["CONDA_PREFIX"] = str(prefix)
    env["PYTHONNOUSERSITE"] = "1"
    return env, notes


# -- per-step identity (venv, conda): a step is rebuilt when its command, settings or source tree change ----------

STEPS_RECORD = ".legacyrun-steps.json"


def source_identity(tree: Path) -> str:
    """What a step compiles, as text: the git HEAD of its source tree plus its uncommitted changes to tracked files.

    A patch is a commit on the tree (or, mid-edit, a change to its work tree): either changes this. Untracked files
    (build outputs, .so files) do not count. A tree that is not a git checkout is identified by its absence only.
    """
    if not tree.is_dir():
        return "missing"
    head = head_commit(tree)  # read from .git when it can be: one git call less per tree on a no-op `up`
    if head is None:
        return "not-git"
    diff = gitcli.run(["-C", str(tree), "diff", "--binary", "HEAD", "--"], timeout=120)
    digest = hashlib.sha256(diff.stdout.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{head} {digest}"


def step_key_parts(plan: BuildPlan, env_id: str) -> dict[str, dict[str, str]]:
    """The two parts of each step's key, for the steps that run on this plan (in order).

    `setup`: sha256 over the env id (another torch or Python means another ABI), the step itself (argv, cwd, env,
    clean), the plan's compiler-relevant values (CUDA, arch list, pinned and allowed GCC). A change here makes the
    old build outputs wrong, so the step's `clean:` runs. `tree`: its source tree's identity; a change here alone
    (a patch) keeps the build folder, so ninja and ccache recompile only the changed translation units.
    """
    res = plan.resolution
    parts: dict[str, dict[str, str]] = {}
    trees: dict[str, str] = {}
    for step in plan.profile_spec.build:
        if skipped_on_plan(plan, step):
            continue
        if step.source not in trees:
            trees[step.source] = source_identity(plan.workspace.source_dir(step.source))
        data = {
            "env": env_id,
            "step": step.model_dump(mode="json"),
            "cuda": res.cuda if compiles_cuda(plan, step) else None,
            "arch": res.torch_cuda_arch_list if compiles_cuda(plan, step) else None,
            "gcc": [res.gcc, plan.profile_spec.gcc],
        }
        setup = hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()
        parts[step.name] = {"setup": setup, "tree": trees[step.source]}
    return parts


def wheel_key(plan: BuildPlan, step: BuildStep, tree: str) -> str:
    """The build key of a `wheel_cache` step's wheel: what the compiled code depends on, not the whole env.

    The source tree (a patched package tree has the same commits everywhere: the patch engine commits with a
    fixed identity), the step, Python and the exact torch build (its index: +cpu and +cuXY differ in ABI), CUDA,
    the arch list and GCC. Two recipes that build the same mmcv-full against the same torch share the wheel."""
    res = plan.resolution
    cuda = compiles_cuda(plan, step)
    data = {
        "step": step.model_dump(mode="json", exclude={"name"}),
        "tree": tree,
        "python": res.python,
        "torch": [res.torch, res.pip_index_url, res.pip_find_links, res.installer],
        "cuda": res.cuda if cuda else None,
        "arch": res.torch_cuda_arch_list if cuda else None,
        "gcc": [res.gcc, plan.profile_spec.gcc],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def cached_wheel(key: str) -> Path | None:
    """The wheel a `wheel_cache` step built earlier under this key, or None."""
    found = sorted((wheels_dir() / key).glob("*.whl"))
    return found[0] if len(found) == 1 else None


def keep_wheel(key: str, built: Path) -> Path:
    """Move the one wheel a step wrote into `built` to the cache under `key` (atomic: a folder rename)."""
    wheels = sorted(built.glob("*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"{built}: expected one wheel from the build step, found {len(wheels)}")
    dest = wheels_dir() / key
    if not dest.exists():
        try:
            os.replace(built, dest)
        except OSError:
            if not dest.exists():  # another process won the race: its wheel is the same build
                raise
    found = cached_wheel(key)
    assert found is not None
    return found


def key_of(parts: Mapping[str, str]) -> str:
    return hashlib.sha256(f"{parts['setup']} {parts['tree']}".encode()).hexdigest()


def step_keys(plan: BuildPlan, env_id: str) -> dict[str, str]:
    """The key of each step that runs on this plan (`cpu: skip` steps on a CPU plan have none), in order:
    one hash over both parts of `step_key_parts`."""
    return {name: key_of(parts) for name, parts in step_key_parts(plan, env_id).items()}


def _read_record(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_step_record(path: Path) -> dict[str, str]:
    """The keys of the steps that completed (an unreadable record counts as none)."""
    steps = _read_record(path).get("steps")
    return {str(k): str(v) for k, v in steps.items()} if isinstance(steps, dict) else {}


def read_step_parts(path: Path) -> dict[str, dict[str, str]]:
    """The key parts of each step's last attempt (completed or not): what its build folder was made with."""
    parts = _read_record(path).get("parts")
    if not isinstance(parts, dict):
        return {}
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in parts.items() if isinstance(v, dict)}


def write_step_record(
    path: Path, keys: Mapping[str, str], parts: Mapping[str, Mapping[str, str]] | None = None
) -> None:
    data: dict[str, object] = {"steps": dict(keys)}
    if parts:
        data["parts"] = {name: dict(p) for name, p in parts.items()}
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def steps_to_run(current: Mapping[str, str], recorded: Mapping[str, str]) -> list[str]:
    """The steps to (re)run: the first whose key changed (or never completed) and every step after it.

    Later steps are rerun too because they may build against an earlier one (Mask2Former's op links detectron2's),
    and a step key covers only its own tree: rerunning a few seconds of a later step is the safe side.
    """
    names = list(current)
    for i, name in enumerate(names):
        if recorded.get(name) != current[name]:
            return names[i:]
    return []


def steps_to_clean(
    todo: Sequence[str], current: Mapping[str, Mapping[str, str]], attempted: Mapping[str, Mapping[str, str]]
) -> set[str]:
    """The steps among `todo` whose build folder is not from the current setup (never attempted here, or another
    env, step definition, CUDA, arch list or GCC): their `clean:` runs. A step whose tree alone changed, or that
    failed with the same setup, keeps its build folder for an incremental compile."""
    return {name for name in todo if attempted.get(name, {}).get("setup") != current[name]["setup"]}


def forced_steps(plan: BuildPlan, step: str | None) -> list[str]:
    """`build --force [STEP]`: every step of the profile, or the named one; an unknown name is a usage error."""
    names = [s.name for s in plan.profile_spec.build]
    if step is None:
        return names
    if step not in names:
        raise UsageError(
            f"build --force {step}: profile {plan.profile} has no build step {step} "
            f"(steps: {', '.join(names) or 'none'})"
        )
    return [step]


def run_recorded_steps(
    plan: BuildPlan,
    prefix: Path,
    record: Path,
    env_id: str,
    progress: Progress,
    *,
    on_failure: OnFailure | None = None,
    force: Sequence[str] | None = None,
) -> bool:
    """Run the steps whose key changed (plus those after them, plus the forced ones), recording each as it ends.

    Returns whether any step ran. A failed step stays unrecorded, the ones before it stay recorded: the retry
    resumes at the failed step with the env untouched. Each step's key parts are recorded when it starts (they
    describe its build folder from then on), so the retry knows whether that folder can be reused.
    """
    parts = step_key_parts(plan, env_id)
    current = {name: key_of(p) for name, p in parts.items()}
    recorded = {k: v for k, v in read_step_record(record).items() if k in current}
    attempted = {k: v for k, v in read_step_parts(record).items() if k in current}
    forced = {n for n in force or () if n in current}
    todo = set(steps_to_run(current, recorded)) | forced
    if not todo:
        return False
    for name in current:
        if name in recorded and name not in todo:
            progress(f"build step {name}: unchanged")
    # --force is the manual "from scratch": it cleans too.
    clean = steps_to_clean([n for n in current if n in todo], parts, attempted) | forced

    def started(name: str) -> None:
        attempted[name] = parts[name]
        write_step_record(record, recorded, attempted)

    def done(name: str) -> None:
        recorded[name] = current[name]
        write_step_record(record, recorded, attempted)

    for name in todo:
        recorded.pop(name, None)
    write_step_record(record, recorded, attempted)
    run_local_steps(
        plan,
        prefix,
        progress,
        on_failure=on_failure,
        only=[n for n in current if n in todo],
        done=done,
        clean=clean,
        started=started,
    )
    return True


def steps_current(plan: BuildPlan, record: Path, env_id: str) -> bool:
    """Every step that runs on this plan completed with its current key."""
    current = step_keys(plan, env_id)
    if not current:
        return True
    recorded = read_step_record(record)
    return all(recorded.get(name) == key for name, key in current.items())


def run_local_steps(
    plan: BuildPlan,
    prefix: Path,
    progress: Progress,
    *,
    on_failure: OnFailure | None = None,
    only: Sequence[str] | None = None,
    done: Callable[[str], None] | None = None,
    clean: Collection[str] | None = None,
    started: Callable[[str], None] | None = None,
) -> list[Path]:
    """Run the profile's build steps (or the ones named in `only`) with the env's bin first on PATH.

    `clean`: the steps whose `clean:` paths are removed first (None: every step's); the others keep their build
    folder, so the step's own incremental build (ninja, make) and the compiler cache redo only what changed.

    One log per step (`<workspace>/.legacyrun/logs/build-<step>.log`, headed by the compiler and CUDA settings);
    returns the logs of the steps that ran.
    """
    logs: list[Path] = []
    bin_dir = prefix / "bin"
    steps = [s for s in plan.profile_spec.build if only is None or s.name in only]
    unknown = sorted(set(only or ()) - {s.name for s in steps})
    if unknown:
        raise BuildError(f"profile {plan.profile} has no build step {', '.join(unknown)}")
    setup = local_setup(plan, prefix, steps)
    for note in setup.notes:
        progress(note)
    for step in steps:
        if skipped_on_plan(plan, step):
            progress(skip_note(step))
            continue
        cwd = plan.workspace.source_dir(step.source) / step.cwd
        if not cwd.is_dir():
            raise BuildError(
                f"build step {step.name}: {cwd} does not exist",
                hint=f"run `{command('fetch', plan.recipe.recipe.name)}` first",
            )
        env, notes = local_step_env(plan, step, prefix, setup)
        argv, wheel, key = _wheel_argv(plan, step, progress)
        if wheel is None and step.clean and (clean is None or step.name in clean):
            clean_paths(cwd, step.clean)
        elif wheel is None and step.clean:
            progress(
                f"build step {step.name}: same settings, only the sources changed: keeping {', '.join(step.clean)}"
            )
        if started is not None:
            started(step.name)
        if argv[0] in ("python", "python3"):
            argv[0] = str(bin_dir / "python")
        log_path = plan.workspace.logs / f"build-{step.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        shown = {k: env.get(k) for k in ("CC", "CXX", "CUDA_HOME", "TORCH_CUDA_ARCH_LIST", "FORCE_CUDA", "MAX_JOBS")}
        header = " ".join([f"{k}={v}" for k, v in shown.items() if v is not None] + [cache_settings(env)]).strip()
        progress(f"build step {step.name}: {' '.join(argv)} (in {cwd})")
        stream = proc.stream(argv, cwd=cwd, env=env)
        with log_path.open("w", encoding="utf-8") as log:
            for note in notes:
                log.write(f"legacyrun: {note}\n")
                progress(note)
            log.write(f"legacyrun: {header}\n")
            for line in stream:
                log.write(line + "\n")
                progress(line)
        logs.append(log_path)
        if stream.returncode != 0:
            fail_with_log(f"build step {step.name} failed (exit {stream.returncode})", log_path, on_failure)
        if key is not None and wheel is None:
            _install_built_wheel(key, step, cwd, bin_dir / "python", env, log_path, on_failure, progress)
        if done is not None:
            done(step.name)
    return logs


def _wheel_build_dir(step: BuildStep) -> Path:
    return wheels_dir() / f".build-{step.name}-{os.getpid()}"


def _wheel_argv(plan: BuildPlan, step: BuildStep, progress: Progress) -> tuple[list[str], Path | None, str | None]:
    """The argv to run, the cached wheel it installs (None: it builds one) and the wheel's key (None: no cache).

    The key is taken before the step runs: a build may rewrite tracked files of its tree (generated metadata)."""
    if not step.wheel_cache:
        return list(step.argv), None, None
    key = wheel_key(plan, step, source_identity(plan.workspace.source_dir(step.source)))
    wheel = cached_wheel(key)
    if wheel is not None:
        progress(f"build step {step.name}: cached wheel {wheel.name} (key {key[:12]})")
        return ["python", "-m", "pip", "install", "--no-deps", "--force-reinstall", str(wheel)], wheel, key
    build = _wheel_build_dir(step)
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    return [a.replace("{wheel_dir}", str(build)) for a in step.argv], None, key


def _install_built_wheel(
    key: str,
    step: BuildStep,
    cwd: Path,
    python: Path,
    env: Mapping[str, str | None],
    log_path: Path,
    on_failure: OnFailure | None,
    progress: Progress,
) -> None:
    """Cache the wheel the step just built and install it into the env (the log gets pip's output too)."""
    wheel = keep_wheel(key, _wheel_build_dir(step))
    progress(f"build step {step.name}: cached {wheel.name} (key {key[:12]})")
    done = proc.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall", str(wheel)], cwd=cwd, env=env
    )
    with log_path.open("a", encoding="utf-8") as log:
        log.write(done.stdout + done.stderr)
    if not done.ok:
        fail_with_log(f"build step {step.name}: installing {wheel.name} failed", log_path, on_failure)


def fail_with_log(message: str, log_path: Path, on_failure: OnFailure | None) -> None:
    """Hand the log to the explainer hook, then raise a BuildError that names the log."""
    if on_failure is not None:
        try:
            text = log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        on_failure(text)
    raise BuildError(f"{message}; log: {log_path}", hint=f"read {log_path}; `legacyrun explain` reads it too")


def merged(*maps: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in maps:
        out.update(m)
    return out


__all__ = [
    "CUDA_ONLY_VARS",
    "STEPS_RECORD",
    "CompilerChoice",
    "HostCompiler",
    "LocalSetup",
    "choose_compiler",
    "clean_paths",
    "compiles_cuda",
    "cudart_link_dir",
    "fail_with_log",
    "forced_steps",
    "gcc_names",
    "host_compilers",
    "key_of",
    "local_cuda_env",
    "local_cuda_home",
    "local_setup",
    "local_step_env",
    "merged",
    "read_step_parts",
    "read_step_record",
    "run_local_steps",
    "run_recorded_steps",
    "skip_note",
    "skipped_on_plan",
    "source_identity",
    "step_env",
    "step_key_parts",
    "step_keys",
    "steps_current",
    "steps_summary",
    "steps_to_clean",
    "steps_to_run",
    "wheel_cuda_dirs",
    "write_step_record",
]
