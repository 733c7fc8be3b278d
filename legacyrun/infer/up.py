"""`legacyrun up URL`: a repository without a recipe is scaffolded into the workspace, then the usual chain runs.

The scaffolded recipe is written to `<workspace>/recipe.yaml` (the header says what was inferred from where); when
the chain cannot finish, what is left is a list of decisions, each located: the line of recipe.yaml that records
it and, where the scaffold read it from the repository, `src/<source>/FILE:LINE`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from legacyrun import lock
from legacyrun.errors import BuildError, LegacyrunError, TodosRemain
from legacyrun.fsutil import atomic_write_text
from legacyrun.infer.fixes import MAX_FIXES, apply_fix, find_fix
from legacyrun.recipe.refs import URL_RE as _URL_RE
from legacyrun.recipe.refs import is_repository_ref
from legacyrun.share.scaffold import ScaffoldResult, scaffold_recipe
from legacyrun.share.sources import default_name

RECIPE_FILE = "recipe.yaml"


def repository_url(ref: str) -> str:
    """A local path as a file:// URL (what a recipe's source accepts); URLs unchanged."""
    return ref if _URL_RE.match(ref) else Path(ref).resolve().as_uri()


def recipe_name(url: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "-", default_name(url).lower()).strip("-._")
    return slug or "project"


SCAFFOLD_RECORD = Path(".legacyrun") / "scaffold.json"  # what the scaffold of recipe.yaml left to decide


def scaffold_into(ref: str, workspace_root: Path, mirrors: Any) -> tuple[Path, Any]:
    """Scaffold `ref` and write the recipe into `workspace_root`; (recipe path, ScaffoldResult). A recipe that an
    earlier `up` scaffolded there from the same URL is kept as it is (with the known fixes and the edits made to
    it since); delete it to scaffold again."""
    url = repository_url(ref)
    path = workspace_root / RECIPE_FILE
    record = workspace_root / SCAFFOLD_RECORD
    try:
        kept = json.loads(record.read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        kept = None
    if isinstance(kept, dict) and kept.get("url") == url and isinstance(kept.get("todos"), list):
        name, commit = recipe_name(url), str(kept.get("commit", ""))
        todos = [str(t) for t in kept["todos"]]
        return path, ScaffoldResult(name, text, [], url, commit, {}, [], True, todos, reused=True)
    result = scaffold_recipe(recipe_name(url), url, mirrors=mirrors)
    workspace_root.mkdir(parents=True, exist_ok=True)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.unlink(missing_ok=True)  # a crash between the two writes scaffolds again next time
    atomic_write_text(path, result.text)
    atomic_write_text(record, json.dumps({"url": url, "commit": result.commit, "todos": result.todos}))
    return path, result


def todo_items(recipe_path: Path, result: Any, source: str) -> list[str]:
    """One `FILE:LINE: decision` per TODO of the scaffold, located in recipe.yaml and in the source tree."""
    lines = recipe_path.read_text(encoding="utf-8").splitlines()
    items = []
    for todo in result.todos:
        at = next((i for i, ln in enumerate(lines, 1) if ln.startswith("# TODO: ") and todo in ln), 1)
        m = re.match(r"^([\w./-]+):(\d+): (.*)$", todo)
        if m:
            items.append(f"{recipe_path}:{at}: src/{source}/{m.group(1)}:{m.group(2)}: {m.group(3)}")
        else:
            items.append(f"{recipe_path}:{at}: {todo}")
    return items


def failure_log(ws: Any, exc: LegacyrunError | None, outcome: Any) -> Path | None:
    """The log that shows why the chain stopped: the task's log, or (a failed build) the newest build log."""
    if outcome is not None and outcome.run is not None:
        return Path(outcome.run.log_path)
    if isinstance(exc, BuildError) and ws.logs.is_dir():
        logs = sorted((p for p in ws.logs.rglob("*") if p.is_file()), key=lambda p: p.stat().st_mtime)
        return logs[-1] if logs else None
    return None


def try_known_fix(
    recipe_path: Path, ws: Any, source: str, exc: LegacyrunError | None, outcome: Any, applied: list[str]
) -> str | None:
    """Under `up URL --smoke`: explain the failure and apply the first known fix the recipe lacks as an edit of
    recipe.yaml (legacyrun.infer.fixes); its description (also appended to `applied`), or None when there is
    none or MAX_FIXES were applied already."""
    if len(applied) >= MAX_FIXES:
        return None
    log = failure_log(ws, exc, outcome)
    held = lock.read_optional(ws.lockfile) if log is not None else None
    if log is None or held is None:
        return None
    res = held.resolution
    cpu = res.cuda is None  # as the patch scope decides `when: {device: cpu}`
    fix = find_fix(log, recipe_path.read_text(encoding="utf-8"), res.profile, ws.root / "src" / source, cpu=cpu)
    if fix is None:
        return None
    line = apply_fix(recipe_path, fix, len(applied) + 1)
    desc = f"{recipe_path}:{line}: added {fix.describe()}"
    applied.append(desc)
    return desc


_FRAME_RE = re.compile(r'File "(?:[^"]*/)?src/([^"]+)", line (\d+)')
_COMPILE_RE = re.compile(r"(?:^|/)src/(\S+?):(\d+):(?:\d+:)? (?:fatal )?error: (.*)$")
_EXC_RE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*)$")


def locate_failure(log: Path | None) -> str | None:
    """`src/FILE:LINE: what failed` from a log: the innermost traceback frame in a workspace source and the
    exception, or the first compiler error in one; None when the log shows neither."""
    if log is None:
        return None
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        m = _COMPILE_RE.search(line.strip())
        if m:
            return f"src/{m.group(1)}:{m.group(2)}: does not compile: {m.group(3).strip()}"
    # the first exception after a frame in the sources, at the innermost such frame before it (a launcher's own
    # ChildFailedError later in the log only repeats that the child failed)
    frame: tuple[str, str] | None = None
    for line in lines:
        f = _FRAME_RE.search(line)
        if f:
            frame = (f.group(1), f.group(2))
        e = _EXC_RE.match(line.strip())
        if e and frame is not None:
            return f"src/{frame[0]}:{frame[1]}: fails with {e.group(1)[:200]}"
    return None


def stop_with_todos(
    recipe_path: Path,
    result: Any,
    source: str,
    cause: LegacyrunError | None,
    fixes: list[str] | None = None,
    log: Path | None = None,
) -> TodosRemain:
    """The error `up URL` ends with: the scaffold's decisions, and the failure that stopped the chain, if any
    (`fixes`: the known fixes applied before it, named in the message, not counted as decisions; `log`: the
    failure's log, whose traceback or compiler error locates the failure in the sources)."""
    items = todo_items(recipe_path, result, source)
    where = locate_failure(log)
    if cause is not None and where is not None:
        lines = recipe_path.read_text(encoding="utf-8").splitlines()
        at = next((i for i, ln in enumerate(lines, 1) if ln == "patches:"), 1)
        items.append(f"{recipe_path}:{at}: {where}; decide the fix (a patch here, a pin or a requirement; log {log})")
    elif cause is not None:
        first = cause.message.splitlines()[0] if cause.message else cause.title
        # a failure that names a task is located at that task's entry in recipe.yaml
        task = re.search(r"\btask (\S+)", first)
        lines = recipe_path.read_text(encoding="utf-8").splitlines()
        at = next((i for i, ln in enumerate(lines, 1) if task and ln == f"  {task.group(1)}:"), 1)
        items.append(f"{recipe_path}:{at}: the chain stopped ({cause.title}, exit {cause.exit_code}): {first}")
    n = len(items)
    tried = f" after {len(fixes)} known fix{'es' if len(fixes) != 1 else ''} ({'; '.join(fixes)})" if fixes else ""
    return TodosRemain(
        f"{recipe_path}: scaffolded from {result.url}; {n} decision{'s' if n != 1 else ''} left{tried}",
        items,
        hint=f"edit {recipe_path} and run `legacyrun up {recipe_path}`",
    )


__all__ = [
    "RECIPE_FILE",
    "failure_log",
    "is_repository_ref",
    "locate_failure",
    "recipe_name",
    "repository_url",
    "scaffold_into",
    "stop_with_todos",
    "todo_items",
    "try_known_fix",
]
