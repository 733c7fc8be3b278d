"""Build steps and tasks of a repository, from its native-extension files and the commands its docs show.

- A make.sh is read, not run: its `python setup.py ...` line becomes the step's argv (legacyrun sets FORCE_CUDA and
  the arch list on a CUDA plan, so the step says `cuda: true` instead of hard-coding FORCE_CUDA); a setup.py that
  raises when it finds no CUDA has no CPU build, so its step is skipped on a CPU plan (`cpu: skip`).
- A top-level setup.py with CUDAExtension is the project's own package (`python setup.py build develop`).
- Tasks come from the docs' command lines (code blocks, backslash continuations joined) that run a train/test
  script; placeholder values (`/path/to/...`, `SET_TO_...`) are dropped. Launchers become adapt rules:
  `--num-gpus N` a cli key with the gpus rule, `torch.distributed.launch --nproc_per_node=N` the `{gpus}` value.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCRIPT_RE = re.compile(r"(?:^|/)((?:train|test|eval)\w*)\.py$")
_PLACEHOLDER_RE = re.compile(r"^(?:/path/to|/dir/for|path/to|<|\$|SET_TO_)|SET_TO_|/path/to/", re.I)


@dataclass
class Build:
    name: str
    cwd: str
    argv: list[str]
    where: str
    clean: list[str] = field(default_factory=lambda: ["build"])
    cpu_skip: bool = False
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class TaskFound:
    name: str
    argv: list[str]
    where: str
    distributed: bool = False


@dataclass
class CommandsResult:
    builds: list[Build] = field(default_factory=list)
    tasks: list[TaskFound] = field(default_factory=list)
    adapt_keys: list[dict[str, Any]] = field(default_factory=list)
    reference_gpus: int | None = None
    notes: list[str] = field(default_factory=list)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-.") or "x"


def _cuda_only(setup_text: str) -> bool:
    """setup.py builds CUDAExtension and raises instead of falling back to a CppExtension without CUDA."""
    return "CUDAExtension" in setup_text and bool(
        re.search(r"\belse\s*:[^\n]*\n(?:\s+[^\n]*\n){0,4}?\s+raise\b", setup_text)
    )


def find_builds(root: Path, files: list[Path]) -> list[Build]:
    out: list[Build] = []
    covered: set[Path] = set()
    for path in files:
        if path.name != "make.sh":
            continue
        rel = path.relative_to(root).as_posix()
        cwd = path.parent.relative_to(root).as_posix()
        lines = [ln.strip() for ln in _read(path).splitlines() if ln.strip() and not ln.strip().startswith("#")]
        cmd = next((ln for ln in lines if re.match(r"python\d?(?:\.\d+)?\s+setup\.py\b", ln)), None)
        setup = path.parent / "setup.py"
        if cmd is None or not setup.is_file():
            out.append(
                Build(_slug(cwd.rsplit("/", 1)[-1] if cwd != "." else "ext"), cwd, ["sh", "make.sh"], rel, clean=[])
            )
            continue
        covered.add(setup)
        argv = ["python", *shlex.split(cmd)[1:]]
        name = _ext_name(_read(setup)) or cwd.rsplit("/", 1)[-1]
        out.append(Build(_slug(name), cwd, argv, rel, cpu_skip=_cuda_only(_read(setup))))
    for path in files:
        if path.name != "setup.py" or path in covered:
            continue
        text = _read(path)
        if "CUDAExtension" not in text:
            continue
        rel = path.relative_to(root).as_posix()
        cwd = path.parent.relative_to(root).as_posix()
        argv = ["python", "setup.py", "build", "develop"] if cwd == "." else ["python", "setup.py", "build", "install"]
        name = _package_name(text) or _ext_name(text) or (cwd if cwd != "." else "ext")
        out.append(Build(_slug(name), cwd, argv, rel, cpu_skip=_cuda_only(text)))
    return out


# `setup.py develop` / `setup.py install` on the modern profile's setuptools (>= 80) no longer leave an importable
# package in a venv (develop is gone or delegates to pip without the build flags), so the modern profile builds
# the same tree through pip, as the curated recipes do (recipes/masktextspotter.yaml, recipes/mask2former.yaml):
# no build isolation (the extension compiles against the env's torch), no deps (the profile's pip list has them),
# and an editable install in compat mode (a plain path entry: the tasks import the package from the source tree).
_MODERN_SETUP = {
    ("python", "setup.py", "build", "develop"): [
        "python", "-m", "pip", "install", "-v", "--no-build-isolation", "--use-pep517", "--no-deps",
        "--config-settings", "editable_mode=compat", "-e", ".",
    ],
    ("python", "setup.py", "develop"): [
        "python", "-m", "pip", "install", "-v", "--no-build-isolation", "--use-pep517", "--no-deps",
        "--config-settings", "editable_mode=compat", "-e", ".",
    ],
    ("python", "setup.py", "build", "install"): [
        "python", "-m", "pip", "install", "-v", "--no-build-isolation", "--use-pep517", "--no-deps", ".",
    ],
    ("python", "setup.py", "install"): [
        "python", "-m", "pip", "install", "-v", "--no-build-isolation", "--use-pep517", "--no-deps", ".",
    ],
}  # fmt: skip


def modern_argv(argv: list[str]) -> list[str]:
    """The modern profile's form of a build step's argv (pip instead of `setup.py develop/install`)."""
    return list(_MODERN_SETUP.get(tuple(argv), argv))


def _package_name(setup_text: str) -> str | None:
    m = re.search(r"\bsetup\s*\((?:[^()]|\([^()]*\))*?\bname\s*=\s*['\"]([\w.-]+)['\"]", setup_text, re.S)
    return m.group(1) if m else None


def _ext_name(setup_text: str) -> str | None:
    m = re.search(
        r"\bextension\s*\(\s*['\"]([\w.-]+)['\"]|CUDAExtension\s*\(\s*(?:name\s*=\s*)?['\"]([\w.-]+)['\"]", setup_text
    )
    if not m:
        return None
    name = m.group(1) or m.group(2)
    return name.rsplit(".", 1)[-1]


# --- tasks ----------------------------------------------------------------------------------------------------


def _command_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, command) with backslash continuations joined and prompts/backticks stripped."""
    out: list[tuple[int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = i
        line = lines[i].strip().strip("`").strip()
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1].rstrip() + " " + lines[i].strip().strip("`").strip()
        line = re.sub(r"^\$\s+", "", line)
        out.append((start + 1, line))
        i += 1
    return out


def _clean_argv(tokens: list[str], root: Path | None = None) -> list[str]:
    """Drop placeholder values (and the option naming them) and trailing comments; a placeholder path whose file
    name is a file of the repository (`/path/to/cfg_kitti_fm.py`) becomes that file; an output directory becomes
    one in the workspace."""
    out: list[str] = []
    for tok in tokens:
        if tok.startswith("#"):
            break
        tok = tok.strip("'\"")
        if _PLACEHOLDER_RE.search(tok):
            real = _repo_file(root, Path(tok).name) if root is not None and "." in Path(tok).name else None
            if real is not None:
                out.append(real)
                continue
            if out and re.search(r"(work_?dir|output|out_dir|save|log)", out[-1], re.I) and out[-1].startswith("-"):
                out.append("{workspace}/work_dirs")
                continue
            if out and (out[-1].startswith("-") or re.fullmatch(r"[A-Z][A-Z0-9_.]+", out[-1])):
                out.pop()
            continue
        out.append(tok.strip("'\""))
    return out


def _repo_file(root: Path | None, name: str) -> str | None:
    if root is None:
        return None
    hits = sorted(p.relative_to(root).as_posix() for p in root.rglob(name) if ".git" not in p.parts)
    return hits[0] if hits else None


def _parse_command(line: str, root: Path | None = None) -> tuple[list[str], int | None, str | None] | None:
    """(argv, nproc_per_node or --num-gpus value, which launcher) of a train/test command line, else None."""
    try:
        tokens = shlex.split(line, comments=False, posix=True)
    except ValueError:
        tokens = line.split()
    if not tokens:
        return None
    if re.fullmatch(r"(?:\S*/)?python\d?(?:\.\d+)?", tokens[0]):
        tokens[0] = "python"
    elif tokens[0] in ("sh", "bash") and len(tokens) > 1 and tokens[1].endswith(".sh"):
        return (tokens[:2], None, None) if re.search(r"(train|test|eval)", tokens[1]) else None
    else:
        return None
    tokens = _clean_argv(tokens, root)
    launcher: str | None = None
    gpus: int | None = None
    if tokens[1:3] == ["-m", "torch.distributed.launch"] or tokens[1:3] == ["-m", "torch.distributed.run"]:
        launcher = "torch.distributed.launch"
        rest: list[str] = []
        args = tokens[3:]
        j = 0
        while j < len(args):
            tok = args[j]
            m = re.match(r"--nproc[_-]per[_-]node(?:=(\d+))?$", tok)
            if m:
                value = m.group(1)
                if value is None and j + 1 < len(args):
                    j += 1
                    value = args[j]
                gpus = int(value) if value and value.isdigit() else None
                rest.append("--nproc_per_node={gpus}")
            elif tok.startswith(("--master_port", "--master-port")):
                if "=" not in tok:
                    j += 1
            else:
                rest.append(tok)
            j += 1
        tokens = [*tokens[:3], *rest]
    script = next((t for t in tokens[1:] if t.endswith(".py")), None)
    if script is None or not _SCRIPT_RE.search(script):
        return None
    if "--num-gpus" in tokens:
        k = tokens.index("--num-gpus")
        if k + 1 < len(tokens) and tokens[k + 1].isdigit():
            gpus = int(tokens[k + 1])
            launcher = "--num-gpus"
            del tokens[k : k + 2]
    return tokens, gpus, launcher


def _script(argv: list[str]) -> str:
    return next((t for t in argv[1:] if t.endswith((".py", ".sh"))), "")


def find_tasks(root: Path, docs: list[Path], files: list[Path]) -> CommandsResult:
    res = CommandsResult()
    seen: set[tuple[str, ...]] = set()
    gpu_refs: list[tuple[int, str, str]] = []
    for path in docs:
        rel = path.relative_to(root).as_posix()
        for no, line in _command_lines(_read(path)):
            parsed = _parse_command(line, root)
            if parsed is None:
                continue
            argv, gpus, launcher = parsed
            script = next((t for t in argv[1:] if t.endswith((".py", ".sh"))), "")
            if not (root / script).is_file():
                continue
            if tuple(argv) in seen:
                continue
            seen.add(tuple(argv))
            if gpus is not None and launcher is not None:
                gpu_refs.append((gpus, launcher, f"{rel}:{no}"))
            kind = (
                "eval"
                if "--eval-only" in argv
                else ("test" if re.search(r"(test|eval)", Path(script).name) else "train")
            )
            name = kind  # several of a kind: the scaffold names them by their config file
            res.tasks.append(TaskFound(name, argv, f"{rel}:{no}", distributed=launcher is not None))
    # Scripts nobody's docs run: the conventional entry points, without arguments.
    for kind, cands in (
        ("train", ["train.py", "tools/train.py", "train_net.py", "tools/train_net.py"]),
        ("test", ["test.py", "tools/test.py", "eval.py", "tools/test_net.py"]),
    ):
        if any(t.name == kind for t in res.tasks):
            continue
        found = next((c for c in cands if (root / c).is_file()), None)
        if found:
            res.tasks.append(TaskFound(kind, ["python", found], found))
    if gpu_refs:
        res.reference_gpus = max(g for g, _, _ in gpu_refs)
        launchers = {lau for _, lau, _ in gpu_refs}
        num_gpu_scripts = {
            _script(t.argv) for t in res.tasks if t.distributed and "--nproc_per_node={gpus}" not in t.argv
        }
        if "--num-gpus" in launchers:
            res.adapt_keys.append(
                {
                    "key": "--num-gpus",
                    "format": "cli",
                    # every task of a script that one command launches with --num-gpus (train_net.py --eval-only too)
                    "tasks": sorted({t.name for t in res.tasks if _script(t.argv) in num_gpu_scripts}),
                    "rule": "gpus",
                    "reference": res.reference_gpus,
                    "why": "the launcher flag the docs use ("
                    + ", ".join(w for _, lau, w in gpu_refs if lau == "--num-gpus")
                    + ")",
                }
            )
        res.notes.append(
            f"reference_gpus {res.reference_gpus} from the docs' launch commands ("
            + ", ".join(f"{w}: {g}" for g, _, w in gpu_refs)
            + ")"
        )
    return res


__all__ = ["Build", "CommandsResult", "TaskFound", "find_builds", "find_tasks", "modern_argv"]
