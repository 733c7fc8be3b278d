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

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_FIXES = 3
_PATCH_OF_PROFILE = {"modern": "forward-ports", "faithful": "faithful-fixes"}
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([A-Za-z_][\w.]*)'")
# import name -> PyPI name, where they differ
_PYPI = {
    "cv2": "opencv-python",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "PIL": "Pillow",
    "yaml": "PyYAML",
    "google.protobuf": "protobuf",
    "tensorboardX": "tensorboardX",
    "pycocotools": "pycocotools",
    "fvcore": "fvcore",
}


@dataclass(frozen=True)
class Fix:
    kind: str  # catalog | requirement
    items: tuple[str, ...]  # rule ids, or requirement names
    profile: str
    reason: str  # the failure: signature id and title, or the missing module
    evidence: str  # LOG:LINE

    def describe(self) -> str:
        what = "catalog rules" if self.kind == "catalog" else "requirement"
        return f"{what} {', '.join(self.items)} for profile {self.profile}: {self.reason} ({self.evidence})"


def _recipe_data(text: str) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(text)
    return data if isinstance(data, dict) else {}


def _patch_rules(data: dict[str, Any], profile: str) -> set[str]:
    """Rules every catalog patch that applies to `profile` (no profile condition, or this one) already has."""
    out: set[str] = set()
    for p in data.get("patches") or []:
        profiles = (p.get("when") or {}).get("profiles")
        if p.get("kind") == "catalog" and (profiles is None or profile in profiles):
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


def find_fix(log: Path, recipe_text: str, profile: str, source_root: Path | None) -> Fix | None:
    """The first known fix for the failure in `log` that the recipe does not have yet, or None."""
    from packaging.utils import canonicalize_name

    from legacyrun.diagnose import explain_file

    data = _recipe_data(recipe_text)
    have = _patch_rules(data, profile)
    for m in explain_file(log):
        missing = tuple(r for r in m.catalog_rules if r not in have)
        if missing:
            return Fix("catalog", missing, profile, f"known failure {m.signature_id} ({m.title})", f"{log}:{m.line}")
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    pip = _profile_pip(data, profile)
    for no, line in enumerate(lines, 1):
        mm = _MISSING_MODULE.search(line)
        if not mm:
            continue
        module = mm.group(1)
        top = module.split(".")[0]
        if "._" in module or module.startswith("_") or _in_tree(source_root, top):
            continue  # a native extension or the project's own code: a build problem, not a requirement
        name = _PYPI.get(module) or _PYPI.get(top) or top
        if canonicalize_name(name) in pip:
            continue
        return Fix("requirement", (name,), profile, f"No module named {module!r}", f"{log}:{no}")
    return None


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
    at = _edit_catalog(lines, fix, comment) if fix.kind == "catalog" else _edit_pip(lines, fix, comment)
    from legacyrun.fsutil import atomic_write_text

    atomic_write_text(recipe_path, "\n".join(lines) + "\n")
    return at + 1


def _edit_catalog(lines: list[str], fix: Fix, comment: str) -> int:
    pid = _PATCH_OF_PROFILE.get(fix.profile, f"{fix.profile}-fixes")
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
        f"  source: {_first_source(lines)}",
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
