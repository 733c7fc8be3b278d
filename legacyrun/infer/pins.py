"""The faithful pins (torch, torchvision, CUDA, Python) of a repository nobody wrote a recipe for, each with evidence.

Evidence is ranked by how exactly it says what the authors ran, and each key takes its best-ranked evidence:

1. an install command in the docs (`conda create ... python=3.8`, `conda install pytorch==1.9.0 cudatoolkit=11.1`,
   `pip install torch==1.4.0`) or an exact pin in environment.yml / requirements*.txt;
2. a container or build file (Dockerfile `FROM pytorch/pytorch:1.9.0-cuda11.1-...`, cog.yaml);
3. a version the docs recommend ("PyTorch >= 1.0 (1.2 is recommended)");
4. a version the docs name, or a lower bound ("PyTorch1.1+", "torch>=1.1"): a lower bound is what the authors
   tested against when they wrote it, so the faithful profile takes it;
5. the commit's date: the newest torch release out then (knowledge base dates), its default CUDA, and the newest
   Python that release supported and that was out then.

The code itself sets a floor: a catalog rule of direction `reverse` whose range is `torch<X` flags an API that
appeared in torch X (e.g. torch.bool in 1.2), so a pin below X is raised to X and the evidence says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from legacyrun.knowledge import kb
from legacyrun.patching.catalog import TargetVersions, scan
from legacyrun.patching.catalog.model import get_rules

KEYS = ("torch", "torchvision", "cuda", "python")

RANK_COMMAND = 1
RANK_CONTAINER = 2
RANK_RECOMMENDED = 3
RANK_NAMED = 4
RANK_DATE = 5
RANK_KB = 6
_RANK_WORDS = {
    RANK_COMMAND: "install command",
    RANK_CONTAINER: "container file",
    RANK_RECOMMENDED: "recommended",
    RANK_NAMED: "named in the docs",
    RANK_DATE: "commit date",
    RANK_KB: "knowledge base",
}

_DOC_RE = re.compile(r"^(readme|install|getting[_-]?started|requirements?)[\w.-]*\.(md|rst|txt)$|^readme$", re.I)
_V = r"(\d+\.\d+(?:\.\d+)?)"
_CONDA_CREATE = re.compile(r"\bconda\s+create\b.*?\bpython\s*==?\s*" + _V, re.I)
_INSTALL_LINE = re.compile(r"\b(?:conda|pip\d?|mamba)\s+install\b", re.I)
_INSTALL_PINS: dict[str, re.Pattern[str]] = {
    "torch": re.compile(r"(?<![\w-])(?:py)?torch\s*==?\s*" + _V, re.I),
    "torchvision": re.compile(r"(?<![\w-])torchvision\s*==?\s*" + _V, re.I),
    "cuda": re.compile(r"(?<![\w-])(?:cudatoolkit|cuda-toolkit|pytorch-cuda)\s*==?\s*(\d+\.\d+)", re.I),
}
# "Python3.7", "PyTorch >= 1.0", "CUDA 10.0+", "PyTorch v1.4", "python=3.6"
_NAME_PATTERNS: dict[str, str] = {
    "torch": r"\bpy-?torch",
    "torchvision": r"\btorchvision",
    "cuda": r"\bcuda(?:\s*toolkit)?",
    "python": r"\bpython(?!\s*-?api)",
}
_NAMED = {
    key: re.compile(
        pat
        + r"\s*(?:version\s*)?(?:[:=]=?|>=|≥|==|v|\()?\s*v?"
        + (r"([23]\.\d+)" if key == "python" else _V)
        + r"(\+)?",
        re.I,
    )
    for key, pat in _NAME_PATTERNS.items()
}
_RECOMMENDED = re.compile(r"v?" + _V + r"\s*(?:is\s+|are\s+)?(?:recommended|preferred|tested)", re.I)
_DOCKER_FROM = re.compile(r"^\s*FROM\s+pytorch/pytorch:(\d+\.\d+(?:\.\d+)?)-cuda(\d+\.\d+)", re.I | re.M)
_DOCKER_CUDA = re.compile(r"^\s*FROM\s+nvidia/cuda:(\d+\.\d+)", re.I | re.M)


@dataclass(frozen=True)
class Evidence:
    """One place that says a version: `where` is FILE:LINE, `text` the words there."""

    key: str
    value: str
    where: str
    text: str
    rank: int

    @property
    def kind(self) -> str:
        return _RANK_WORDS[self.rank]

    def describe(self) -> str:
        return f"{self.where} ({self.kind}): {self.text}"


@dataclass
class PinInference:
    """The chosen faithful pins and why; `all_evidence` keeps what lost, for the notes and the tests."""

    pins: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    all_evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def doc_files(root: Path, files: list[Path]) -> list[Path]:
    """README/INSTALL/GETTING_STARTED at the top or one level down, top first."""
    out = [
        p
        for p in files
        if _DOC_RE.match(p.name) and len(p.relative_to(root).parts) <= 2 and not p.name.startswith("requirements")
    ]
    return sorted(out, key=lambda p: (len(p.relative_to(root).parts), p.name.lower()))


def _from_docs(root: Path, docs: list[Path], out: list[Evidence]) -> None:
    for path in docs:
        for no, line in enumerate(_lines(path), 1):
            where = f"{_rel(root, path)}:{no}"
            text = " ".join(line.split())[:160]
            m = _CONDA_CREATE.search(line)
            if m:
                out.append(Evidence("python", m.group(1), where, text, RANK_COMMAND))
            if _INSTALL_LINE.search(line):
                for key, pat in _INSTALL_PINS.items():
                    m = pat.search(line)
                    if m:
                        out.append(Evidence(key, m.group(1), where, text, RANK_COMMAND))
                continue
            low = line.lower()
            rec = _RECOMMENDED.search(line)
            if rec:
                for key in ("torchvision", "torch", "cuda", "python"):
                    if re.search(_NAME_PATTERNS[key], low):
                        out.append(Evidence(key, rec.group(1), where, text, RANK_RECOMMENDED))
                        break
            for key, pat in _NAMED.items():
                for m in pat.finditer(line):
                    if key == "torch" and line[m.start() : m.start() + 11].lower().startswith("torchvision"):
                        continue
                    out.append(Evidence(key, m.group(1), where, text, RANK_NAMED))
                    break


def _from_requirements(root: Path, files: list[Path], out: list[Evidence]) -> None:
    for path in files:
        if not re.fullmatch(r"requirements[\w.-]*\.txt", path.name) or len(path.relative_to(root).parts) > 2:
            continue
        for no, line in enumerate(_lines(path), 1):
            m = re.match(r"^\s*(torch|torchvision)\s*(==|>=|~=)\s*" + _V, line, re.I)
            if m:
                rank = RANK_COMMAND if m.group(2) == "==" else RANK_NAMED
                out.append(Evidence(m.group(1).lower(), m.group(3), f"{_rel(root, path)}:{no}", line.strip(), rank))


def _from_environment_yml(root: Path, files: list[Path], out: list[Evidence]) -> None:
    # The shared conda name table (knowledge/data/conda_names.json); only the keys this module pins.
    names = {name: key for name, key in kb().conda_names.items() if key in KEYS}
    for path in files:
        if path.name not in ("environment.yml", "environment.yaml") or len(path.relative_to(root).parts) > 2:
            continue
        for no, line in enumerate(_lines(path), 1):
            m = re.match(r"^\s*-\s*(?:[\w-]+::)?([A-Za-z0-9_.-]+)\s*==?\s*" + _V, line)
            if m and m.group(1).lower() in names:
                ev = Evidence(
                    names[m.group(1).lower()], m.group(2), f"{_rel(root, path)}:{no}", line.strip(), RANK_COMMAND
                )
                out.append(ev)


def _from_containers(root: Path, files: list[Path], out: list[Evidence]) -> None:
    for path in files:
        rel = _rel(root, path)
        if path.name.startswith("Dockerfile") or path.suffix == ".dockerfile":
            for no, line in enumerate(_lines(path), 1):
                m = _DOCKER_FROM.match(line)
                if m:
                    out.append(Evidence("torch", m.group(1), f"{rel}:{no}", line.strip(), RANK_CONTAINER))
                    out.append(Evidence("cuda", m.group(2), f"{rel}:{no}", line.strip(), RANK_CONTAINER))
                m = _DOCKER_CUDA.match(line)
                if m:
                    out.append(Evidence("cuda", m.group(1), f"{rel}:{no}", line.strip(), RANK_CONTAINER))
        elif path.name == "cog.yaml":
            for no, line in enumerate(_lines(path), 1):
                s = line.strip()
                for key, pat in (
                    ("cuda", r'^cuda:\s*"?(\d+\.\d+)'),
                    ("python", r'^python_version:\s*"?(\d+\.\d+)'),
                    ("torch", r'^-\s*"?torch==' + _V),
                    ("torchvision", r'^-\s*"?torchvision==' + _V),
                ):
                    m = re.match(pat, s)
                    if m:
                        out.append(Evidence(key, m.group(1), f"{rel}:{no}", s, RANK_CONTAINER))


def collect_evidence(root: Path, files: list[Path]) -> list[Evidence]:
    """Every version statement about the four keys, in reading order (docs, requirements, environment, containers)."""
    out: list[Evidence] = []
    _from_environment_yml(root, files, out)
    _from_requirements(root, files, out)
    _from_docs(root, doc_files(root, files), out)
    _from_containers(root, files, out)
    return out


# --- choosing -------------------------------------------------------------------------------------------------


def _v(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _torch_release(minor_or_full: str) -> str | None:
    """The knowledge base's release for '1.2' (the first 1.2.x) or '1.2.0' (itself)."""
    want = _v(minor_or_full)
    if want is None:
        return None
    rels = kb().torch_releases
    exact = [r.torch for r in rels if _v(r.torch) == want]
    if exact:
        return exact[0]
    parts = minor_or_full.split(".")
    if len(parts) == 2:
        same = [r.torch for r in rels if r.torch.split(".")[:2] == parts]
        return same[0] if same else None
    return None


def _date_pins(date: str) -> dict[str, tuple[str, str]]:
    """torch/CUDA/Python current at `date` (YYYY-MM-DD): (value, why)."""
    out: dict[str, tuple[str, str]] = {}
    known = [r for r in kb().torch_releases if r.date and r.date <= date]
    if not known:
        return out
    rel = known[-1]
    out["torch"] = (rel.torch, f"torch {rel.torch} ({rel.date}) was the newest release on {date}")
    cudas = rel.cudas()
    if cudas:
        cuda = rel.pip_default if rel.pip_default in cudas else cudas[-1]
        out["cuda"] = (cuda, f"torch {rel.torch}'s default CUDA build")
    pys = [p for p, d in kb().python_releases() if d <= date and p in rel.python]
    if pys:
        out["python"] = (pys[-1], f"the newest Python torch {rel.torch} supported that was out on {date}")
    return out


def era_torch(date: str | None) -> str | None:
    """The newest torch release out on `date` (YYYY-MM-DD), or None."""
    return _date_pins(date).get("torch", (None, ""))[0] if date else None


def code_floor(root: Path) -> tuple[str, str] | None:
    """(torch X, 'FILE:LINE rule') for the newest API the code uses, from the catalog's `reverse` rules `torch<X`."""
    floors: dict[str, str] = {}
    for rule in get_rules():
        spec = rule.applies.get("torch", "")
        m = re.fullmatch(r"<\s*(\d+\.\d+(?:\.\d+)?)", spec.strip())
        if rule.direction == "reverse" and m:
            floors[rule.id] = m.group(1)
    if not floors:
        return None
    best: tuple[str, str] | None = None
    for f in scan(root, TargetVersions(torch="0.1"), rule_ids=sorted(floors)):
        value = floors[str(f.rule_id)]
        if best is None or Version(value) > Version(best[0]):
            path = Path(str(f.path))
            with_root = path.relative_to(root).as_posix() if path.is_absolute() else path.as_posix()
            best = (value, f"{with_root}:{f.line} ({f.rule_id}: {f.excerpt})")
    return best


def _torchvision_and_checks(res: PinInference) -> None:
    """torchvision from the install command or the torch release; a CUDA/Python with no build of it is a TODO."""
    rel_obj = kb().torch_release(res.pins["torch"]) if "torch" in res.pins else None
    tv = res.evidence.get("torchvision")
    if tv is not None and tv.rank == RANK_COMMAND:
        res.pins["torchvision"] = tv.value
    elif rel_obj is not None:
        res.pins["torchvision"] = rel_obj.torchvision
        res.evidence["torchvision"] = Evidence(
            "torchvision",
            rel_obj.torchvision,
            "knowledge base",
            f"the torchvision release of torch {rel_obj.torch}",
            RANK_KB,
        )
    if rel_obj is not None:
        cuda = res.pins.get("cuda")
        if cuda and rel_obj.cudas() and cuda not in rel_obj.cudas():
            res.todos.append(
                f"{res.evidence['cuda'].where}: torch {rel_obj.torch} had no CUDA {cuda} build "
                f"(it had {', '.join(rel_obj.cudas())}); decide faithful.cuda"
            )
        py = res.pins.get("python")
        if py and rel_obj.python and py not in rel_obj.python:
            res.todos.append(
                f"{res.evidence['python'].where}: torch {rel_obj.torch} had no Python {py} build "
                f"(it had {', '.join(rel_obj.python)}); decide faithful.python"
            )


def _apply_code_floor(res: PinInference, root: Path) -> None:
    """Raise a torch pin below the newest API the code uses (catalog reverse rules) to that release."""
    floor = code_floor(root)
    if floor and "torch" in res.pins and Version(res.pins["torch"]) < Version(floor[0]):
        raised = _torch_release(floor[0])
        if raised:
            res.notes.append(
                f"torch raised from {res.pins['torch']} to {raised}: the code needs torch >= {floor[0]} at {floor[1]}"
            )
            res.pins["torch"] = raised
            res.evidence["torch"] = Evidence("torch", raised, floor[1].split(" ")[0], floor[1], RANK_NAMED)
    elif floor:
        res.notes.append(f"the code needs torch >= {floor[0]} ({floor[1]})")


def infer_pins(root: Path, files: list[Path], date: str | None) -> PinInference:
    """Choose each key from its best-ranked evidence; fill the rest from the commit date; apply the code's floor."""

    res = PinInference()
    res.all_evidence = collect_evidence(root, files)
    for key in KEYS:
        cands = [e for e in res.all_evidence if e.key == key]
        if cands:
            best = min(cands, key=lambda e: e.rank)  # stable: the first of the best rank
            res.evidence[key] = best
    if "torch" in res.evidence:
        rel = _torch_release(res.evidence["torch"].value)
        if rel is None:
            res.todos.append(
                f"{res.evidence['torch'].where}: torch {res.evidence['torch'].value} is not a release "
                "the knowledge base knows; set faithful.torch"
            )
        else:
            res.pins["torch"] = rel
    dated = _date_pins(date) if date else {}
    for key in ("torch", "cuda", "python"):
        if key not in res.pins and key not in res.evidence and key in dated:
            value, why = dated[key]
            res.evidence[key] = Evidence(key, value, f"commit date {date}", why, RANK_DATE)
    if "torch" not in res.pins and "torch" in res.evidence and res.evidence["torch"].rank == RANK_DATE:
        res.pins["torch"] = res.evidence["torch"].value
    _apply_code_floor(res, root)
    for key in ("cuda", "python"):
        if key in res.evidence:
            m = re.match(r"\d+\.\d+", res.evidence[key].value)
            if m:
                res.pins[key] = m.group(0)
    _torchvision_and_checks(res)
    for key in ("torch", "python"):
        if key not in res.pins:
            res.todos.append(f"README: no {key} version found and no commit date; set faithful.{key}")
    return res


__all__ = [
    "Evidence",
    "PinInference",
    "code_floor",
    "collect_evidence",
    "doc_files",
    "era_torch",
    "infer_pins",
]
