"""GPU-count adaptation: the recipe's `adapt` block and `--gpus N` -> file edits, task overrides and a table.

Rules (AdaptKey.rule):
- gpus: the value becomes N.
- linear: reference x N / reference_gpus (the linear scaling rule); integers stay integers (rounded, at least 1),
  then `min` applies. The reference is `reference` from the recipe, else the value found in the file.
- set: the recipe's `value`.
- syncbn: with N == 1, SyncBN -> BN (and nn.SyncBatchNorm -> nn.BatchNorm2d); unchanged for N > 1.
- accumulate: the code's gradient-accumulation option (a recipe declares which key that is, where the code has
  one) becomes round(B_count / B_applied), at least 1: B_count is the batch key (`batch`) under the count rules,
  B_applied the batch that applies (a memory rule's smaller value), so batch x steps stays the authors' effective
  batch for that GPU count. The row's `why` says so; provenance records it with the other deviations.
- launcher: on torch >= 1.10, `python -m torch.distributed.launch` becomes `torchrun` (shell files) and an
  argparse `--local_rank` default becomes `int(os.environ.get("LOCAL_RANK", <default>))` (python files),
  because torchrun passes the rank in the LOCAL_RANK environment variable instead of `--local_rank` (and
  torch >= 2.0's launch passes `--local-rank`, which old argparse code rejects). `--nproc_per_node` becomes N.

Formats: yaml edits the scalar in place (the span of the value node, so comments, quotes and layout stay); shell
edits `KEY=VALUE` / `KEY VALUE`; python edits `KEY = value` assignments, or an argparse `default=` when KEY is a
flag; cli adds `KEY VALUE` to the named tasks' argv (detectron2 style: later options win). File keys live in the
recipe's first (main) source; the edits become one extra commit `adapt-gpus-N` after the recipe's patches.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from legacyrun import gitcli, memo
from legacyrun.errors import PatchError
from legacyrun.fetch.release import pinned_commit
from legacyrun.patching import globs
from legacyrun.patching.globs import select
from legacyrun.patching.target import Target
from legacyrun.recipe.models import Adapt, AdaptKey

if TYPE_CHECKING:
    from legacyrun.recipe.loader import LoadedRecipe
    from legacyrun.workspace import Workspace

Reader = Callable[[str], str | None]


@dataclass(frozen=True)
class AdaptRow:
    """One line of the adaptation table."""

    key: str
    where: str
    old: str
    new: str
    rule: str
    why: str = ""  # the recipe's reason, and the condition of a memory rule: provenance records each deviation


@dataclass
class AdaptPlan:
    """What adapting to N GPUs does: edits in the main source, argv additions per task, and the table."""

    gpus: int
    reference_gpus: int
    source: str
    adapt: Adapt
    target: Target
    edits: dict[str, tuple[str, str]] = field(default_factory=dict)
    overrides: dict[str, list[str]] = field(default_factory=dict)
    rows: list[AdaptRow] = field(default_factory=list)
    factors: dict[str, float] = field(default_factory=dict)  # accumulate keys: B_count / B_applied

    @property
    def keys(self) -> list[AdaptKey]:
        return applicable_keys(self.adapt, self.target)

    @property
    def memory_rules(self) -> bool:
        """Some key chosen for the GPU's memory applies (the commit then names the memory it was made for)."""
        return any(k.when is not None and k.when.gpu_memory_gb is not None for k in self.keys)

    @property
    def patch_id(self) -> str:
        if self.memory_rules and self.target.gpu_memory_gb is not None:
            return f"adapt-gpus-{self.gpus}-{round(self.target.gpu_memory_gb)}gb"
        return f"adapt-gpus-{self.gpus}"

    @property
    def has_edits(self) -> bool:
        return bool(self.edits)

    @property
    def needs_tree(self) -> bool:
        """Some keys live in files (so the adapt commit exists even when the tree was not readable at plan time)."""
        return any(k.format != "cli" for k in self.keys)


def _when_holds(key: AdaptKey, target: Target) -> bool:
    when = key.when
    if when is None:
        return True
    if when.gpu_memory_gb is not None and (
        target.gpu_memory_gb is None or not when.gpu_memory_gb.holds(target.gpu_memory_gb)
    ):
        return False
    if when.gpus is not None:
        from packaging.specifiers import SpecifierSet

        if target.gpus is None or not SpecifierSet(when.gpus).contains(str(target.gpus)):
            return False
    return True


def _why(key: AdaptKey, target: Target) -> str:
    parts = [key.why] if key.why else []
    bounds = key.when.gpu_memory_gb if key.when is not None else None
    if bounds is not None:
        span = " and ".join(
            f"{word} {format(v, 'g')} GB" for word, v in (("at least", bounds.min), ("at most", bounds.max)) if v
        )
        parts.append(f"GPU memory {format(target.gpu_memory_gb or 0, 'g')} GB is {span}")
    return "; ".join(parts)


def applicable_keys(adapt: Adapt, target: Target) -> list[AdaptKey]:
    """The keys that apply to the target, in order; a key with a `when` that holds replaces the earlier keys of
    the same key and format (on a 4 GB card the memory rule's value, not the count rule's)."""
    out: list[AdaptKey] = []
    for key in adapt.keys:
        if not _when_holds(key, target):
            continue
        if key.when is not None:
            out = [k for k in out if (k.key, k.format) != (key.key, key.format)]
        out.append(key)
    return out


def adapt_hash(adapt: Adapt, target: Target) -> str:
    """Content hash of the adapt patch: the block, the GPU count, the torch version (launcher rule) and which
    keys hold (memory rules)."""
    keys = [i for i, k in enumerate(adapt.keys) if k in applicable_keys(adapt, target)]
    block = adapt.model_dump(mode="json")
    for row in block["keys"]:
        if row.get("batch") is None:
            row.pop("batch", None)  # a field added later: hashes of blocks without it stay as they were
    payload: dict[str, object] = {"adapt": block, "gpus": target.gpus, "torch": target.torch}
    if any(k.when is not None for k in adapt.keys):
        payload["keys"] = keys  # only then: hashes of recipes without memory rules stay as they were
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


# --- values --------------------------------------------------------------------------------------------------------


def _number(text: str) -> int | float | None:
    raw = text.strip().strip("'\"")
    if re.fullmatch(r"[-+]?\d+", raw):
        return int(raw)
    try:
        return float(raw)
    except ValueError:
        return None


def format_float(value: float) -> str:
    """Short and YAML-safe: 0.0025, 1.0e-05 (YAML 1.1 reads '1e-05' without a dot as a string)."""
    text = format(value, ".6g")
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exp = text.split("e")
        text = f"{mantissa}.0e{exp}"
    elif "." not in text and "e" not in text and "inf" not in text and "nan" not in text:
        text += ".0"
    return text


def _linear(reference: int | float, key: AdaptKey, gpus: int, reference_gpus: int) -> str:
    scaled = reference * gpus / reference_gpus
    if isinstance(reference, int) and not isinstance(reference, bool):
        result: int | float = max(1, round(scaled))
        if key.min is not None:
            result = max(result, int(key.min) if float(key.min).is_integer() else key.min)
        return str(result) if isinstance(result, int) else format_float(result)
    if key.min is not None:
        scaled = max(scaled, float(key.min))
    return format_float(scaled)


def new_value(
    key: AdaptKey, old: str | None, gpus: int, reference_gpus: int, where: str, factor: float | None = None
) -> str | None:
    """The new value for a key, or None to leave it as it is (`factor`: the batch ratio of an accumulate key)."""
    if key.rule == "accumulate":
        # The authors' own accumulation (or 1) times the ratio; a ratio of 1 leaves their value alone.
        if factor is None or factor == 1:
            return None
        base = _number(old) if old is not None else None
        start = key.reference if isinstance(key.reference, int | float) else base
        return str(max(1, round((start or 1) * factor)))
    if key.rule == "gpus":
        return str(gpus)
    if key.rule == "set":
        if key.value is None:
            raise PatchError(f"adapt key {key.key}: rule set needs a value")
        return key.value if isinstance(key.value, str) else str(key.value)
    if key.rule == "linear":
        reference: int | float | None
        if key.reference is not None and not isinstance(key.reference, str):
            reference = key.reference
        else:
            source = key.reference if isinstance(key.reference, str) else old
            reference = None if source is None else _number(source)
        if reference is None:
            raise PatchError(f"adapt key {key.key}: {where}: no numeric reference value (found {old!r})")
        return _linear(reference, key, gpus, reference_gpus)
    if key.rule == "syncbn":
        if gpus != 1 or old is None:
            return None
        if "SyncBatchNorm" in old:
            return old.replace("SyncBatchNorm", "BatchNorm2d")
        return old.replace("SyncBN", "BN") if "SyncBN" in old else None
    return None  # launcher: handled per format


# --- yaml ------------------------------------------------------------------------------------------------------


def _yaml_spans(text: str, dotted: str, rel: str) -> list[tuple[int, int, int, str, str]]:
    """(start, end, line, raw text, value) of the scalar at a dotted key; empty when the file lacks it."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise PatchError(f"{rel}: not valid YAML: {str(exc).splitlines()[0]}") from None
    node = root
    for part in dotted.split("."):
        if not isinstance(node, yaml.MappingNode):
            return []
        found = None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                found = value_node
        if found is None:
            return []
        node = found
    if not isinstance(node, yaml.ScalarNode):
        return []
    start, end = node.start_mark.index, node.end_mark.index
    return [(start, end, node.start_mark.line + 1, text[start:end], str(node.value))]


def _requote(raw: str, new: str) -> str:
    """Keep the quoting style of the old value."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return f"{raw[0]}{new}{raw[0]}"
    return new


# --- shell and python -------------------------------------------------------------------------------------------


def _shell_spans(text: str, key: str) -> list[tuple[int, int, int, str, str]]:
    pattern = re.compile(rf"(?<![\w.-]){re.escape(key)}(?:=|[ \t]+)([^\s;&|\\'\"]+|'[^']*'|\"[^\"]*\")")
    out = []
    for m in pattern.finditer(text):
        raw = m.group(1)
        out.append((m.start(1), m.end(1), text.count("\n", 0, m.start(1)) + 1, raw, raw.strip("'\"")))
    return out


def _python_spans(text: str, key: str) -> list[tuple[int, int, int, str, str]]:
    if key.startswith("-"):
        pattern = re.compile(
            rf"add_argument\(\s*(['\"]){re.escape(key)}\1[^)]*?\bdefault\s*=\s*(?P<val>'[^']*'|\"[^\"]*\"|[^,)\s]+)",
            re.DOTALL,
        )
    else:
        pattern = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=[ \t]*(?P<val>[^#\n]*?)[ \t]*(?:#.*)?$", re.MULTILINE)
    out = []
    for m in pattern.finditer(text):
        raw = m.group("val")
        out.append((m.start("val"), m.end("val"), text.count("\n", 0, m.start("val")) + 1, raw, raw.strip("'\"")))
    return out


_LAUNCH = re.compile(r"\bpython[0-9.]*[ \t]+-m[ \t]+torch\.distributed\.launch\b")
_NPROC = re.compile(r"(--nproc_per_node(?:=|[ \t]+))(\d+)")
_LOCAL_RANK = re.compile(
    r"(add_argument\(\s*['\"]--local[_-]rank['\"][^)]*?\bdefault\s*=\s*)(?P<val>[^,)\s]+)", re.DOTALL
)


def _modern_launcher(torch: str) -> bool:
    return Version(torch) >= Version("1.10")


def _launcher_edit(text: str, rel: str, fmt: str, target: Target, gpus: int) -> tuple[str, list[AdaptRow]]:
    rows: list[AdaptRow] = []
    modern = _modern_launcher(target.torch)
    if fmt == "shell":
        for m in list(_NPROC.finditer(text))[::-1]:
            if m.group(2) != str(gpus):
                line = text.count("\n", 0, m.start()) + 1
                rows.append(AdaptRow("--nproc_per_node", f"{rel}:{line}", m.group(2), str(gpus), "launcher"))
                text = text[: m.start(2)] + str(gpus) + text[m.end(2) :]
        if modern:
            for m in list(_LAUNCH.finditer(text))[::-1]:
                line = text.count("\n", 0, m.start()) + 1
                rows.append(AdaptRow("launcher", f"{rel}:{line}", m.group(0), "torchrun", "launcher"))
                text = text[: m.start()] + "torchrun" + text[m.end() :]
    elif fmt == "python" and modern:
        for m in list(_LOCAL_RANK.finditer(text))[::-1]:
            old = m.group("val")
            if "LOCAL_RANK" in old:
                continue
            new = f'int(os.environ.get("LOCAL_RANK", {old}))'
            line = text.count("\n", 0, m.start("val")) + 1
            rows.append(AdaptRow("--local_rank", f"{rel}:{line}", old, new, "launcher"))
            text = text[: m.start("val")] + new + text[m.end("val") :]
        if rows and not re.search(r"^import os\b|^import .*\bos\b|^from os import", text, re.MULTILINE):
            text = _add_import_os(text)
    rows.reverse()
    return text, rows


def _add_import_os(text: str) -> str:
    """Insert `import os` before the first top-level import (after any __future__ import)."""
    lines = text.splitlines(keepends=True)
    at = 0
    for i, line in enumerate(lines):
        if line.startswith("from __future__"):
            at = i + 1
        elif line.startswith(("import ", "from ")) and at == 0:
            at = i
            break
    lines.insert(at, "import os\n")
    return "".join(lines)


# --- planning -----------------------------------------------------------------------------------------------------


def _spans(fmt: str, text: str, key: str, rel: str) -> list[tuple[int, int, int, str, str]]:
    if fmt == "yaml":
        return _yaml_spans(text, key, rel)
    if fmt == "shell":
        return _shell_spans(text, key)
    return _python_spans(text, key)


def _file_key(
    key: AdaptKey, files: list[str], read: Reader, plan: AdaptPlan, texts: dict[str, str], originals: dict[str, str]
) -> None:
    matched = select(files, key.files)
    found = False
    for rel in matched:
        if rel not in texts:
            text = read(rel)
            if text is None:
                continue
            texts[rel] = originals[rel] = text
        text = texts[rel]
        if key.rule == "launcher":
            texts[rel], launch_rows = _launcher_edit(text, rel, key.format, plan.target, plan.gpus)
            plan.rows.extend(launch_rows)
            found = found or bool(launch_rows)
            continue
        spans = _spans(key.format, text, key.key, rel)
        rows: list[AdaptRow] = []
        for start, end, line, raw, value in sorted(spans, reverse=True):  # from the end: offsets stay valid
            found = True
            new = new_value(key, value, plan.gpus, plan.reference_gpus, f"{rel}:{line}", plan.factors.get(key.key))
            rows.append(AdaptRow(key.key, f"{rel}:{line}", value, new if new is not None else value, key.rule))
            if new is not None and new != value:
                text = text[:start] + _requote(raw, new) + text[end:]
        plan.rows.extend(reversed(rows))
        texts[rel] = text
    if not found and key.rule != "launcher":
        plan.rows.append(AdaptRow(key.key, ", ".join(key.files), "(not found)", "-", key.rule))


def _cli_key(key: AdaptKey, files: list[str], read: Reader, plan: AdaptPlan, task_argv: dict[str, list[str]]) -> None:
    old: str | None = None
    if key.reference is not None:
        old = str(key.reference)
    else:
        for rel in select(files, key.files):
            text = read(rel)
            spans = _yaml_spans(text, key.key, rel) if text is not None else []
            if spans:
                old = spans[0][4]
                break
        if old is None:
            for argv in task_argv.values():
                if key.key in argv[:-1]:
                    old = argv[argv.index(key.key) + 1]
                    break
    new = new_value(key, old, plan.gpus, plan.reference_gpus, "cli", plan.factors.get(key.key))
    if new is None or key.rule == "launcher":
        plan.rows.append(AdaptRow(key.key, "tasks " + ",".join(key.tasks), old or "-", old or "-", key.rule))
        return
    for task in key.tasks:
        plan.overrides.setdefault(task, []).extend([key.key, new])
    plan.rows.append(AdaptRow(key.key, "tasks " + ",".join(key.tasks), old or "-", new, key.rule))


def _count_rule(adapt: Adapt, applied: AdaptKey) -> AdaptKey | None:
    """The count rule (no `when`) of the same key and format that a memory rule replaced, if any."""
    found = None
    for key in adapt.keys:
        if key is applied:
            break
        if key.when is None and (key.key, key.format) == (applied.key, applied.format):
            found = key
    return found


def _accumulation(key: AdaptKey, plan: AdaptPlan, batches: dict[str, tuple[AdaptKey, str, str]]) -> tuple[float, str]:
    """The batch ratio B_count / B_applied for an `accumulate` key and the sentence that explains it."""
    if key.batch is None or key.batch not in batches:
        raise PatchError(f"adapt key {key.key}: its batch key {key.batch!r} was not adapted before it")
    applied, old, new = batches[key.batch]
    if applied.when is None:
        return 1.0, ""  # no memory rule replaced the batch: nothing to compensate
    authors = None if old in ("-", "(not found)") else old
    count = _count_rule(plan.adapt, applied)
    full = authors if count is None else new_value(count, authors, plan.gpus, plan.reference_gpus, key.batch)
    b_full, b_now = _number(full or ""), _number(new)
    if b_full is None or b_now is None or b_now <= 0:
        raise PatchError(f"adapt key {key.key}: batch {key.batch} is not a positive number ({full!r} -> {new!r})")
    ratio = b_full / b_now
    return ratio, (
        f"keeps the effective batch {format(b_full, 'g')}: {key.batch} {format(b_now, 'g')}, "
        f"gradients accumulated over {format(ratio, 'g')}x the steps"
    )


def compute(
    plan: AdaptPlan, files: list[str], read: Reader, task_argv: dict[str, list[str]] | None = None
) -> AdaptPlan:
    """Fill `plan` (edits, overrides, rows) from the files of the main source."""
    texts: dict[str, str] = {}
    originals: dict[str, str] = {}
    plan.edits, plan.overrides, plan.rows, plan.factors = {}, {}, [], {}
    batches: dict[str, tuple[AdaptKey, str, str]] = {}  # key -> (the applied key, authors' value, new value)
    for key in plan.keys:
        first = len(plan.rows)
        why = _why(key, plan.target)
        if key.rule == "accumulate":
            plan.factors[key.key], because = _accumulation(key, plan, batches)
            why = "; ".join(p for p in (why, because) if p)
        if key.format == "cli":
            _cli_key(key, files, read, plan, task_argv or {})
        else:
            _file_key(key, files, read, plan, texts, originals)
        plan.rows[first:] = [replace(r, why=why) for r in plan.rows[first:]]
        found = [r for r in plan.rows[first:] if r.new != "-"]
        if found:
            batches[key.key] = (key, found[0].old, found[0].new)
    plan.edits = {rel: (originals[rel], texts[rel]) for rel in sorted(texts) if texts[rel] != originals[rel]}
    return plan


class _CommitFiles:
    """Files and contents at the pinned commit (the authors' values), read with two git calls whatever their
    number: `ls-tree` (which also fails when the path is no repository or the commit is missing), then one
    `cat-file --batch` for the files the keys select."""

    def __init__(self, path: Path, commit: str, names: list[str]) -> None:
        self.path, self.commit, self.names = path, commit, names
        self.contents: dict[str, str | None] = {}

    @classmethod
    def open(cls, path: Path, commit: str) -> _CommitFiles | None:
        if not path.is_dir():
            return None
        listed = gitcli.run(["ls-tree", "-r", "-z", "--name-only", f"{commit}^{{commit}}"], cwd=path)
        if not listed.ok:
            return None
        return cls(path, commit, [n for n in listed.stdout.split("\0") if n])

    def prefetch(self, rels: list[str]) -> None:
        wanted = [r for r in dict.fromkeys(rels) if r not in self.contents]
        if not wanted:
            return
        if any("\n" in r for r in wanted):  # cat-file reads one name per line
            self.contents.update((r, None) for r in wanted)
            return
        done = gitcli.git_bytes(
            ["cat-file", "--batch"],
            cwd=self.path,
            input="".join(f"{self.commit}:{r}\n" for r in wanted).encode("utf-8"),
        )
        self.contents.update(zip(wanted, _batch_texts(done.stdout, len(wanted)), strict=True))

    def read(self, rel: str) -> str | None:
        if rel not in self.contents:
            self.prefetch([rel])
        return self.contents.get(rel)


def _batch_texts(data: bytes, count: int) -> list[str | None]:
    """The texts in `git cat-file --batch` output, in order (None: missing, or not a file)."""
    out: list[str | None] = []
    pos = 0
    for _ in range(count):
        end = data.find(b"\n", pos)
        if end == -1:
            out.append(None)
            continue
        header = data[pos:end].split()
        pos = end + 1
        if len(header) != 3 or not header[2].isdigit():  # "<name> missing", "<name> ambiguous"
            out.append(None)
            continue
        size = int(header[2])
        body = data[pos : pos + size]
        pos += size + 1  # a newline follows each object
        # As a text-mode pipe reads it (what `git show` gave before): universal newlines.
        text = body.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
        out.append(text if header[1] == b"blob" else None)
    return out


def _plan_key(recipe: Any, target: Target, task_argv: dict[str, list[str]]) -> str:
    main = recipe.sources[0]
    return memo.key_of(
        "adapt",
        memo.code_identity(__file__),
        memo.code_identity(globs.__file__),
        recipe.adapt.model_dump(mode="json"),
        [target.profile, target.torch, target.python, target.cuda, target.gpus, target.gpu_memory_gb],
        main.name,
        main.pin,
        task_argv,
    )


def plan_adaptation(loaded: LoadedRecipe, target: Target, ws: Workspace | None = None) -> AdaptPlan:
    """The adaptation for target.gpus; file values are read at the pinned commit when the workspace has it.

    The files at a pinned commit never change, so a plan made from them is remembered (user cache, keyed by the
    commit, the adapt block, the target and this code): a no-op `up` reads and parses no config file.
    """
    recipe = loaded.recipe
    if recipe.adapt is None or target.gpus is None:
        raise PatchError(f"recipe {recipe.name} has no adapt block" if recipe.adapt is None else "no GPU count given")
    main = recipe.sources[0]
    plan = AdaptPlan(target.gpus, recipe.adapt.reference_gpus, main.name, recipe.adapt, target)
    task_argv = {name: list(task.argv) for name, task in recipe.tasks.items()}
    key = _plan_key(recipe, target, task_argv) if ws is not None else None
    if ws is not None and key is not None and (ws.source_dir(main.name) / ".git").exists():
        known = memo.get("adapt", key)
        try:
            plan.edits = {rel: (str(old), str(new)) for rel, (old, new) in known["edits"].items()}
            plan.overrides = {task: [str(a) for a in argv] for task, argv in known["overrides"].items()}
            plan.rows = [AdaptRow(*map(str, row)) for row in known["rows"]]
            return plan
        except (KeyError, TypeError, ValueError, AttributeError):  # a miss, or an entry that is not a plan
            plan.edits, plan.overrides, plan.rows = {}, {}, []
    found = (
        _CommitFiles.open(ws.source_dir(main.name), pinned_commit(main, ws.source_dir(main.name)))
        if ws is not None
        else None
    )
    if found is None:
        return compute(plan, [], lambda _rel: None, task_argv)
    found.prefetch([rel for k in recipe.adapt.keys for rel in select(found.names, k.files)])
    compute(plan, found.names, found.read, task_argv)
    if key is not None:
        rows = [[r.key, r.where, r.old, r.new, r.rule, r.why] for r in plan.rows]
        memo.put("adapt", key, {"edits": plan.edits, "overrides": plan.overrides, "rows": rows})
    return plan


def adapt_changes(plan: AdaptPlan, root: Path, tracked: list[str]) -> dict[str, tuple[str, str]]:
    """The adapt edits against the tree as it is now (after the recipe's patches)."""

    def read(rel: str) -> str | None:
        try:
            return (root / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    fresh = AdaptPlan(plan.gpus, plan.reference_gpus, plan.source, plan.adapt, plan.target)
    return compute(fresh, tracked, read).edits


__all__ = [
    "AdaptPlan",
    "AdaptRow",
    "adapt_changes",
    "adapt_hash",
    "applicable_keys",
    "compute",
    "format_float",
    "new_value",
    "plan_adaptation",
]
