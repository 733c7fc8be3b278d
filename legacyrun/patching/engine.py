"""The patch engine: recipe patches become commits on branch `legacyrun/patched` of each source's git work tree.

The pinned commit is the base. Each applied patch is one commit whose message carries `legacyrun-patch: ID HASH`
(HASH covers the patch's definition, so editing a patch in the recipe re-applies it and what follows). Commits
use a fixed identity and date, so the same pins and patches give the same SHAs everywhere.

- A re-run compares the wanted series (id, hash) with the one on the branch: equal means nothing to do.
- A changed series keeps the common prefix and re-applies the rest on top of it.
- Each patch is computed in memory (regex, catalog, adapt) or checked with `git apply --check` (diff) before
  anything is written; a journal file in the git dir marks a patch in progress, so a run killed between writing
  and committing is rolled back (to before that patch) by the next run. The tree is thus always before or after
  a patch, never in between.
- Tracked files that differ from HEAD are the user's edits: refused with their names, or stashed with --force.
  Commits the user made on `legacyrun/patched` are kept on a `legacyrun/saved-*` branch before a rebuild.
- `revert` checks out the pinned commit (detached HEAD, as fetch leaves it) and deletes the branch.

Untracked files (datasets unpacked into the tree, outputs) are never looked at nor touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from legacyrun.errors import PatchError
from legacyrun.fetch.release import pinned_commit
from legacyrun.gitcli import GitRepo
from legacyrun.invocation import command
from legacyrun.patching import kinds
from legacyrun.patching.adapt import AdaptPlan, adapt_changes, adapt_hash, plan_adaptation
from legacyrun.patching.target import Target, when_holds
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.recipe.models import CatalogPatch, DiffPatch, RegexPatch
from legacyrun.workspace import Workspace

BRANCH = "legacyrun/patched"
TRAILER = "legacyrun-patch"
_TRAILER_RE = re.compile(rf"^{TRAILER}: (\S+) ([0-9a-f]{{64}})$", re.MULTILINE)
JOURNAL = "legacyrun-patch-in-progress.json"

Progress = Callable[[str], None]
RecipePatch = RegexPatch | DiffPatch | CatalogPatch


@dataclass(frozen=True)
class PlannedPatch:
    """One patch selected for a source; `patch` is None for the GPU-count adaptation."""

    id: str
    kind: str
    source: str
    hash: str
    why: str | None = None
    patch: RecipePatch | None = None


@dataclass(frozen=True)
class SourcePlan:
    """The wanted series for one source tree."""

    name: str
    path: Path
    pinned: str
    patches: list[PlannedPatch]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (patch id, why it is not selected)


@dataclass(frozen=True)
class PatchPlan:
    """What `apply` does: per source, the patches (and adaptation) selected for the target."""

    recipe: str
    target: Target
    sources: list[SourcePlan]
    values: dict[str, str]
    patches_dir: Path
    adapt: AdaptPlan | None = None


@dataclass
class SourceResult:
    """What happened in one source tree."""

    source: str
    path: Path
    pinned: str
    applied: list[str] = field(default_factory=list)  # newly applied by this run
    already: list[str] = field(default_factory=list)  # found in place
    skipped: list[tuple[str, str]] = field(default_factory=list)
    commits: dict[str, str] = field(default_factory=dict)  # patch id -> commit SHA, whole series
    hashes: dict[str, str] = field(default_factory=dict)  # patch id -> content hash, whole series
    head: str = ""
    diff: str = ""
    series_hash: str = ""
    dirty: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class PatchResult:
    """The outcome of `apply` or `revert` for every source."""

    recipe: str
    target: Target | None
    dry_run: bool
    sources: list[SourceResult]
    adapt: AdaptPlan | None = None
    reverted: bool = False

    @property
    def changes(self) -> int:
        return sum(len(s.applied) for s in self.sources)

    @property
    def already(self) -> int:
        return sum(len(s.already) for s in self.sources)

    @property
    def hashes(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for src in self.sources:
            out.update(src.hashes)
        return out

    @property
    def series_hash(self) -> str:
        text = "\n".join(f"{s.source}:{s.series_hash}" for s in self.sources)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def summary(self) -> str:
        if self.reverted:
            what = "would revert" if self.dry_run else "reverted"
            return f"{what} {len(self.sources)} source(s) to the pinned commit"
        verb = "to apply" if self.dry_run else "applied" if self.changes else "changes"
        if self.changes:
            return f"{self.changes} patch(es) {verb}, {self.already} already applied"
        return f"0 changes, {self.already} patches already applied"


# --- planning ---------------------------------------------------------------------------------------------------


def workspace_values(ws: Workspace, target: Target) -> dict[str, str]:
    """Values a regex replacement may use; {gpus} is 1 when no count is known."""
    return {"gpus": str(target.gpus or 1), "data_root": str(ws.data), "workspace": str(ws.root)}


def _patch_hash(patch: RecipePatch, patches_dir: Path, values: dict[str, str], target: Target) -> str:
    extra: dict[str, str] = {}
    if isinstance(patch, DiffPatch):
        path = kinds.diff_file(patch, patches_dir)
        extra["diff_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    elif isinstance(patch, RegexPatch):
        extra["replace_expanded"] = kinds.expand_replacement(patch.replace, values)
    else:
        # Catalog rules choose what to do from the versions, so they are part of what the patch is.
        extra["target"] = json.dumps([target.torch, target.python, target.cuda])
    return kinds.content_hash(patch, extra)


def plan_patches(loaded: LoadedRecipe, ws: Workspace, target: Target) -> PatchPlan:
    """Select the recipe's patches whose `when` holds for the target, plus the GPU-count adaptation."""
    recipe = loaded.recipe
    values = workspace_values(ws, target)
    patches_dir = loaded.patches_dir
    per_source: dict[str, list[PlannedPatch]] = {s.name: [] for s in recipe.sources}
    skipped: dict[str, list[tuple[str, str]]] = {s.name: [] for s in recipe.sources}
    for patch in recipe.patches:
        if not when_holds(patch.when, target):
            skipped[patch.source].append((patch.id, f"when does not hold for {_describe(target)}"))
            continue
        digest = _patch_hash(patch, patches_dir, values, target)
        per_source[patch.source].append(PlannedPatch(patch.id, patch.kind, patch.source, digest, patch.why, patch))
    adapt = None
    if recipe.adapt is not None and target.gpus is not None:
        main = recipe.sources[0].name
        adapt = plan_adaptation(loaded, target, ws)
        if adapt.has_edits or adapt.needs_tree:
            per_source[main].append(
                PlannedPatch(
                    adapt.patch_id,
                    "adapt",
                    main,
                    adapt_hash(recipe.adapt, target),
                    f"adapt to {target.gpus} GPU(s)",
                )
            )
    sources = [
        SourcePlan(
            s.name,
            ws.source_dir(s.name),
            pinned_commit(s, ws.source_dir(s.name)),
            per_source[s.name],
            skipped[s.name],
        )
        for s in recipe.sources
    ]
    return PatchPlan(recipe.name, target, sources, values, patches_dir, adapt)


def _describe(target: Target) -> str:
    parts = [f"profile {target.profile}", f"torch {target.torch}"]
    if target.python:
        parts.append(f"python {target.python}")
    if target.cuda:
        parts.append(f"cuda {target.cuda}")
    if target.gpus is not None:
        parts.append(f"{target.gpus} GPU(s)")
    return ", ".join(parts)


def list_patches(loaded: LoadedRecipe, target: Target) -> list[dict[str, str]]:
    """Rows for `patch --list`: every recipe patch, its kind, source, whether it applies to the target and why."""
    rows = []
    for patch in loaded.recipe.patches:
        selected = when_holds(patch.when, target)
        rows.append(
            {
                "id": patch.id,
                "kind": patch.kind,
                "source": patch.source,
                "applies": "yes" if selected else "no",
                "why": patch.why or "",
            }
        )
    if loaded.recipe.adapt is not None and target.gpus is not None:
        rows.append(
            {
                "id": f"adapt-gpus-{target.gpus}",
                "kind": "adapt",
                "source": loaded.recipe.sources[0].name,
                "applies": "yes",
                "why": f"GPU-count adaptation for {target.gpus} GPU(s)",
            }
        )
    return rows


# --- the state of a source tree ----------------------------------------------------------------------------------


@dataclass
class _State:
    repo: GitRepo
    pinned: str
    head: str | None
    branch: str | None  # checked-out branch, None when detached
    tip: str | None  # tip of legacyrun/patched
    series: list[tuple[str, str, str]]  # (id, hash, commit) of ours on the branch, oldest first
    foreign: list[str]  # commits on the branch that legacyrun did not make
    dirty: list[str]


def _open(path: Path, name: str, pinned: str) -> GitRepo:
    repo = GitRepo(path)
    if not path.is_dir() or not repo.is_repo():
        raise PatchError(f"source {name}: {path} is not a git work tree", hint=f"run `{command('fetch')}` first")
    if repo.rev(pinned) is None:
        raise PatchError(
            f"source {name}: pinned commit {pinned} is not in {path}", hint=f"run `{command('fetch')}` again"
        )
    return repo


STALE_LOCK_SECONDS = 600  # without /proc, an index.lock this old is taken as left by a killed process


def _git_processes_in(path: Path, locks: list[Path]) -> list[int]:
    """Pids of live processes that hold one of `locks` open or are git running in the work tree (Linux /proc)."""
    found: list[int] = []
    root = path.resolve()
    wanted = {str(lock) for lock in locks}
    for entry in Path("/proc").iterdir() if Path("/proc/self").exists() else []:
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text(encoding="utf-8").strip()
            if comm.startswith("git"):
                cwd = Path(os.readlink(entry / "cwd"))
                if cwd == root or root in cwd.parents:
                    found.append(int(entry.name))
                    continue
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    found.append(int(entry.name))
                    break
        except OSError:
            continue  # gone, or not ours to look at
    return found


def _clear_stale_lock(repo: GitRepo, pinned: str, notes: list[str]) -> None:
    """Lock files (`.git/index.lock`, `HEAD.lock`, a ref's `.lock`) left by a killed legacyrun (git died with it)
    block every later git command. They are removed only when no process holds them or runs git in the tree, and
    HEAD is a state the engine knows (the pin, or one of its patch commits, the journal marking one in progress):
    otherwise they belong to someone else's git, and are left."""
    git_dir = repo.path / ".git"
    if not git_dir.is_dir():
        return
    locks = sorted([*git_dir.glob("*.lock"), *(git_dir / "refs").rglob("*.lock")])
    if not locks:
        return
    shown = ", ".join(lock.relative_to(repo.path).as_posix() for lock in locks)
    holders = [pid for pid in _git_processes_in(repo.path, locks) if pid != os.getpid()]
    if holders:
        raise PatchError(
            f"{repo.path}: git is running there (pid {', '.join(map(str, holders))}) and holds {shown}",
            hint="wait for it to finish, then run the command again",
        )
    if not Path("/proc/self").exists():
        try:
            age = time.time() - max(lock.stat().st_mtime for lock in locks)
        except OSError:
            return
        if age < STALE_LOCK_SECONDS:
            raise PatchError(f"{repo.path}: {shown} is {age:.0f}s old; another git may be running")
    head = repo.rev("HEAD")
    message = repo.out("log", "-1", "--format=%B", "HEAD") if head else ""
    if head != repo.rev(pinned) and not _TRAILER_RE.search(message):
        raise PatchError(
            f"{repo.path}: {shown} is left over, but HEAD {head} is not a state legacyrun made; not touching it",
            hint="if no git is running there, remove the lock files yourself",
        )
    for lock in locks:
        lock.unlink(missing_ok=True)
    notes.append(f"removed stale {shown} in {repo.path} (left by a killed run; no git process holds it)")


def _recover(repo: GitRepo, notes: list[str], pinned: str | None = None) -> None:
    """A journal left by a killed run: put its half-written patch aside (back to the last commit).

    It is stashed rather than reset away: should the user have edited files since, nothing of theirs is lost."""
    if pinned is not None:
        _clear_stale_lock(repo, pinned, notes)
    journal = repo.git_dir() / JOURNAL
    if journal.exists():
        try:
            pending = json.loads(journal.read_text(encoding="utf-8")).get("patch", "?")
        except (OSError, ValueError, AttributeError):
            pending = "?"
        dirty = bool(repo.dirty_files())
        if dirty:
            repo.run("stash", "push", "-q", "-m", f"legacyrun: half-applied patch {pending} of an interrupted run")
        journal.unlink(missing_ok=True)
        notes.append(
            f"an interrupted run left patch {pending} half-applied; the tree is back at the last applied patch"
            + (" (the half-written files are in `git stash list`)" if dirty else "")
        )


def _state(repo: GitRepo, pinned: str) -> _State:
    tip = repo.rev(f"refs/heads/{BRANCH}")
    series: list[tuple[str, str, str]] = []
    foreign: list[str] = []
    if tip is not None:
        if repo.is_ancestor(pinned, tip):
            for sha, message in repo.log_messages(pinned, tip):
                found = _TRAILER_RE.search(message)
                if found and not foreign:
                    series.append((found.group(1), found.group(2), sha))
                else:
                    foreign.append(sha)
        else:
            # Made for another pin: our commits are rebuilt, anything else is the user's and must be kept.
            foreign = [sha for sha, message in repo.log_messages(pinned, tip) if not _TRAILER_RE.search(message)]
    return _State(repo, pinned, repo.head(), repo.head_branch(), tip, series, foreign, repo.dirty_files())


def applied_ids(path: Path, pinned: str) -> list[str]:
    """Ids of legacyrun's patch commits on the patched branch of one source tree, oldest first (none: unpatched)."""
    repo = GitRepo(path)
    if not path.is_dir() or not repo.is_repo():
        return []
    return [pid for pid, _digest, _sha in _state(repo, pinned).series]


def _head_is_ours(st: _State) -> bool:
    if st.branch == BRANCH:
        return True
    return st.branch is None and st.head == st.pinned


def _series_hash(pinned: str, series: list[tuple[str, str]]) -> str:
    text = pinned + "\n" + "\n".join(f"{pid} {digest}" for pid, digest in series)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _protect(st: _State, *, force: bool, dry_run: bool, notes: list[str], action: str) -> None:
    """Refuse to touch user edits and commits, or (with --force) put them somewhere safe first."""
    problems: list[str] = []
    if st.dirty:
        shown = ", ".join(st.dirty[:10]) + (f" and {len(st.dirty) - 10} more" if len(st.dirty) > 10 else "")
        problems.append(f"uncommitted edits in {shown}")
    if st.foreign:
        problems.append(f"{len(st.foreign)} commit(s) on {BRANCH} that legacyrun did not make")
    if not _head_is_ours(st):
        where = f"branch {st.branch}" if st.branch else f"commit {(st.head or '?')[:12]}"
        problems.append(f"HEAD is on {where}, not the pinned commit or {BRANCH}")
    if not problems or dry_run:
        return
    if not force:
        raise PatchError(
            f"{st.repo.path}: refusing to {action}: " + "; ".join(problems),
            hint="commit them on a branch of your own, or pass --force to stash edits and keep commits on a "
            "legacyrun/saved-* branch",
        )
    if st.dirty:
        st.repo.run("stash", "push", "-q", "-m", f"legacyrun: edits saved before {action}")
        notes.append(f"stashed your edits to {len(st.dirty)} file(s) (`git stash pop` in {st.repo.path} restores them)")
    if st.foreign and st.tip is not None:
        saved = f"legacyrun/saved-{st.tip[:12]}"
        st.repo.run("branch", "-f", saved, st.tip)
        notes.append(f"kept your commits on {BRANCH} as branch {saved}")
    if not _head_is_ours(st) and st.branch is None and st.head is not None:
        reachable = st.repo.out("branch", "--contains", st.head, "--format=%(refname)").strip()
        if not reachable:
            saved = f"legacyrun/saved-{st.head[:12]}"
            st.repo.run("branch", "-f", saved, st.head)
            notes.append(f"kept your detached HEAD commit as branch {saved}")


# --- applying -------------------------------------------------------------------------------------------------------


def _commit_message(planned: PlannedPatch) -> str:
    lines = [f"legacyrun: {planned.id}", ""]
    if planned.why:
        lines += [planned.why.strip(), ""]
    lines.append(f"{TRAILER}: {planned.id} {planned.hash}")
    return "\n".join(lines) + "\n"


def _replace_file(path: Path, data: bytes) -> None:
    """Rewrite a tracked file in place (mode kept). A patch spans many files, so per-file atomic renames would
    not make the patch atomic anyway (and cost ~1 ms each on overlay file systems): the journal written before
    does, by making the next run roll back a patch whose commit did not happen."""
    if path.is_symlink() or not path.is_file():
        raise PatchError(f"{path}: not a regular file; legacyrun only rewrites regular tracked files")
    with path.open("r+b") as fh:
        fh.write(data)
        fh.truncate()


def _write_changes(repo: GitRepo, changes: kinds.Changes) -> None:
    for rel, (_old, new) in changes.items():
        _replace_file(repo.path / rel, new.encode("utf-8"))
    if changes:
        # Paths go through stdin, not argv: a catalog patch may change thousands of files. --force: a tracked file
        # in a folder the project's .gitignore lists (MaskTextSpotter ignores `evaluation` yet tracks its scripts)
        # is refused otherwise; only the files this patch changed are named.
        repo.run("add", "--force", "--pathspec-from-file=-", "--pathspec-file-nul", input="\0".join(changes))


def _apply_diff(repo: GitRepo, planned: PlannedPatch, plan: PatchPlan, notes: list[str]) -> None:
    assert isinstance(planned.patch, DiffPatch)
    path = str(kinds.diff_file(planned.patch, plan.patches_dir))
    if repo.run("apply", "--check", "--index", "--whitespace=nowarn", path, check=False).ok:
        repo.run("apply", "--index", "--whitespace=nowarn", path)
        return
    done = repo.run("apply", "--3way", "--whitespace=nowarn", path, check=False)
    if not done.ok or repo.out("diff", "--name-only", "--diff-filter=U").strip():
        detail = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        raise PatchError(
            f"patch {planned.id}: {path} does not apply to {repo.path.name}, even three-way: "
            + (detail[-1] if detail else "conflicts"),
            hint="the source drifted from what the diff expects; nothing of this patch was applied",
        )
    notes.append(f"patch {planned.id}: applied with the three-way fallback")


def _compute(repo: GitRepo, planned: PlannedPatch, plan: PatchPlan) -> kinds.Changes:
    patch = planned.patch
    if planned.kind == "adapt":
        assert plan.adapt is not None
        return adapt_changes(plan.adapt, repo.path, repo.tracked_files())
    if isinstance(patch, RegexPatch):
        return kinds.regex_changes(patch, repo.path, repo.tracked_files(), plan.values)
    if isinstance(patch, CatalogPatch):
        return kinds.catalog_changes(patch, repo.path, plan.target, repo.tracked_files())
    raise AssertionError(planned.kind)


def _apply_one(repo: GitRepo, planned: PlannedPatch, plan: PatchPlan, notes: list[str]) -> str:
    """One patch -> one commit; on any failure (or Ctrl-C) the tree goes back to the previous commit."""
    journal = repo.git_dir() / JOURNAL
    changes: kinds.Changes = {}
    if planned.kind != "diff":
        changes = _compute(repo, planned, plan)  # may raise: nothing is written yet
    try:
        journal.write_text(json.dumps({"patch": planned.id, "hash": planned.hash}), encoding="utf-8")
        if planned.kind == "diff":
            _apply_diff(repo, planned, plan, notes)
        else:
            _write_changes(repo, changes)
        repo.run("commit", "-q", "--no-verify", "--allow-empty", "-F", "-", input=_commit_message(planned))
    except BaseException:
        repo.run("reset", "-q", "--hard", "HEAD", check=False)
        journal.unlink(missing_ok=True)
        raise
    journal.unlink(missing_ok=True)
    head = repo.head()
    assert head is not None
    return head


def _apply_source(sp: SourcePlan, plan: PatchPlan, *, dry_run: bool, force: bool, progress: Progress) -> SourceResult:
    res = SourceResult(sp.name, sp.path, sp.pinned, skipped=list(sp.skipped))
    repo = _open(sp.path, sp.name, sp.pinned)
    if not dry_run:
        _recover(repo, res.notes, sp.pinned)
    st = _state(repo, sp.pinned)
    res.dirty = st.dirty
    wanted = [(p.id, p.hash) for p in sp.patches]
    have = [(pid, digest) for pid, digest, _ in st.series]
    keep = 0
    while keep < min(len(wanted), len(have)) and wanted[keep] == have[keep]:
        keep += 1
    in_place = (
        keep == len(wanted) == len(have)
        and not st.foreign
        and ((st.branch == BRANCH) if wanted else (st.branch is None and st.head == sp.pinned and st.tip is None))
    )
    res.already = [pid for pid, _ in wanted[:keep]]
    res.commits = {pid: sha for pid, _, sha in st.series[:keep]}
    res.hashes = dict(wanted)
    res.series_hash = _series_hash(sp.pinned, wanted)
    if in_place:
        res.head = st.head or ""
        if st.dirty:
            res.notes.append(f"your uncommitted edits in {len(st.dirty)} file(s) were left as they are")
        return res
    _protect(st, force=force, dry_run=dry_run, notes=res.notes, action="patch")
    start = st.series[keep - 1][2] if keep else sp.pinned
    todo = sp.patches[keep:]
    dropped = [pid for pid, _ in have[keep:]]
    if dropped:
        res.notes.append(
            f"{'would drop' if dry_run else 'dropped'} {', '.join(dropped)} (no longer wanted as they were)"
        )
    if dry_run:
        res.applied = [p.id for p in todo]
        res.diff = _dry_run_diff(repo, st.head or start, start, todo, plan)
        res.head = st.head or ""
        return res
    if not wanted:
        repo.run("checkout", "-q", "--detach", sp.pinned)
        if st.tip is not None:
            repo.run("branch", "-q", "-D", BRANCH)
        res.head = sp.pinned
        return res
    try:
        repo.run("checkout", "-q", "-B", BRANCH, start)
        if not todo:
            res.notes.append(f"checked out {BRANCH}")
        for planned in todo:
            progress(f"{sp.name}: applying {planned.id} ({planned.kind})")
            res.commits[planned.id] = _apply_one(repo, planned, plan, res.notes)
            res.applied.append(planned.id)
    except BaseException:
        _restore(repo, st)
        raise
    res.head = repo.head() or ""
    res.diff = repo.diff(start, res.head) if todo else ""
    return res


def _restore(repo: GitRepo, st: _State) -> None:
    """A patch failed: put HEAD and the branch back where this run found them (a failed run applies nothing).
    The tree was clean when the run started (edits were refused or stashed), so these checkouts lose nothing."""
    repo.run("reset", "-q", "--hard", "HEAD", check=False)
    if st.head is not None:
        repo.run("checkout", "-q", "--detach", st.head, check=False)
    if st.tip is not None:
        repo.run("branch", "-q", "-f", BRANCH, st.tip, check=False)
    else:
        repo.run("branch", "-q", "-D", BRANCH, check=False)
    if st.branch is not None:
        repo.run("checkout", "-q", st.branch, check=False)


def _dry_run_diff(repo: GitRepo, head: str, start: str, todo: list[PlannedPatch], plan: PatchPlan) -> str:
    """The diff from the current HEAD to what a real run would commit. The pending patches are applied in a
    throw-away worktree (detached HEAD: no ref moves; the objects it writes are unreferenced)."""
    if not todo:
        return repo.diff(head, start) if head != start else ""
    tmp = Path(tempfile.mkdtemp(prefix="legacyrun-dry-run-"))
    scratch = tmp / "tree"
    try:
        repo.run("worktree", "add", "-q", "--detach", str(scratch), start)
        other = GitRepo(scratch)
        for planned in todo:
            _apply_one(other, planned, plan, [])
        return other.diff(head, "HEAD")
    finally:
        repo.run("worktree", "remove", "--force", str(scratch), check=False)
        repo.run("worktree", "prune", check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def apply(
    plan: PatchPlan, *, dry_run: bool = False, force: bool = False, progress: Progress | None = None
) -> PatchResult:
    """Bring every source tree to the planned series (or, with dry_run, report the diff and touch nothing)."""
    say = progress or (lambda _msg: None)
    results = [_apply_source(sp, plan, dry_run=dry_run, force=force, progress=say) for sp in plan.sources]
    return PatchResult(plan.recipe, plan.target, dry_run, results, plan.adapt)


def revert(loaded: LoadedRecipe, ws: Workspace, *, dry_run: bool = False, force: bool = False) -> PatchResult:
    """Every source back to its pinned commit (detached HEAD); the legacyrun/patched branch is deleted."""
    results: list[SourceResult] = []
    for src in loaded.recipe.sources:
        path = ws.source_dir(src.name)
        pinned = pinned_commit(src, path)
        res = SourceResult(src.name, path, pinned, head=pinned)
        repo = _open(path, src.name, pinned)
        if not dry_run:
            _recover(repo, res.notes, pinned)
        st = _state(repo, pinned)
        res.dirty = st.dirty
        res.series_hash = _series_hash(pinned, [])
        if dry_run:
            res.diff = repo.diff(pinned) if st.head != pinned or st.dirty else ""
            results.append(res)
            continue
        if st.branch is None and st.head == pinned and st.tip is None and not st.dirty:
            results.append(res)
            continue
        _protect(st, force=force, dry_run=False, notes=res.notes, action="revert")
        repo.run("checkout", "-q", "--detach", pinned)
        if st.tip is not None:
            repo.run("branch", "-q", "-D", BRANCH)
        res.notes.append(f"back at the pinned commit {pinned[:12]}")
        results.append(res)
    return PatchResult(loaded.recipe.name, None, dry_run, results, reverted=True)


__all__ = [
    "JOURNAL",
    "TRAILER",
    "PatchPlan",
    "PatchResult",
    "PlannedPatch",
    "SourcePlan",
    "SourceResult",
    "applied_ids",
    "apply",
    "list_patches",
    "plan_patches",
    "revert",
    "workspace_values",
]
