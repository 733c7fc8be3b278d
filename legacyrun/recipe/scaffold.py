"""`legacyrun recipe new NAME --from-repo GIT_URL`: a first recipe for a repository nobody wrote one for.

It clones the repository into a temp folder (git CLI through legacyrun.proc), checks out the commit (HEAD when
none is given) and reads what a person would read first: requirements*.txt, setup.py (install_requires,
python_requires, CUDAExtension), environment.yml, make.sh, launch scripts with nproc_per_node, the versions the
README names, and the forward-port catalog's `scan` of the code. The result is recipe YAML that validates, with
comment lines at the top saying what was inferred from where and what is left to do (TODO lines).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legacyrun import proc
from legacyrun.errors import FetchError, UsageError

_MAX_DEPTH = 4
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".github", "docs", "doc"}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_MAX_FINDING_NOTES = 20
# The stack the modern profile is scanned for (its pins say torch >=2.1 on Python 3.11).
MODERN_TORCH = "2.5"
MODERN_PYTHON = "3.11"

# README phrases: "PyTorch 1.4", "pytorch>=1.0", "PyTorch v0.4.1", "CUDA 10.1", "Python 3.6", "cuDNN v7", "GCC 5".
_README_PATTERNS: dict[str, re.Pattern[str]] = {
    "torch": re.compile(r"\bpy[- ]?torch\s*(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*(\d+\.\d+(?:\.\d+)?)", re.I),
    "torchvision": re.compile(r"\btorchvision\s*(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*(\d+\.\d+(?:\.\d+)?)", re.I),
    "cuda": re.compile(r"\bcuda\s*(?:toolkit\s*)?(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*(\d+\.\d+)", re.I),
    "python": re.compile(r"\bpython\s*(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*([23]\.\d+)", re.I),
    "cudnn": re.compile(r"\bcudnn\s*(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*(\d+)", re.I),
    "gcc": re.compile(r"\bgcc\s*(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*(\d+)(?:\.\d+)*", re.I),
}
_CONDA_NAMES = {
    "pytorch": "torch",
    "torch": "torch",
    "torchvision": "torchvision",
    "python": "python",
    "cudatoolkit": "cuda",
    "cuda-toolkit": "cuda",
    "cudnn": "cudnn",
}
_TORCH_NAMES = {"torch", "pytorch", "torchvision"}
_NPROC_RE = re.compile(r"--?nproc[_-]per[_-]node(?:\s*=\s*|\s+)(\d+)")


@dataclass
class _Facts:
    """What the reading found; each pin remembers where it came from."""

    pins: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (version or spec, where)
    pip: dict[str, str] = field(default_factory=dict)  # canonical name -> requirement line
    builds: list[dict[str, Any]] = field(default_factory=list)
    launchers: list[tuple[str, int]] = field(default_factory=list)  # (script, nproc_per_node)
    title: str | None = None
    notes: list[str] = field(default_factory=list)

    def pin(self, key: str, value: str, where: str) -> None:
        """The first reader to find a pin wins; readers run from most to least exact (README last)."""
        self.pins.setdefault(key, (value, where))


@dataclass(frozen=True)
class ScaffoldResult:
    """The recipe text and what the CLI tells the user."""

    name: str
    text: str
    notes: list[str]
    url: str
    commit: str
    catalog_rules: dict[str, list[str]]  # profile -> rule ids of its catalog patch
    findings: list[dict[str, Any]]
    catalog_available: bool

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "url": self.url,
            "commit": self.commit,
            "notes": self.notes,
            "catalog_available": self.catalog_available,
            "catalog_rules": self.catalog_rules,
            "findings": self.findings,
        }


# --- git ------------------------------------------------------------------------------------------------------


def _git(args: list[str], cwd: Path | None = None) -> str:
    git = proc.which("git", install_hint="apt-get install git")
    res = proc.run([git, *args], cwd=cwd, env={"GIT_TERMINAL_PROMPT": "0"})
    if not res.ok:
        detail = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise FetchError(f"git {args[0]} failed: {detail}")
    return res.stdout.strip()


def _checkout(url: str, commit: str | None, dest: Path) -> str:
    try:
        _git(["clone", "--quiet", url, str(dest)])
    except FetchError as exc:
        raise FetchError(f"cannot clone {url}: {exc.message}") from None
    if commit:
        try:
            full = _git(["rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"], cwd=dest)
        except FetchError:
            raise UsageError(f"commit {commit} is not in {url}") from None
        _git(["-c", "advice.detachedHead=false", "checkout", "--quiet", full], cwd=dest)
    return _git(["rev-parse", "HEAD"], cwd=dest)


# --- reading the tree -----------------------------------------------------------------------------------------


def _walk(root: Path) -> Iterator[Path]:
    """Files up to a few levels deep, in sorted order, skipping VCS and docs folders."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        depth = len(rel.parts)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and depth < _MAX_DEPTH)
        for fn in sorted(filenames):
            yield Path(dirpath) / fn


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _version_of(spec: str) -> str:
    """'==1.4.0' -> '1.4.0'; '>=1.0' stays a specifier."""
    spec = spec.strip()
    if spec.startswith("==") and "," not in spec and "*" not in spec:
        return spec[2:].strip()
    return spec


def _add_requirement(facts: _Facts, line: str, where: str) -> None:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(line)
    except InvalidRequirement:
        facts.notes.append(f"TODO: {where}: could not read requirement {line!r}; add it to pip by hand")
        return
    name = canonicalize_name(req.name)
    if name in _TORCH_NAMES:
        key = "torchvision" if name == "torchvision" else "torch"
        if str(req.specifier):
            facts.pin(key, _version_of(str(req.specifier)), where)
        return
    facts.pip.setdefault(name, str(req))


def _requirements(facts: _Facts, root: Path, files: list[Path]) -> None:
    for path in files:
        if not re.fullmatch(r"requirements[\w.-]*\.txt", path.name) or len(path.relative_to(root).parts) > 2:
            continue
        where = path.relative_to(root).as_posix()
        for raw in _read(path).splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith(("#", "-", "git+", "http")):
                continue
            _add_requirement(facts, line, where)


def _setup_py(facts: _Facts, root: Path, files: list[Path]) -> None:
    for path in files:
        if path.name != "setup.py":
            continue
        where = path.relative_to(root).as_posix()
        text = _read(path)
        if path.parent == root:
            block = re.search(r"install_requires\s*=\s*\[(.*?)\]", text, re.S)
            for item in re.findall(r"['\"]([^'\"]+)['\"]", block.group(1) if block else ""):
                _add_requirement(facts, item, where)
            py = re.search(r"python_requires\s*=\s*['\"]([^'\"]+)['\"]", text)
            if py:
                facts.pin("python", _version_of(py.group(1)), where)
        if "CUDAExtension" in text:
            cwd = path.parent.relative_to(root).as_posix()
            if (path.parent / "make.sh").is_file():
                continue  # make.sh drives this setup.py; the make.sh step covers it
            facts.builds.append(
                {
                    "name": _slug("build-" + (cwd if cwd != "." else "ext")),
                    "cwd": cwd,
                    "argv": ["python", "setup.py", "build", "develop"],
                    "env": {"FORCE_CUDA": "1"},
                    "clean": ["build"],
                    "where": where,
                }
            )


def _make_sh(facts: _Facts, root: Path, files: list[Path]) -> None:
    for path in files:
        if path.name != "make.sh":
            continue
        cwd = path.parent.relative_to(root).as_posix()
        facts.builds.append(
            {
                "name": _slug("make-" + (cwd if cwd != "." else "ext")),
                "cwd": cwd,
                "argv": ["sh", "make.sh"],
                "env": {"FORCE_CUDA": "1"},
                "clean": [],
                "where": path.relative_to(root).as_posix(),
            }
        )


def _environment_yml(facts: _Facts, root: Path, files: list[Path]) -> None:
    import yaml

    for path in files:
        if path.name not in ("environment.yml", "environment.yaml") or len(path.relative_to(root).parts) > 2:
            continue
        where = path.relative_to(root).as_posix()
        try:
            data = yaml.safe_load(_read(path))
        except yaml.YAMLError:
            facts.notes.append(f"TODO: {where} is not valid YAML; read its pins by hand")
            continue
        deps = data.get("dependencies", []) if isinstance(data, dict) else []
        for dep in deps if isinstance(deps, list) else []:
            if isinstance(dep, dict):
                for line in dep.get("pip", []) or []:
                    if isinstance(line, str):
                        _add_requirement(facts, line, where)
                continue
            if not isinstance(dep, str):
                continue
            m = re.match(r"^(?:[\w-]+::)?([A-Za-z0-9_.-]+)\s*(?:==?|\s)\s*([0-9][\w.*]*)", dep.strip())
            if m and m.group(1).lower() in _CONDA_NAMES:
                facts.pin(_CONDA_NAMES[m.group(1).lower()], m.group(2).rstrip(".*"), where)


def _launchers(facts: _Facts, root: Path, files: list[Path]) -> None:
    for path in files:
        if path.suffix not in (".sh", ".bash"):
            continue
        m = _NPROC_RE.search(_read(path))
        if m:
            facts.launchers.append((path.relative_to(root).as_posix(), int(m.group(1))))


def _readme(facts: _Facts, root: Path) -> None:
    for cand in sorted(root.iterdir()):
        if cand.is_file() and cand.name.lower().startswith("readme"):
            text = _read(cand)
            title = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.M)
            if title:
                facts.title = title.group(1).strip()
            for key, pattern in _README_PATTERNS.items():
                m = pattern.search(text)
                if m:
                    facts.pin(key, m.group(1), f"{cand.name}: {m.group(0).strip()!r}")
            return


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-._")
    return slug or "x"


# --- catalog scan ---------------------------------------------------------------------------------------------


def _targets(pins: dict[str, tuple[str, str]]) -> list[tuple[str, Any]]:
    """(profile, catalog TargetVersions) to scan for: modern always; faithful when its torch is exact.

    A catalog without TargetVersions gets one untargeted scan (its forward rules) for modern.
    """
    from packaging.version import InvalidVersion, Version

    try:
        from legacyrun.patching.catalog import TargetVersions
    except ImportError:
        return [("modern", None)]

    def exact(key: str) -> str | None:
        value = pins.get(key, ("", ""))[0]
        try:
            Version(value)
        except InvalidVersion:
            return None
        return value

    out: list[tuple[str, Any]] = [("modern", TargetVersions(torch=MODERN_TORCH, python=MODERN_PYTHON))]
    torch = exact("torch")
    if torch is not None:
        out.append(("faithful", TargetVersions(torch=torch, python=exact("python"))))
    return out


def _scan(root: Path, pins: dict[str, tuple[str, str]]) -> tuple[bool, list[dict[str, Any]]]:
    """The catalog's findings per profile as plain dicts; (False, []) when the catalog is not in this build."""
    try:
        from legacyrun.patching.catalog import scan
    except ImportError:
        return False, []
    out = []
    for profile, target in _targets(pins):
        for f in scan(root, target):
            path = Path(str(f.path))
            if path.is_absolute():
                with contextlib.suppress(ValueError):
                    path = path.relative_to(root)
            out.append(
                {
                    "profile": profile,
                    "path": path.as_posix(),
                    "line": int(f.line),
                    "rule_id": str(f.rule_id),
                    "auto_fixable": bool(f.auto_fixable),
                    "what_breaks": str(f.what_breaks),
                    "fix": str(f.fix),
                }
            )
    return True, sorted(out, key=lambda d: (d["profile"], d["path"], d["line"], d["rule_id"]))


def _catalog_patches(
    findings: list[dict[str, Any]], source: str, notes: list[str]
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """One catalog patch per profile with the auto-fixable rule ids; the other findings become TODO lines."""
    patches: list[dict[str, Any]] = []
    rules_by_profile: dict[str, list[str]] = {}
    for profile, patch_id, why in (
        ("faithful", "faithful-fixes", "sites the authors' stack needs fixed on today's hosts"),
        ("modern", "forward-ports", "sites the modern stack rejects"),
    ):
        mine = [f for f in findings if f["profile"] == profile and f["auto_fixable"]]
        rules = sorted({f["rule_id"] for f in mine})
        if not rules:
            continue
        rules_by_profile[profile] = rules
        patches.append(
            {
                "id": patch_id,
                "kind": "catalog",
                "source": source,
                "rules": rules,
                "why": f"`scan` found {len(mine)} {why}",
                "when": {"profiles": [profile]},
            }
        )
        notes.append(f"catalog patch {patch_id} ({profile}): {', '.join(rules)}")
    if not patches:
        notes.append("catalog scan found nothing to patch automatically")
    manual: dict[tuple[str, int, str], dict[str, Any]] = {}
    for f in findings:
        if not f["auto_fixable"]:
            manual.setdefault((f["path"], f["line"], f["rule_id"]), f)
    for f in list(manual.values())[:_MAX_FINDING_NOTES]:
        notes.append(f"TODO: {f['path']}:{f['line']}: {f['rule_id']} needs a hand-made patch: {f['what_breaks']}")
    if len(manual) > _MAX_FINDING_NOTES:
        notes.append(f"TODO: ... and {len(manual) - _MAX_FINDING_NOTES} more sites that need a hand-made patch")
    return patches, rules_by_profile


# --- assembling the recipe ------------------------------------------------------------------------------------


def _python_for_torch(torch: str) -> str:
    """A Python the torch release had wheels for (a guess the user should check)."""
    m = re.search(r"(\d+)\.(\d+)", torch)
    if not m:
        return "3.7"
    major, minor = int(m.group(1)), int(m.group(2))
    if major == 0 or (major == 1 and minor <= 1):
        return "3.6"
    if major == 1 and minor <= 6:
        return "3.7"
    if major == 1 and minor <= 10:
        return "3.8"
    return "3.10"


def _profiles(facts: _Facts, source: str, notes: list[str]) -> dict[str, Any]:
    pins = {k: v for k, (v, _) in facts.pins.items()}
    for key, (value, where) in sorted(facts.pins.items()):
        notes.append(f"{key} {value} (from {where})")
    torch = pins.get("torch")
    if torch is None:
        torch = "<2"
        notes.append("TODO: the torch version the authors used was not found; faithful.torch is a placeholder '<2'")
    python = pins.get("python")
    if python is None:
        python = _python_for_torch(torch)
        notes.append(f"TODO: python {python} is a guess from torch {torch}; check what the authors ran")
    if "cuda" not in pins and facts.builds:
        notes.append("TODO: the project builds CUDA code but names no CUDA version; set faithful.cuda")
    builds = [
        {
            "name": b["name"],
            "source": source,
            **({"cwd": b["cwd"]} if b["cwd"] != "." else {}),
            "argv": b["argv"],
            "env": b["env"],
            **({"clean": b["clean"]} if b["clean"] else {}),
        }
        for b in facts.builds
    ]
    for b in facts.builds:
        notes.append(f"build step {b['name']}: {' '.join(b['argv'])} (from {b['where']})")
    faithful: dict[str, Any] = {
        "description": "What the authors ran (scaffolded; check the pins).",
        "python": python,
        "torch": torch,
    }
    for key in ("torchvision", "cuda", "cudnn", "gcc"):
        if key in pins:
            faithful[key] = pins[key]
    if facts.pip:
        faithful["pip"] = [facts.pip[k] for k in sorted(facts.pip)]
    if builds:
        faithful["build"] = builds
    modern: dict[str, Any] = {
        "description": "Current PyTorch with the catalog's forward ports.",
        "python": "3.11",
        "torch": ">=2.1",
    }
    if facts.pip:
        modern["pip"] = sorted(facts.pip)
        notes.append("TODO: modern.pip lists the requirements unpinned; pin the ones that must stay old")
    if builds:
        modern["build"] = builds
    return {"faithful": faithful, "modern": modern}


def _tasks(facts: _Facts, root: Path, source: str, notes: list[str]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    tasks: dict[str, Any] = {}
    adapt: dict[str, Any] | None = None
    train_launch = next((s for s, _ in facts.launchers if "train" in Path(s).name), None)
    if train_launch:
        tasks["train"] = {"source": source, "argv": ["sh", train_launch], "distributed": True}
        notes.append(f"task train runs {train_launch} (a launch script)")
    for task, candidates in (("train", ["train.py", "tools/train.py", "train_net.py", "tools/train_net.py"]),
                             ("test", ["test.py", "tools/test.py", "eval.py", "tools/test_net.py"])):  # fmt: skip
        if task in tasks:
            continue
        found = next((c for c in candidates if (root / c).is_file()), None)
        if found:
            tasks[task] = {"source": source, "argv": ["python", found]}
            notes.append(f"task {task} runs {found}")
    if tasks:
        notes.append("TODO: the tasks' arguments (config file, data paths, output dir) were not inferred")
    else:
        notes.append("TODO: no train/test entry point found; add tasks")
    if facts.launchers:
        reference = max(n for _, n in facts.launchers)
        adapt = {
            "reference_gpus": reference,
            "keys": [
                {
                    "key": "--nproc_per_node",
                    "format": "shell",
                    "files": sorted({s for s, _ in facts.launchers}),
                    "rule": "gpus",
                    "why": "the launch scripts start one process per GPU",
                }
            ],
        }
        notes.append(
            f"adapt: reference_gpus {reference} from nproc_per_node in "
            + ", ".join(f"{s} ({n})" for s, n in facts.launchers)
        )
        notes.append("TODO: check which other values scale with the GPU count (batch size, learning rate)")
    return tasks, adapt


def _render(data: dict[str, Any], header: list[str]) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        """Block mappings, argv-style lists inline, no &anchors (profiles share build steps by value)."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    def _list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
        flow = all(isinstance(i, str | int | float | bool) for i in items)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)

    _Dumper.add_representer(list, _list)
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True)
    head = "".join("# " + " ".join(line.split()) + "\n" for line in header)
    return head + body


def scaffold_recipe(name: str, url: str, *, commit: str | None = None) -> ScaffoldResult:
    """Clone `url` at `commit` (HEAD if None) and infer a recipe; the text validates or this raises RecipeError."""
    from legacyrun.recipe.loader import parse_text
    from legacyrun.recipe.sources import default_name

    if not _NAME_RE.match(name):
        raise UsageError(f"invalid recipe name {name!r}: use lower-case letters, digits, '.', '_' or '-'")
    with tempfile.TemporaryDirectory(prefix="legacyrun-scaffold-") as tmp:
        root = Path(tmp) / "repo"
        sha = _checkout(url, commit, root)
        files = list(_walk(root))
        facts = _Facts()
        _environment_yml(facts, root, files)
        _requirements(facts, root, files)
        _setup_py(facts, root, files)
        _make_sh(facts, root, files)
        _launchers(facts, root, files)
        _readme(facts, root)
        catalog_available, findings = _scan(root, facts.pins)
        source = _slug(default_name(url)) if _NAME_RE.match(_slug(default_name(url))) else name
        notes: list[str] = []
        profiles = _profiles(facts, source, notes)
        tasks, adapt = _tasks(facts, root, source, notes)
    patches: list[dict[str, Any]] = []
    rules: dict[str, list[str]] = {}
    if catalog_available:
        patches, rules = _catalog_patches(findings, source, notes)
    else:
        notes.append("catalog scan skipped: legacyrun.patching.catalog is not part of this installation")
    notes.append("TODO: datasets and pretrained weights were not inferred; add them under datasets:")
    notes.extend(facts.notes)

    homepage = url[: -len(".git")] if url.endswith(".git") else url
    data: dict[str, Any] = {
        "schema_version": 1,
        "name": name,
        "title": facts.title or name,
    }
    if homepage.startswith(("http://", "https://")):
        data["homepage"] = homepage
    data["sources"] = [{"name": source, "url": url, "commit": sha}]
    data["env"] = {"profiles": profiles}
    if patches:
        data["patches"] = patches
    if adapt:
        data["adapt"] = adapt
    if tasks:
        data["tasks"] = tasks
        if "train" in tasks:
            data["default_task"] = "train"
    header = [f"Scaffolded by `legacyrun recipe new {name} --from-repo {url}` at commit {sha}.", *notes]
    text = _render(data, header)
    parse_text(text, f"<recipe new {name}>")  # a bug here must surface, not a broken file on disk
    return ScaffoldResult(
        name=name,
        text=text,
        notes=notes,
        url=url,
        commit=sha,
        catalog_rules=rules,
        findings=findings,
        catalog_available=catalog_available,
    )


__all__ = ["ScaffoldResult", "scaffold_recipe"]
