"""`legacyrun recipe new NAME --from-repo GIT_URL`: a first recipe for a repository nobody wrote one for.

It clones the repository into a temp folder (git CLI through legacyrun.gitcli), checks out the commit (HEAD when
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

from packaging.specifiers import SpecifierSet

from legacyrun import gitcli
from legacyrun.errors import FetchError, UsageError
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.infer.commands import find_builds, find_tasks, modern_argv
from legacyrun.infer.deps import find_dependencies
from legacyrun.infer.frameworks import plan_training
from legacyrun.infer.imports import implied_requirements
from legacyrun.infer.pins import doc_files, era_torch, infer_pins
from legacyrun.knowledge import kb, version_key
from legacyrun.patching.catalog import TargetVersions, scan
from legacyrun.patching.catalog.model import rules_by_id
from legacyrun.recipe.loader import parse_text
from legacyrun.share.sources import default_name

_MAX_DEPTH = 4
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".github", "docs", "doc"}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_MAX_FINDING_NOTES = 20
# The modern profile's torch, and the torch its code is scanned for; its Python comes from the knowledge base.
MODERN_TORCH_SPEC = ">=2.1"
MODERN_SCAN_TORCH = "2.5"

# README phrases: "PyTorch 1.4", "pytorch>=1.0", "PyTorch v0.4.1", "CUDA 10.1", "Python 3.6", "cuDNN v7", "GCC 5".
_README_PATTERNS: dict[str, re.Pattern[str]] = {
    "torch": re.compile(r"\bpy[- ]?torch\s*(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*(\d+\.\d+(?:\.\d+)?)", re.I),
    "torchvision": re.compile(r"\btorchvision\s*(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*(\d+\.\d+(?:\.\d+)?)", re.I),
    "cuda": re.compile(r"\bcuda\s*(?:toolkit\s*)?(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*(\d+\.\d+)", re.I),
    "python": re.compile(r"\bpython\s*(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*([23]\.\d+)", re.I),
    "cudnn": re.compile(r"\bcudnn\s*(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*(\d+)", re.I),
    "gcc": re.compile(r"\bgcc\s*(?:version\s*)?(?:[:=]=?|>=|==|v|\()?\s*(\d+)(?:\.\d+)*", re.I),
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
    todos: list[str] = field(default_factory=list)  # "FILE:LINE: what a person must decide"
    date: str = ""  # the commit's date, YYYY-MM-DD
    reused: bool = False  # `up URL` found this recipe scaffolded before in the workspace (with its known fixes)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "url": self.url,
            "commit": self.commit,
            "notes": self.notes,
            "catalog_available": self.catalog_available,
            "catalog_rules": self.catalog_rules,
            "findings": self.findings,
            "todos": self.todos,
            "date": self.date,
        }


# --- git ------------------------------------------------------------------------------------------------------


def _checkout(url: str, commit: str | None, dest: Path, mirrors: Any = None) -> tuple[str, str]:
    """(commit, its committer date YYYY-MM-DD) of `url` checked out at `commit` (HEAD, or the only branch when the
    repository's HEAD names no branch, as in a bare mirror made from a bundle)."""
    candidates = mirrors.rewrite(url) if mirrors is not None else [url]
    for i, cand in enumerate(candidates):
        try:
            gitcli.clone(cand, dest)
            break
        except FetchError as exc:
            if i == len(candidates) - 1:
                raise FetchError(f"cannot clone {url}: {exc.message}") from None
    if not commit and gitcli.rev_parse(dest, "HEAD") is None:
        listed = gitcli.git(["branch", "-r", "--format=%(refname:short)"], cwd=dest)
        branches = [b.strip() for b in listed.splitlines()]
        branches = [b for b in branches if b and not b.endswith("/HEAD")]
        if not branches:
            raise FetchError(f"{url} has no commits")
        commit = branches[0]
    if commit:
        full = gitcli.rev_parse(dest, commit)
        if full is None:
            raise UsageError(f"commit {commit} is not in {url}")
        gitcli.git(["-c", "advice.detachedHead=false", "checkout", "--quiet", full], cwd=dest)
    date = gitcli.git(["log", "-1", "--format=%cs"], cwd=dest).strip()
    return gitcli.git(["rev-parse", "HEAD"], cwd=dest).strip(), date


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


def _rule_requirements(profiles: dict[str, Any], rules: dict[str, list[str]], notes: list[str]) -> None:
    """A catalog rule that rewrites code to import another package (py-tensorboardx: tensorboardX ->
    torch.utils.tensorboard, which needs `tensorboard`) brings that package into its profile's pip list."""
    from packaging.utils import canonicalize_name

    for profile, ids in sorted(rules.items()):
        spec = profiles.get(profile)
        if spec is None:
            continue
        have = {canonicalize_name(re.split(r"[<>=!~; \[]", str(p), maxsplit=1)[0]) for p in spec.get("pip", [])}
        for rid in ids:
            rule = rules_by_id().get(rid)
            for req in rule.requires if rule is not None else ():
                if canonicalize_name(req) not in have:
                    have.add(canonicalize_name(req))
                    spec.setdefault("pip", []).append(req)
                    notes.append(f"{profile}.pip {req}: catalog rule {rid} makes the code import it")


def _implied(facts: _Facts, root: Path, files: list[Path]) -> None:
    """Packages the code imports through another's module path (torch.utils.tensorboard -> tensorboard)."""
    for imp in implied_requirements(root, files):
        if imp.requirement not in facts.pip:
            facts.pip[imp.requirement] = imp.requirement
            facts.notes.append(f"requirement {imp.requirement} ({imp.where}): {imp.why}")


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
            conda_names = kb().conda_names
            if m and m.group(1).lower() in conda_names:
                facts.pin(conda_names[m.group(1).lower()], m.group(2).rstrip(".*"), where)


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
                    value = m.group(1)
                    if key == "gcc" and re.search(r">=|≥", m.group(0)):
                        # "GCC >= 4.9" is a floor, not the compiler they used
                        full = re.search(r"\d+(?:\.\d+)*", m.group(0)[m.group(0).lower().index("gcc") :])
                        value = ">=" + (full.group(0) if full else value)
                    facts.pin(key, value, f"{cand.name}: {m.group(0).strip()!r}")
            return


def _doc_pip(facts: _Facts, root: Path, docs: list[Path]) -> None:
    """`pip install a b c` lines in the docs (not -r files, local paths, git URLs or torch) are requirements."""
    for path in docs:
        for no, line in enumerate(_read(path).splitlines(), 1):
            m = re.search(r"\bpip\d?\s+install\s+(.*)$", line)
            if not m or re.search(r"\s-[re]\s|git\+|://|\.whl|\s\.$", " " + m.group(1) + " "):
                continue
            where = f"{path.relative_to(root).as_posix()}:{no}"
            for tok in m.group(1).split():
                tok = tok.strip("`'\"")
                if tok.startswith("-") or tok in ("&&", ";", "|", "\\") or "/" in tok or tok == ".":
                    if tok in ("&&", ";", "|"):
                        break
                    continue
                if re.match(r"^[A-Za-z0-9][A-Za-z0-9_.\-\[\]]*(?:[<>=!~]=?[\w.*,<>=!]+)?$", tok):
                    _add_requirement(facts, tok, where)


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-._")
    return slug or "x"


# --- catalog scan ---------------------------------------------------------------------------------------------


def modern_python() -> str:
    """The modern profile's Python: the newest one its oldest torch release supports (the knowledge base's
    torch.json), so every torch the profile admits has a build for it."""
    spec = SpecifierSet(MODERN_TORCH_SPEC)
    oldest = next(r for r in kb().torch_releases if spec.contains(r.torch))  # torch_releases: oldest first
    return max(oldest.python, key=version_key)


def _targets(pins: dict[str, tuple[str, str]]) -> list[tuple[str, Any]]:
    """(profile, catalog TargetVersions) to scan for: modern always; faithful when its torch is exact."""
    from packaging.version import InvalidVersion, Version

    def exact(key: str) -> str | None:
        value = pins.get(key, ("", ""))[0]
        try:
            Version(value)
        except InvalidVersion:
            return None
        return value

    out: list[tuple[str, Any]] = [("modern", TargetVersions(torch=MODERN_SCAN_TORCH, python=modern_python()))]
    torch = exact("torch")
    if torch is not None:
        out.append(("faithful", TargetVersions(torch=torch, python=exact("python"))))
    return out


def _scan(root: Path, pins: dict[str, tuple[str, str]]) -> tuple[bool, list[dict[str, Any]]]:
    """(the catalog was asked, its findings per profile as plain dicts); the catalog ships with legacyrun, so the
    first item is always True (kept in the result's JSON as `catalog_available`)."""
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


def _since_era(findings: list[dict[str, Any]], date: str | None) -> list[dict[str, Any]]:
    """A dependency pinned at the project's date was written for the torch of that date: the findings of rules for
    breaks before it (grid_sample's align_corners default, torch 1.3) are what its authors meant, not breaks."""
    from packaging.version import Version

    era = era_torch(date)
    if era is None:
        return findings
    out = []
    for f in findings:
        rule = rules_by_id().get(f["rule_id"])
        m = re.fullmatch(r">=\s*(\d+(?:\.\d+)*)", (rule.applies.get("torch", "") if rule else "").strip())
        if m and Version(m.group(1)) < Version(era):
            continue
        out.append(f)
    return out


def _catalog_patches(
    findings: list[dict[str, Any]], source: str, notes: list[str], *, dependency: bool = False
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """One catalog patch per profile with the auto-fixable rule ids; the other findings become TODO lines. For a
    `dependency` source the patches' ids end in `-<source>`, and its manual sites are counted in one note (they
    are the dependency's, seldom on the path the project runs)."""
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
        patch_id = f"{patch_id}-{source}" if dependency else patch_id
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
    if not patches and not dependency:
        notes.append("catalog scan found nothing to patch automatically")
    manual: dict[tuple[str, int, str], dict[str, Any]] = {}
    for f in findings:
        if not f["auto_fixable"]:
            manual.setdefault((f["path"], f["line"], f["rule_id"]), f)
    if dependency:
        if manual:
            notes.append(
                f"{source}: {len(manual)} sites need a hand-made patch if they run (`legacyrun scan src/{source}`)"
            )
        return patches, rules_by_profile
    for f in list(manual.values())[:_MAX_FINDING_NOTES]:
        notes.append(f"TODO: {f['path']}:{f['line']}: {f['rule_id']} needs a hand-made patch: {f['what_breaks']}")
    if len(manual) > _MAX_FINDING_NOTES:
        notes.append(f"TODO: ... and {len(manual) - _MAX_FINDING_NOTES} more sites that need a hand-made patch")
    return patches, rules_by_profile


# --- assembling the recipe ------------------------------------------------------------------------------------


def _build_steps(inf: _Inferred, source: str, notes: list[str], todos: list[str]) -> list[dict[str, Any]]:
    """Dependencies' build steps (from the table) first, then the project's own native extensions."""
    builds: list[dict[str, Any]] = []
    for dep in inf.deps.deps:
        if dep.known.kind == "source" and dep.commit and dep.known.build:
            b = dep.known.build
            argv = [str(a) for a in b["argv"]]
            if dep.install_requires and "install" in argv and "--no-deps" not in argv:
                argv.insert(argv.index("install") + 1, "--no-deps")  # its requirements are in the pip lists
            builds.append(
                {
                    "name": dep.known.name,
                    "source": dep.known.name,
                    "argv": argv,
                    **({"env": dict(b["env"])} if b.get("env") else {}),
                    **({"clean": list(b["clean"])} if b.get("clean") else {}),
                    **({"cuda": False} if b.get("cuda") is False else {}),
                }
            )
    for bd in inf.builds:
        builds.append(
            {
                "name": bd.name,
                "source": source,
                **({"cwd": bd.cwd} if bd.cwd != "." else {}),
                "argv": bd.argv,
                **({"env": bd.env} if bd.env else {}),
                **({"clean": bd.clean} if bd.clean else {}),
                **({"cpu": "skip"} if bd.cpu_skip else {}),
            }
        )
        why = " (its setup.py raises without CUDA, so a CPU plan skips it)" if bd.cpu_skip else ""
        notes.append(f"build step {bd.name}: {' '.join(bd.argv)} (from {bd.where}){why}")
        if bd.argv[:2] == ["sh", "make.sh"]:
            todos.append(
                f"{bd.where}:1: make.sh runs no `python setup.py`; check that `sh make.sh` builds the extension"
            )
    return builds


def _dependency_requirements(inf: _Inferred, pip: dict[str, str], notes: list[str]) -> dict[str, str]:
    """Dependencies' install_requires (canonical name -> their line) that the project's own list lacks."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    have = {canonicalize_name(k) for k in pip}
    out: dict[str, str] = {}
    for dep in inf.deps.deps:
        if not dep.install_requires or not dep.commit:
            continue
        for line in dep.install_requires:
            try:
                name = canonicalize_name(Requirement(line).name)
            except InvalidRequirement:
                continue
            if name not in have and name not in _TORCH_NAMES:
                out.setdefault(name, line)
        notes.append(
            f"pip: {dep.known.name}'s install_requires at {dep.commit[:12]} ({len(dep.install_requires)}, with its"
            " setup.py's specifiers), resolved and hash-pinned at lock time; its build step runs with --no-deps"
        )
    return out


def _profiles(facts: _Facts, inf: _Inferred, source: str, notes: list[str], todos: list[str]) -> dict[str, Any]:
    pins = dict(inf.pins.pins)
    for key in ("torch", "torchvision", "cuda", "python"):
        ev = inf.pins.evidence.get(key)
        if key in pins and ev is not None:
            notes.append(f"faithful.{key} {pins[key]}: {ev.describe()}")
    notes.extend(inf.pins.notes)
    todos.extend(inf.pins.todos)
    torch = pins.get("torch", "<2")
    python = pins.get("python", "3.8")
    readme = {k: v for k, (v, _) in facts.pins.items() if k in ("cudnn", "gcc")}
    for key, (value, where) in sorted(facts.pins.items()):
        if key in ("cudnn", "gcc"):
            notes.append(f"faithful.{key} {value} (from {where})")
    builds = _build_steps(inf, source, notes, todos)
    if "cuda" not in pins and inf.builds:
        where = inf.builds[0].where
        todos.append(f"{where}:1: the project builds CUDA code but names no CUDA version; set faithful.cuda")
    pip = dict(facts.pip)
    for dep in inf.deps.deps:
        if dep.known.kind == "pip" and dep.known.pypi:
            pip.setdefault(dep.known.pypi, dep.known.pypi)
    dep_pip = _dependency_requirements(inf, pip, notes)
    names = sorted({*pip, *dep_pip})
    faithful: dict[str, Any] = {
        "description": "What the authors ran (scaffolded; each pin's evidence is in the header and on its line).",
        "python": python,
        "torch": torch,
    }
    for key in ("torchvision", "cuda"):
        if key in pins:
            faithful[key] = pins[key]
    faithful.update(readme)
    if names:
        faithful["pip"] = [pip.get(k) or dep_pip[k] for k in names]
    if builds:
        faithful["build"] = builds
    modern: dict[str, Any] = {
        "description": "Current PyTorch with the catalog's forward ports.",
        "python": modern_python(),
        "torch": MODERN_TORCH_SPEC,
    }
    if names:
        # the project's own requirements unpinned; a dependency's keep its setup.py's specifiers (fvcore<0.1.6)
        modern["pip"] = [k if k in pip else dep_pip[k] for k in names]
        notes.append("modern.pip lists the requirements unpinned; pin the ones that must stay old")
    if builds:
        modern["build"] = [{**b, "argv": modern_argv(b["argv"])} for b in builds]
    return {"faithful": faithful, "modern": modern}


def _sources(url: str, sha: str, source: str, inf: _Inferred, notes: list[str], todos: list[str]) -> list[Any]:
    out: list[dict[str, Any]] = [{"name": source, "url": url, "commit": sha}]
    for dep in inf.deps.deps:
        k = dep.known
        if dep.todo:
            todos.append(dep.todo)
        elif k.kind == "source" and dep.commit:
            out.append(
                {"name": k.name, "url": k.url, "commit": dep.commit, "note": f"{dep.ref}; {dep.where} installs it"}
            )
            notes.append(f"source {k.name} at {dep.commit[:12]}: {dep.ref} ({dep.where}); {k.why}")
        elif k.kind == "pip":
            notes.append(f"requirement {k.pypi} for {k.name} ({dep.where}): {k.why}")
        else:
            notes.append(f"{k.name} ({dep.where}) left out: {k.why}")
    for repo, where in inf.deps.unknown:
        notes.append(f"{where} clones github.com/{repo}, which legacyrun's dependency table does not know; left out")
    return out


def _config_stem(argv: list[str]) -> str | None:
    for i, tok in enumerate(argv[:-1]):
        if tok in ("--config-file", "--config", "--cfg", "-c"):
            return _slug(Path(argv[i + 1]).stem)
    return None


def _tasks(
    facts: _Facts, inf: _Inferred, root: Path, source: str, notes: list[str], todos: list[str]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    tasks: dict[str, Any] = {}
    keys: list[dict[str, Any]] = list(inf.commands.adapt_keys)
    refs: list[int] = [inf.commands.reference_gpus] if inf.commands.reference_gpus else []
    top = [(s, n) for s, n in facts.launchers if "train" in Path(s).name]
    if top:
        script = sorted(top, key=lambda sn: (len(Path(sn[0]).parts), sn[0]))[0][0]
        tasks["train"] = {"source": source, "argv": ["bash", script], "distributed": True}
        notes.append(f"task train runs {script} (a launch script)")
    for t in inf.commands.tasks:
        name = t.name
        if name in tasks:
            stem = _config_stem(t.argv)
            name = stem if stem and stem not in tasks else name
        n = 2
        while name in tasks:
            name = f"{t.name}{n}"
            n += 1
        task: dict[str, Any] = {"source": source, "argv": t.argv}
        if t.distributed:
            task["distributed"] = True
        tasks[name] = task
        notes.append(f"task {name}: {' '.join(t.argv)} (from {t.where})")
        if "--local_rank" in _read(root / next((a for a in t.argv if a.endswith(".py")), "-")) and (
            "--nproc_per_node={gpus}" in t.argv
        ):
            script = next(a for a in t.argv if a.endswith(".py"))
            if not any(k["key"] == "--local_rank" for k in keys):
                keys.append(
                    {
                        "key": "--local_rank",
                        "format": "python",
                        "files": [script],
                        "rule": "launcher",
                        "why": f"{script} reads --local_rank, which torch >= 2.0's launcher passes as --local-rank",
                    }
                )
    if not tasks:
        todos.append("README: no train/test entry point found; add tasks")
    if facts.launchers:
        refs.append(max(n for _, n in facts.launchers))
        files = sorted({s for s, _ in facts.launchers})
        keys.append(
            {
                "key": "--nproc_per_node",
                "format": "shell",
                "files": files,
                "rule": "gpus",
                "reference": max(n for _, n in facts.launchers),
                "why": "the launch scripts start one process per GPU",
            }
        )
        keys.append(
            {
                "key": "torch.distributed.launch",
                "format": "shell",
                "files": files,
                "rule": "launcher",
                "why": "torch >= 2.0's launcher passes --local-rank (torchrun and LOCAL_RANK instead)",
            }
        )
        notes.append("adapt: nproc_per_node in " + ", ".join(f"{s} ({n})" for s, n in facts.launchers))
    notes.extend(inf.commands.notes)
    adapt = {"reference_gpus": max(refs), "keys": keys} if refs else None
    return tasks, adapt


def _training(
    root: Path,
    docs: list[Path],
    source: str,
    tasks: dict[str, Any],
    adapt: dict[str, Any] | None,
    inf: _Inferred,
    notes: list[str],
    todos: list[str],
) -> Any:
    """Datasets, data roots, smoke sections and the framework's adapt keys (legacyrun.infer.frameworks); the tasks
    and adapt rules are updated in place, the datasets and patches returned in the plan."""
    deps = {d.known.name for d in inf.deps.deps}
    plan = plan_training(root, docs, source, tasks, deps, adapt["reference_gpus"] if adapt else None)
    if adapt is not None:
        have = {(k["key"], k.get("format")) for k in adapt["keys"]}
        adapt["keys"].extend(k for k in plan.adapt_keys if (k["key"], k["format"]) not in have)
    if plan.framework:
        notes.append(f"framework {plan.framework}: data root, smoke arguments and adapt keys from its conventions")
    notes.extend(plan.notes)
    todos.extend(plan.todos)
    return plan


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


@dataclass
class _Inferred:
    """What legacyrun.infer read: pins with evidence, dependent repositories, build steps, commands."""

    pins: Any
    deps: Any
    builds: list[Any]
    commands: Any


def _header_line(text: str) -> str:
    return "# " + " ".join(text.split()) + "\n"


def _annotate(text: str, inf: _Inferred) -> str:
    """Each faithful pin's evidence as a comment on its line (the first profile rendered is faithful)."""
    for key in ("python", "torch", "torchvision", "cuda"):
        ev = inf.pins.evidence.get(key)
        if ev is None or key not in inf.pins.pins:
            continue
        pat = re.compile(rf"^(      {key}: .*)$", re.M)
        comment = f"  # {ev.where} ({ev.kind})"
        m = pat.search(text)
        if m:
            text = text[: m.end(1)] + comment + text[m.end(1) :]
    return text


def scaffold_recipe(
    name: str, url: str, *, commit: str | None = None, mirrors: Any = None, source_name: str | None = None
) -> ScaffoldResult:
    """Clone `url` at `commit` (HEAD if None) and infer a recipe; the text validates or this raises RecipeError.

    `mirrors` (legacyrun.fetch.mirrors.Mirrors; default: the user's) is how dependent repositories are read to pin
    them at the project's commit date.
    """
    if not _NAME_RE.match(name):
        raise UsageError(f"invalid recipe name {name!r}: use lower-case letters, digits, '.', '_' or '-'")
    with tempfile.TemporaryDirectory(prefix="legacyrun-scaffold-") as tmp:
        root = Path(tmp) / "repo"
        if mirrors is None:
            mirrors = Mirrors.from_environment()
        sha, date = _checkout(url, commit, root, mirrors)
        files = list(_walk(root))
        facts = _Facts()
        _environment_yml(facts, root, files)
        _requirements(facts, root, files)
        _setup_py(facts, root, files)
        _implied(facts, root, files)
        _launchers(facts, root, files)
        _readme(facts, root)
        docs = doc_files(root, files)
        _doc_pip(facts, root, docs)
        top_docs = [d for d in docs if d.parent == root]
        pinned = infer_pins(root, files, date)
        scan_pins = {k: (v, "") for k, v in pinned.pins.items()}
        inf = _Inferred(
            pins=pinned,
            deps=find_dependencies(
                root, docs, url, date, mirrors, scan=lambda tree: _since_era(_scan(tree, scan_pins)[1], date)
            ),
            builds=find_builds(root, files),
            commands=find_tasks(root, top_docs, files),
        )
        catalog_available, findings = _scan(root, scan_pins)
        slug = _slug(source_name or default_name(url))
        source = slug if _NAME_RE.match(slug) else name
        notes: list[str] = [f"commit date {date}"]
        todos: list[str] = []
        sources = _sources(url, sha, source, inf, notes, todos)
        profiles = _profiles(facts, inf, source, notes, todos)
        tasks, adapt = _tasks(facts, inf, root, source, notes, todos)
        training = _training(root, docs, source, tasks, adapt, inf, notes, todos)
    patches: list[dict[str, Any]] = []
    rules: dict[str, list[str]] = {}
    if catalog_available:
        patches, rules = _catalog_patches(findings, source, notes)
        for dep in inf.deps.deps:
            if dep.known.kind == "source" and dep.commit and dep.findings:
                more, more_rules = _catalog_patches(dep.findings, dep.known.name, notes, dependency=True)
                patches += more
                for prof, ids in more_rules.items():
                    rules[prof] = sorted({*rules.get(prof, []), *ids})
        _rule_requirements(profiles, rules, notes)
    else:
        notes.append("catalog scan skipped: legacyrun.patching.catalog is not part of this installation")
    patches = training.patches + patches
    notes.append("pretrained weights were not inferred; add them under datasets: with role: weights")
    notes.extend(facts.notes)
    notes.extend(f"TODO: {t}" for t in todos)

    homepage = url[: -len(".git")] if url.endswith(".git") else url
    data: dict[str, Any] = {
        "schema_version": 1,
        "name": name,
        "title": facts.title or name,
    }
    if homepage.startswith(("http://", "https://")):
        data["homepage"] = homepage
    data["sources"] = sources
    data["env"] = {"profiles": profiles}
    if training.datasets:
        data["datasets"] = training.datasets
    if patches:
        data["patches"] = patches
    if adapt:
        data["adapt"] = adapt
    if tasks:
        data["tasks"] = tasks
        if "train" in tasks:
            data["default_task"] = "train"
    header = [f"Scaffolded by `legacyrun recipe new {name} --from-repo {url}` at commit {sha}.", *notes]
    text = _annotate(_render(data, header), inf)
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
        todos=todos,
        date=date,
    )


__all__ = ["ScaffoldResult", "scaffold_recipe"]
