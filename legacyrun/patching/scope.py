"""What a recipe's patches do about each scan finding, so `scan` never promises what `patch` chose to leave.

A catalog finding that the catalog could fix is only "auto-fixable by `legacyrun patch`" when one of the recipe's
catalog patches selected for the target lists its rule and covers its file (`files`/`exclude`). Otherwise it is
"not selected for this target" (a catalog patch covers it, but its `when` does not hold) or "outside the recipe's
rules" (no catalog patch of the recipe covers it). Findings the catalog cannot fix stay "manual".

Used when the scanned path lies in a workspace's source tree (found from the path: `<ws>/src/<source>/...` with a
`<ws>/legacyrun.lock`) or when `scan --recipe` names the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from legacyrun import gitcli
from legacyrun.patching.globs import matches
from legacyrun.patching.target import Target, choose_target, when_holds
from legacyrun.recipe.models import CatalogPatch
from legacyrun.workspace import Workspace

if TYPE_CHECKING:
    from legacyrun.patching.catalog.model import Finding, TargetVersions
    from legacyrun.recipe.loader import LoadedRecipe

AUTO = "auto"  # a selected catalog patch of the recipe applies it
MANUAL = "manual"  # the catalog cannot fix it
NOT_SELECTED = "not-selected"  # a catalog patch covers it, but not for this target
OUTSIDE = "outside"  # no catalog patch of the recipe covers it


@dataclass(frozen=True)
class _Covering:
    patch: CatalogPatch
    rules: frozenset[str]
    selected: bool


@dataclass(frozen=True)
class Verdict:
    kind: str  # AUTO | MANUAL | NOT_SELECTED | OUTSIDE
    patch: str | None = None  # the catalog patch that applies it (AUTO) or would (NOT_SELECTED)


@dataclass(frozen=True)
class RecipeScope:
    """The catalog patches of one recipe for one source tree and target."""

    recipe: str
    source: str | None  # None: the scanned path is not in a source tree of the workspace (all sources' patches)
    prefix: str  # the scanned path relative to the source tree ("" for its root), so finding paths map onto it
    target: Target
    target_from: str  # "lock" or "recipe profile"
    patches: tuple[_Covering, ...]
    tracked: frozenset[str] | None = None  # the source tree's tracked files (patch changes nothing else)

    def judge(self, rule_id: str, path: str, auto_fixable: bool) -> Verdict:
        """The verdict on one finding (`path` relative to the scanned path, as scan reports it)."""
        if not auto_fixable:
            return Verdict(MANUAL)
        rel = f"{self.prefix}/{path}" if self.prefix else path
        if self.tracked is not None and rel not in self.tracked:
            return Verdict(OUTSIDE)  # an untracked file (data, outputs): patch leaves it alone
        covering = [
            c
            for c in self.patches
            if rule_id in c.rules and matches(rel, c.patch.files) and not matches(rel, c.patch.exclude)
        ]
        for c in covering:
            if c.selected:
                return Verdict(AUTO, c.patch.id)
        if covering:
            return Verdict(NOT_SELECTED, covering[0].patch.id)
        return Verdict(OUTSIDE)

    def describe_target(self) -> str:
        parts = [f"profile {self.target.profile}", f"torch {self.target.torch}"]
        if self.target.python:
            parts.append(f"python {self.target.python}")
        parts.append(f"cuda {self.target.cuda}" if self.target.cuda else "cpu")
        return ", ".join(parts)


def find_workspace(path: Path) -> tuple[Workspace, str] | None:
    """The workspace whose source tree holds `path`, and the recipe name its lock records (None when none)."""
    from legacyrun import lock as lockfile
    from legacyrun.errors import LockError

    here = path.resolve()
    for folder in [here, *here.parents]:
        if folder.name != "src":
            continue
        root = folder.parent
        if not (root / "legacyrun.lock").is_file():
            continue
        try:
            lock = lockfile.read(root / "legacyrun.lock")
        except LockError:
            return None
        return Workspace.at(root), lock.recipe
    return None


def recipe_scope(loaded: LoadedRecipe, ws: Workspace, path: Path, target: Target, target_from: str) -> RecipeScope:
    """The recipe's catalog patches for the source tree that holds `path` (all sources' when it is elsewhere)."""
    from legacyrun.patching.catalog import expand_rule_ids

    # scan reports paths relative to the scanned folder (a scanned file by its name alone).
    here = path.resolve()
    base = here.parent if here.is_file() else here
    source: str | None = None
    prefix = ""
    for src in loaded.recipe.sources:
        tree = ws.source_dir(src.name).resolve()
        if base == tree or tree in base.parents:
            source = src.name
            prefix = base.relative_to(tree).as_posix() if base != tree else ""
            break
    covering = tuple(
        _Covering(p, frozenset(r.id for r in expand_rule_ids(list(p.rules))), when_holds(p.when, target))
        for p in loaded.recipe.patches
        if isinstance(p, CatalogPatch) and (source is None or p.source == source)
    )
    tracked = _tracked(ws.source_dir(source)) if source is not None else None
    return RecipeScope(loaded.recipe.name, source, prefix, target, target_from, covering, tracked)


def _tracked(tree: Path) -> frozenset[str] | None:
    if not (tree / ".git").exists():
        return None
    files = gitcli.tracked_files(tree)
    return None if files is None else frozenset(files)


@dataclass
class ScanReport:
    """Findings, and what the recipe's patches do about each when a recipe is known."""

    path: Path
    target: TargetVersions | None
    findings: list[Finding]
    scope: RecipeScope | None = None
    verdicts: list[Verdict] = field(default_factory=list)  # one per finding when scope is set
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"findings": len(self.findings), "files": len({f.path for f in self.findings})}
        if self.scope is None:
            out["auto_fixable"] = sum(f.auto_fixable for f in self.findings)
        else:
            kinds = [v.kind for v in self.verdicts]
            out["auto_fixable"] = kinds.count(AUTO)
            out["not_selected"] = kinds.count(NOT_SELECTED)
            out["outside_recipe"] = kinds.count(OUTSIDE)
        return out


def scan_report(
    path: Path,
    *,
    target: TargetVersions | None = None,
    rule_ids: list[str] | None = None,
    loaded: LoadedRecipe | None = None,
    ws: Workspace | None = None,
    notes: list[str] | None = None,
) -> ScanReport:
    """Scan `path`; with a recipe (and its workspace), judge each finding against the recipe's catalog patches.

    With a recipe and no explicit `target`, the versions are those `legacyrun patch` uses (the lock's resolution,
    else the recipe's first preferred profile), so scan and patch look at the same rules.
    """
    from legacyrun.patching.catalog import TargetVersions, scan

    scope = None
    if loaded is not None and ws is not None:
        chosen, origin = choose_target(loaded, ws, None, None)
        if target is not None:
            chosen = Target(chosen.profile, target.torch, target.python, target.cuda, chosen.gpus)
            origin = "--target"
        else:
            target = TargetVersions(torch=chosen.torch, python=chosen.python, cuda=chosen.cuda)
        scope = recipe_scope(loaded, ws, path, chosen, origin)
    findings = scan(path, target, rule_ids=rule_ids)
    report = ScanReport(path, target, findings, scope, notes=list(notes or []))
    if scope is not None:
        report.verdicts = [scope.judge(f.rule_id, f.path, f.auto_fixable) for f in findings]
    return report


__all__ = [
    "AUTO",
    "MANUAL",
    "NOT_SELECTED",
    "OUTSIDE",
    "RecipeScope",
    "ScanReport",
    "Verdict",
    "find_workspace",
    "recipe_scope",
    "scan_report",
]
