"""Known fixes for `up URL --smoke`: a failed build or run is explained, and a fix the explanation names is
applied to the scaffolded recipe as an edit, then the chain runs again (at most MAX_FIXES times).

Two kinds of fix are known:
- a signature of legacyrun/diagnose/data/signatures.yaml that names catalog rules: the rules go into the catalog
  patch of the profile in use (forward-ports for modern, faithful-fixes for faithful; created when the scaffold made
  none);
- `ModuleNotFoundError: No module named 'X'` for a module that is not part of the project: its PyPI name goes into
  that profile's pip list.

Each edit is a text edit of recipe.yaml (its comments and evidence stay) with a comment line above it saying
which failure, in which log and at which line, made it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from legacyrun.diagnose import explain_file
from legacyrun.fsutil import atomic_write_text
from legacyrun.patching.catalog.model import rules_by_id
from legacyrun.patching.catalog.scanner import scan_text

MAX_FIXES = 3
_PATCH_OF_PROFILE = {"modern": "forward-ports", "faithful": "faithful-fixes"}
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([A-Za-z_][\w.]*)'")
_PYPI_NAMES = Path(__file__).with_name("data") / "pypi_names.yaml"


@functools.cache
def _pypi() -> dict[str, str]:
    """Import name -> PyPI project where they differ (data/pypi_names.yaml)."""
    import yaml

    data = yaml.safe_load(_PYPI_NAMES.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


CPU_PATCH = "cpu-plan-"  # + the source name
_FRAME = re.compile(r'File "(?:[^"]*/)?src/([^"/]+)/([^"]+)", line (\d+)')
_EXCEPTION = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception)\b)")


@dataclass(frozen=True)
class Fix:
    kind: str  # catalog | cpu | requirement
    items: tuple[str, ...]  # rule ids, or requirement names
    profile: str
    reason: str  # the failure: signature id and title, or the missing module
    evidence: str  # LOG:LINE
    source: str | None = None  # cpu: the source whose file the rules go to
    files: tuple[str, ...] = ()  # cpu: that file, relative to the source

    def describe(self) -> str:
        if self.kind == "cpu":
            where = f"{self.source}/{self.files[0]}" if self.files else self.source
            return f"CPU-plan rules {', '.join(self.items)} in {where}: {self.reason} ({self.evidence})"
        what = "catalog rules" if self.kind == "catalog" else "requirement"
        of = f" in {self.source}" if self.kind == "catalog" and self.source else ""
        return f"{what} {', '.join(self.items)}{of} for profile {self.profile}: {self.reason} ({self.evidence})"


def _recipe_data(text: str) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(text)
    return data if isinstance(data, dict) else {}


def _patch_rules(data: dict[str, Any], profile: str, source: str | None = None) -> set[str]:
    """Rules the catalog patches that apply to `profile` (no profile condition, or this one) and to `source`
    (when given) already have."""
    out: set[str] = set()
    for p in data.get("patches") or []:
        profiles = (p.get("when") or {}).get("profiles")
        mine = source is None or p.get("source") == source
        if p.get("kind") == "catalog" and (profiles is None or profile in profiles) and mine:
            out.update(p.get("rules") or [])
    return out


def _profile_pip(data: dict[str, Any], profile: str) -> set[str]:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    out: set[str] = set()
    for line in ((data.get("env") or {}).get("profiles") or {}).get(profile, {}).get("pip") or []:
        try:
            out.add(canonicalize_name(Requirement(str(line)).name))
        except InvalidRequirement:
            continue
    return out


def find_fix(log: Path, recipe_text: str, profile: str, source_root: Path | None, *, cpu: bool = False) -> Fix | None:
    """The first known fix for the failure in `log` that the recipe does not have yet, or None. `cpu`: the plan
    runs on the CPU (device rules may apply); `source_root`: `<workspace>/src/<main source>`."""
    from packaging.utils import canonicalize_name

    data = _recipe_data(recipe_text)
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for m in explain_file(log):
        reason, evidence = f"known failure {m.signature_id} ({m.title})", f"{log}:{m.line}"
        # the rules go to the source whose file failed (a dependency's own patch when it is not the project)
        frames = _frames(lines, m.line)
        where = frames[-1][0] if frames else None
        missing = tuple(r for r in m.catalog_rules if r not in _patch_rules(data, profile, where))
        if missing:
            return Fix("catalog", missing, profile, reason, evidence, source=where)
        if cpu and m.cpu_rules and source_root is not None:
            found = _cpu_site(lines, m.line, m.cpu_rules, source_root.parent, _cpu_patch(data))
            if found is not None:
                source, rel, rules = found
                return Fix("cpu", rules, profile, reason, evidence, source=source, files=(rel,))
    pip = _profile_pip(data, profile)
    built = _built_modules(data, profile)
    for no, line in enumerate(lines, 1):
        mm = _MISSING_MODULE.search(line)
        if not mm:
            continue
        module = mm.group(1)
        top = module.split(".")[0]
        if "._" in module or module.startswith("_") or _in_tree(source_root, top) or _squash(top) in built:
            continue  # a native extension or the project's own code: a build problem, not a requirement
        name = _pypi().get(module) or _pypi().get(top) or top
        if canonicalize_name(name) in pip:
            continue
        return Fix("requirement", (name,), profile, f"No module named {module!r}", f"{log}:{no}")
    return None


def _cpu_patch(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    """The (source, file, rule) triples the recipe's `cpu-plan-<source>` patches cover already."""
    out: set[tuple[str, str, str]] = set()
    for p in data.get("patches") or []:
        if str(p.get("id", "")).startswith(CPU_PATCH):
            out.update(
                (str(p.get("source")), str(f), str(r)) for f in p.get("files") or [] for r in p.get("rules") or []
            )
    return out


def _frames(lines: list[str], at: int) -> list[tuple[str, str]]:
    """(source, file) of the frames in the workspace's sources of the last traceback before line `at` of the log,
    outermost first (a traceback ends at its exception line; the next frame starts another one)."""
    frames: list[tuple[str, str]] = []
    ended = False
    for line in lines[: max(at, 1)]:
        f = _FRAME.search(line)
        if f:
            if ended:
                frames, ended = [], False
            frames.append((f.group(1), f.group(2)))
        elif _EXCEPTION.match(line):
            ended = True
    return frames


def _cpu_site(
    lines: list[str], at: int, rule_ids: tuple[str, ...], src: Path, have: set[tuple[str, str, str]]
) -> tuple[str, str, tuple[str, ...]] | None:
    """(source, file, rules) for the traceback that ends at or after line `at` of the log: its frames in the
    workspace's sources, innermost first, and the first file where one of `rule_ids` finds an auto-fixable site
    that the `cpu-plan-<source>` patch does not cover yet."""
    frames = _frames(lines, at)
    rules = [rules_by_id()[r] for r in rule_ids if r in rules_by_id()]
    seen: set[tuple[str, str]] = set()
    for source, rel in reversed(frames):
        if (source, rel) in seen:
            continue
        seen.add((source, rel))
        path = src / source / rel
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        hit = tuple(f.rule_id for f in scan_text(rel, text, rules) if f.auto_fixable)
        fresh = tuple(dict.fromkeys(r for r in hit if (source, rel, r) not in have))
        if fresh:
            return source, rel, fresh
    return None


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _built_modules(data: dict[str, Any], profile: str) -> set[str]:
    """The profile's build step names, squashed: the extension a step builds (MultiScaleDeformableAttention,
    skipped on the CPU) is the project's own, never a PyPI requirement."""
    steps = ((data.get("env") or {}).get("profiles") or {}).get(profile, {}).get("build") or []
    return {_squash(str(s.get("name", ""))) for s in steps if isinstance(s, dict)}


def _in_tree(root: Path | None, top: str) -> bool:
    return root is not None and ((root / top).is_dir() or (root / f"{top}.py").is_file())


# --- editing recipe.yaml --------------------------------------------------------------------------------------


def _flow_span(lines: list[str], i: int) -> int:
    """Index of the line where the flow list that starts on line i closes."""
    depth = 0
    for j in range(i, len(lines)):
        depth += lines[j].count("[") - lines[j].count("]")
        if depth <= 0:
            return j
    return i


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """First line after `start` indented at most `indent` (not blank, not a comment deeper in)."""
    for j in range(start + 1, len(lines)):
        s = lines[j]
        if s.strip() and (len(s) - len(s.lstrip())) <= indent:
            return j
    return len(lines)


def _flow(items: list[str]) -> str:
    import yaml

    return yaml.safe_dump(items, default_flow_style=True, width=10_000).strip()


def apply_fix(recipe_path: Path, fix: Fix, attempt: int) -> int:
    """Edit recipe.yaml for `fix`; the 1-based line of the comment that records it."""
    lines = recipe_path.read_text(encoding="utf-8").splitlines()
    comment = f"# legacyrun up --smoke, known fix {attempt}: {fix.reason} ({fix.evidence})"
    edit = {"catalog": _edit_catalog, "cpu": _edit_cpu}.get(fix.kind, _edit_pip)
    at = edit(lines, fix, comment)
    atomic_write_text(recipe_path, "\n".join(lines) + "\n")
    return at + 1


def _edit_catalog(lines: list[str], fix: Fix, comment: str) -> int:
    first = _first_source(lines)
    source = fix.source or first
    pid = _PATCH_OF_PROFILE.get(fix.profile, f"{fix.profile}-fixes")
    pid = pid if source == first else f"{pid}-{source}"  # as the scaffold names a dependency's patch
    start = next((i for i, ln in enumerate(lines) if ln == f"- id: {pid}"), None)
    if start is not None:
        end = _block_end(lines, start, 0)
        r = next((i for i in range(start, end) if lines[i].startswith("  rules: [")), None)
        if r is not None:
            close = _flow_span(lines, r)
            text = " ".join(ln.strip() for ln in lines[r : close + 1])[len("rules: ") :]
            rules = [x.strip() for x in text.strip("[]").split(",") if x.strip()]
            lines[r : close + 1] = [f"  rules: {_flow(sorted({*rules, *fix.items}))}"]
            lines.insert(r, "  " + comment)
            return r
    block = [
        f"- id: {pid}",
        "  " + comment,
        "  kind: catalog",
        f"  source: {source}",
        f"  rules: {_flow(sorted(fix.items))}",
        f"  why: known fixes of the failures `up --smoke` met on the {fix.profile} profile",
        f"  when: {{profiles: [{fix.profile}]}}",
    ]
    p = next((i for i, ln in enumerate(lines) if ln == "patches:"), None)
    if p is None:
        p = next((i for i, ln in enumerate(lines) if ln in ("adapt:", "tasks:", "default_task: train")), len(lines))
        lines[p:p] = ["patches:", *block]
        return p + 2
    lines[p + 1 : p + 1] = block
    return p + 2


def _edit_cpu(lines: list[str], fix: Fix, comment: str) -> int:
    """Add the device rules and the file to the source's `cpu-plan-<source>` patch, creating it when the recipe
    has none."""
    pid = f"{CPU_PATCH}{fix.source}"
    start = next((i for i, ln in enumerate(lines) if ln == f"- id: {pid}"), None)
    if start is not None:
        end = _block_end(lines, start, 0)
        for key, new in (("rules", fix.items), ("files", fix.files)):
            r = next((i for i in range(start, end) if lines[i].startswith(f"  {key}: [")), None)
            if r is None:
                continue
            close = _flow_span(lines, r)
            import yaml

            current = yaml.safe_load(" ".join(ln.strip() for ln in lines[r : close + 1])[len(f"{key}: ") :]) or []
            lines[r : close + 1] = [f"  {key}: {_flow(list(dict.fromkeys([*current, *new])))}"]
        lines.insert(start + 1, "  " + comment)
        return start + 1
    block = [
        f"- id: {pid}",
        "  " + comment,
        "  kind: catalog",
        f"  source: {fix.source}",
        f"  rules: {_flow(list(fix.items))}",
        f"  files: {_flow(list(fix.files))}",
        "  why: the code assumes a GPU; device rules make the files `up --smoke` found run on the CPU",
        "  when: {device: cpu}",
    ]
    p = next((i for i, ln in enumerate(lines) if ln == "patches:"), None)
    if p is None:
        p = next((i for i, ln in enumerate(lines) if ln in ("adapt:", "tasks:", "default_task: train")), len(lines))
        lines[p:p] = ["patches:", *block]
        return p + 2
    lines[p + 1 : p + 1] = block
    return p + 2


def _first_source(lines: list[str]) -> str:
    i = next(i for i, ln in enumerate(lines) if ln == "sources:")
    m = re.match(r"^- name: (\S+)", lines[i + 1])
    return m.group(1) if m else "main"


def _edit_pip(lines: list[str], fix: Fix, comment: str) -> int:
    start = next(i for i, ln in enumerate(lines) if ln == f"    {fix.profile}:")
    end = _block_end(lines, start, 4)
    p = next((i for i in range(start, end) if lines[i].startswith("      pip: [")), None)
    if p is None:
        lines[start + 1 : start + 1] = ["      " + comment, f"      pip: {_flow(list(fix.items))}"]
        return start + 1
    close = _flow_span(lines, p)
    text = " ".join(ln.strip() for ln in lines[p : close + 1])[len("pip: ") :]
    import yaml

    current = yaml.safe_load(text) or []
    lines[p : close + 1] = ["      " + comment, f"      pip: {_flow([*current, *fix.items])}"]
    return p


__all__ = ["MAX_FIXES", "Fix", "apply_fix", "find_fix"]
