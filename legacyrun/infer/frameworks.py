"""What a yacs-config framework (detectron2, maskrcnn_benchmark) tells the scaffold about a project's tasks.

A task's config file (its `--config-file`, or the one its launch script passes) is read with its `_BASE_` chain,
line by line rather than as YAML (detectron2 configs use `!!python/object/apply:eval` tags). From it come:
- the datasets the task trains on (DATASETS.TRAIN), as recipe datasets from legacyrun's table, and where the
  framework looks for them (detectron2's DETECTRON2_DATASETS; maskrcnn_benchmark's DATA_DIR, made to follow the
  environment by a patch);
- the per-GPU values that follow the GPU count (SOLVER.IMS_PER_BATCH and SOLVER.BASE_LR scaled linearly from the
  config's own values, DATALOADER.NUM_WORKERS set), as adapt keys;
- the task's `smoke:` section: the generator that fits its training data and the framework's arguments that make
  the run 2 iterations on tiny images. When no generator fits the documented config, a sibling config (same
  script, most leading name parts in common) whose data one fits is trained instead, and the smoke args say so.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from legacyrun.infer.datasets import (
    DocMention,
    KnownDataset,
    doc_mentions,
    for_config_name,
    known_datasets,
    recipe_entry,
)

_DATA = Path(__file__).parent / "data" / "frameworks.yaml"
_KEY_LINE = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*?)\s*$")


@dataclass(frozen=True)
class Framework:
    name: str
    raw: dict[str, Any]

    @property
    def config_args(self) -> list[str]:
        return list(self.raw.get("config_args", ["--config-file"]))


@cache
def frameworks() -> tuple[Framework, ...]:
    import yaml

    return tuple(Framework(r["name"], r) for r in yaml.safe_load(_DATA.read_text(encoding="utf-8")))


def detect(root: Path, dependencies: set[str]) -> Framework | None:
    """The framework the project builds on: a dependent repository of that name, or the package in the tree."""
    for fw in frameworks():
        det = fw.raw["detect"]
        if det.get("dependency") in dependencies or any((root / d).is_dir() for d in det.get("dirs", [])):
            return fw
    return None


# --- yacs configs ---------------------------------------------------------------------------------------------


@dataclass
class ConfigValue:
    value: str
    where: str  # FILE:LINE


def read_config(root: Path, rel: str, _depth: int = 0) -> dict[str, ConfigValue]:
    """Dotted key -> raw value of a yacs YAML file and its `_BASE_` chain (later files win)."""
    path = root / rel
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    out: dict[str, ConfigValue] = {}
    stack: list[tuple[int, str]] = []
    base: str | None = None
    for no, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith(("#", "-")):
            continue
        m = _KEY_LINE.match(line.split(" #", 1)[0])
        if not m:
            continue
        indent, key, value = len(m.group(1)), m.group(2), m.group(3).strip().strip("'\"")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = ".".join([k for _, k in stack] + [key])
        if value:
            if dotted == "_BASE_":
                base = value
            else:
                out[dotted] = ConfigValue(value, f"{rel}:{no}")
        else:
            stack.append((indent, key))
    if base and _depth < 8:
        merged = read_config(root, posixpath.normpath(posixpath.join(posixpath.dirname(rel), base)), _depth + 1)
        merged.update(out)
        return merged
    return out


def dataset_names(value: str) -> list[str]:
    """('a', "b",) -> [a, b]."""
    return re.findall(r"[A-Za-z0-9_.-]+", value)


def task_config(root: Path, argv: list[str], fw: Framework) -> str | None:
    """The config file a task trains with: its config option, or the one its launch script passes."""
    for i, tok in enumerate(argv[:-1]):
        if tok in fw.config_args:
            return argv[i + 1]
    script = next((a for a in argv if a.endswith(".sh")), None)
    if script:
        try:
            text = (root / script).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            m = re.search(r"(?:" + "|".join(map(re.escape, fw.config_args)) + r")[= ]\s*(\S+\.ya?ml)", line)
            if m:
                return m.group(1)
    return None


# --- the plan -------------------------------------------------------------------------------------------------


@dataclass
class TrainingPlan:
    """What the scaffold adds to the recipe: datasets, adapt keys, patches (task env/datasets/smoke are set on the
    task dicts in place)."""

    framework: str | None = None
    datasets: list[dict[str, Any]] = field(default_factory=list)
    adapt_keys: list[dict[str, Any]] = field(default_factory=list)
    patches: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)


def _number(value: str) -> int | float | None:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return None


def _fill(args: list[str], size: int) -> list[str]:
    return [a.replace("{size2}", str(2 * size)).replace("{size}", str(size)) for a in args]


def _smoke_fit(cfg: dict[str, ConfigValue]) -> tuple[KnownDataset, str] | None:
    """(dataset, generator) when every training dataset of the config is one generator fits."""
    train = cfg.get("DATASETS.TRAIN")
    names = dataset_names(train.value) if train else []
    if not names:
        return None
    known = [for_config_name(n) for n in names]
    if any(k is None or not k.smoke_fits(n) for k, n in zip(known, names, strict=True)):
        return None
    first = known[0]
    assert first is not None and first.smoke is not None
    return first, first.smoke["generator"]


def _sibling_config(root: Path, config: str) -> tuple[str, dict[str, ConfigValue]] | None:
    """A config beside the documented one (under the same top folder) whose training data a generator fits, the
    one sharing the most leading name parts (maskformer2_R50_bs16_50ep -> maskformer2_R50_bs16_160k)."""
    top = root / Path(config).parts[0]
    if not top.is_dir():
        return None
    parts = Path(config).stem.split("_")
    best: tuple[int, int, int, str, dict[str, ConfigValue]] | None = None
    for path in sorted(top.rglob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        if path.name.startswith("Base") or rel == config:
            continue
        cfg = read_config(root, rel)
        fit = _smoke_fit(cfg)
        if fit is None:
            continue
        other = path.stem.split("_")
        common = next(
            (i for i, (a, b) in enumerate(zip(parts, other, strict=False)) if a != b), min(len(parts), len(other))
        )
        rank = (-int(fit[0].smoke.get("rank", 9) if fit[0].smoke else 9), common, -len(rel), rel, cfg)
        if best is None or rank[:3] > best[:3]:
            best = rank
    return (best[3], best[4]) if best else None


def plan_training(
    root: Path,
    docs: list[Path],
    source: str,
    tasks: dict[str, dict[str, Any]],
    dependencies: set[str],
    reference_gpus: int | None,
) -> TrainingPlan:
    plan = TrainingPlan()
    mentions = doc_mentions(root, docs)
    fw = detect(root, dependencies)
    used: dict[str, tuple[KnownDataset, list[str]]] = {}
    if fw is not None:
        plan.framework = fw.name
        _plan_framework(plan, fw, root, source, tasks, reference_gpus, used)
    # the real datasets: those the tasks' configs train on, then the others the docs describe (optional)
    data_root = f"data/{fw.raw['data_root']['dir']}" if fw is not None else "data"
    listed: set[str] = set()
    for ds_id, (ds, users) in used.items():
        plan.datasets.append(recipe_entry(ds, f"{data_root}/{ds.dir}", mentions.get(ds_id), optional=False,
                                          used_by=users))  # fmt: skip
        listed.add(ds_id)
    for ds in known_datasets():
        if ds.id in mentions and ds.id not in listed:
            plan.datasets.append(recipe_entry(ds, f"{data_root}/{ds.dir}", mentions[ds.id], optional=True, used_by=[]))
            listed.add(ds.id)
    if listed:
        plan.notes.append(
            "datasets from the configs and docs: "
            + ", ".join(f"{d['name']} ({d['kind']})" for d in plan.datasets)
            + "; URLs and layouts from legacyrun's dataset table"
        )
    if fw is None and "train" in tasks:
        _plan_plain(plan, root, tasks["train"], mentions)
    return plan


def _plan_framework(
    plan: TrainingPlan,
    fw: Framework,
    root: Path,
    source: str,
    tasks: dict[str, dict[str, Any]],
    reference_gpus: int | None,
    used: dict[str, tuple[KnownDataset, list[str]]],
) -> None:
    _data_root_patch(plan, fw, root, source)
    found: dict[str, list[tuple[str, ConfigValue]]] = {}  # adapt key -> (task, its value in the task's config)
    for name, task in tasks.items():
        config = task_config(root, task["argv"], fw)
        if config is None or not (root / config).is_file():
            continue
        cfg = read_config(root, config)
        _task_datasets(plan, fw, name, task, cfg, used)
        if not (name == "train" or name.startswith(("train", "finetune", "pretrain"))):
            continue
        for spec in fw.raw["adapt"]:
            if spec["key"] in cfg:
                found.setdefault(spec["key"], []).append((name, cfg[spec["key"]]))
        smoke = _smoke(fw, root, source, name, task, config, cfg, plan)
        if smoke:
            task["smoke"] = smoke
    if reference_gpus is None:
        if found:
            plan.notes.append("adapt: the configs' batch and learning rate are not scaled (no reference GPU count)")
        return
    for spec in fw.raw["adapt"]:
        plan.adapt_keys.extend(_adapt_entries(spec, fw.raw["keys_format"], found.get(spec["key"], [])))
    for key, files in sorted(_syncbn_files(root, tasks, fw).items()):
        plan.adapt_keys.append(
            {
                "key": key,
                "format": "yaml",
                "files": files,
                "rule": "syncbn",
                "reference": "SyncBN",
                "why": "nn.SyncBatchNorm needs a process group, which one process without a launcher does not create",
            }
        )


def _data_root_patch(plan: TrainingPlan, fw: Framework, root: Path, source: str) -> None:
    droot = fw.raw["data_root"]
    patch = droot.get("patch")
    if not patch or not (root / patch["file"]).is_file():
        return
    text = _text(root / patch["file"])
    if re.search(patch["find"], text, re.M) and patch.get("needs", "") in text:
        plan.patches.append(
            {
                "id": "data-dir",
                "kind": "regex",
                "source": source,
                "files": [patch["file"]],
                "find": patch["find"],
                "replace": patch["replace"],
                "count": 1,
                "why": f"{fw.name} reads datasets from a fixed folder; {droot['env']} points it at the workspace",
            }
        )


def _task_datasets(
    plan: TrainingPlan,
    fw: Framework,
    name: str,
    task: dict[str, Any],
    cfg: dict[str, ConfigValue],
    used: dict[str, tuple[KnownDataset, list[str]]],
) -> None:
    """The task's real datasets (DATASETS.TRAIN of its config) and the data root the framework reads them from."""
    train = cfg.get("DATASETS.TRAIN")
    if train is None:
        return
    ids: set[str] = set()
    for n in dataset_names(train.value):
        ds = for_config_name(n)
        if ds is None:
            plan.todos.append(f"{train.where}: dataset {n!r} is not in legacyrun's table; add it under datasets:")
            continue
        ids.add(ds.id)
        users = used.setdefault(ds.id, (ds, []))[1]
        if name not in users:
            users.append(name)
    droot = fw.raw["data_root"]
    task["env"] = {droot["env"]: f"{{workspace}}/data/{droot['dir']}"}
    if ids:
        task["datasets"] = sorted(ids)


def _adapt_entries(spec: dict[str, Any], fmt: str, found: list[tuple[str, ConfigValue]]) -> list[dict[str, Any]]:
    """cli: one key per reference value (the config's own), naming its tasks; yaml: one key over the files that
    set it (the adapter reads the value there)."""
    out: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    if spec["rule"] == "set":
        extra["value"] = spec["value"]
    if "min" in spec:
        extra["min"] = spec["min"]
    if fmt == "cli":
        by_value: dict[str, list[str]] = {}
        for task, val in found:
            by_value.setdefault(val.value, []).append(task)
        for value, names in sorted(by_value.items()):
            num = _number(value)
            if num is not None:
                out.append({"key": spec["key"], "format": "cli", "tasks": sorted(names), "rule": spec["rule"],
                            "reference": num, **extra, "why": spec["why"]})  # fmt: skip
    elif found:
        files = sorted({val.where.rsplit(":", 1)[0] for _, val in found})
        out.append({"key": spec["key"], "format": "yaml", "files": files, "rule": spec["rule"], **extra,
                    "why": spec["why"]})  # fmt: skip
    return out


def _syncbn_files(root: Path, tasks: dict[str, dict[str, Any]], fw: Framework) -> dict[str, list[str]]:
    """Dotted key -> config files (under the tasks' config folders) that set it to SyncBN."""
    tops = sorted({Path(c).parts[0] for t in tasks.values() if (c := task_config(root, t["argv"], fw)) and "/" in c})
    out: dict[str, set[str]] = {}
    for top in tops:
        for path in sorted((root / top).rglob("*.yaml")):
            if "SyncBN" not in _text(path):
                continue
            rel = path.relative_to(root).as_posix()
            for key, val in read_config(root, rel).items():
                if val.value == "SyncBN" and val.where.startswith(rel + ":"):
                    out.setdefault(key, set()).add(rel)
    return {k: sorted(v) for k, v in out.items()}


def _smoke(
    fw: Framework,
    root: Path,
    source: str,
    name: str,
    task: dict[str, Any],
    config: str,
    cfg: dict[str, ConfigValue],
    plan: TrainingPlan,
) -> dict[str, Any] | None:
    spec = fw.raw["smoke"]
    env_name, droot_dir = fw.raw["data_root"]["env"], fw.raw["data_root"]["dir"]
    fit = _smoke_fit(cfg)
    flags: list[str] = []
    if fit is None:
        sibling = _sibling_config(root, config)
        if sibling is None:
            plan.todos.append(
                f"{config}:1: no smoke generator fits the data of task {name}; give it a smoke: section by hand"
            )
            return None
        if task["argv"][0] in ("bash", "sh"):
            plan.todos.append(
                f"{config}:1: no smoke generator fits the data of task {name} (its launch script fixes the config)"
            )
            return None
        config, cfg = sibling
        fit = _smoke_fit(cfg)
        assert fit is not None
        flags = [fw.config_args[0], config]
        plan.notes.append(f"smoke of task {name} trains {config}: a generator fits its data")
    ds, generator = fit
    assert ds.smoke is not None
    options = dict(ds.smoke.get("options", {}))
    size = int(options.get("size", 64))
    for opt in spec.get("flags_if_script_has", []):
        script = next((a for a in task["argv"] if a.endswith(".py")), None)
        if script is None:
            script = _launched_script(root, task["argv"])
        if script and opt in _text(root / script):
            flags.append(opt)
    args = list(flags) + list(spec["args"]) + _fill(list(spec["sized"]), size)
    present = spec.get("if_present", [])
    for i in range(0, len(present), 2):
        if present[i] in cfg:
            args += _fill([present[i], present[i + 1]], size)
    if task["argv"][0] in ("bash", "sh") and task["argv"][1].endswith(".sh"):
        _pass_args_patch(plan, root, source, task["argv"][1])
    plan.notes.append(f"smoke of task {name}: {generator} ({ds.id} layout) and {fw.name}'s short-run arguments")
    return {
        "data": [{"generator": generator, "dest": f"{droot_dir}/{ds.dir}", "options": options}],
        "env": {env_name: f"{{smoke}}/{droot_dir}"},
        "args": args,
    }


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _launched_script(root: Path, argv: list[str]) -> str | None:
    script = next((a for a in argv if a.endswith(".sh")), None)
    if script is None:
        return None
    for line in _text(root / script).splitlines():
        if line.lstrip().startswith("#"):
            continue
        m = re.search(r"(\S+\.py)\b", line)
        if m:
            return m.group(1)
    return None


def _pass_args_patch(plan: TrainingPlan, root: Path, source: str, script: str) -> None:
    """A launch script that drops its arguments gets "$@" on its python line, so smoke (and user) args arrive."""
    text = _text(root / script)
    if re.search(r"\"\$@\"|\$@|\$\*", text):
        return
    # (\r?) keeps a CRLF line end where it is: `$` matches before the \n only
    find = r"^([^#\r\n]*\.py\b[^#\r\n]*?)([ \t]*#[^\r\n]*)?(\r?)$"
    if len(re.findall(find, text, re.M)) != 1:
        plan.todos.append(f'{script}:1: pass the script\'s arguments ("$@") to its python command by hand')
        return
    plan.patches.append(
        {
            "id": f"{_slug(Path(script).stem)}-args",
            "kind": "regex",
            "source": source,
            "files": [script],
            "find": find,
            "replace": '\\1 "$@"\\2\\3',
            "count": 1,
            "why": f'{script} drops its arguments (no "$@"), so smoke and user arguments never reached the script',
        }
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-.") or "x"


def _plan_plain(plan: TrainingPlan, root: Path, task: dict[str, Any], mentions: dict[str, DocMention]) -> None:
    """No known framework: absolute data paths in the task's Python config are the decision left (where the data
    goes), and a generator that fits a dataset the docs describe is named in it."""
    config = next((task["argv"][i + 1] for i, t in enumerate(task["argv"][:-1]) if t in ("--config", "--cfg")), None)
    if not config or not config.endswith(".py"):
        return
    hits = [
        (no, m.group(1))
        for no, line in enumerate(_text(root / config).splitlines(), 1)
        if (m := re.match(r"^\s*(\w+)\s*=\s*['\"]/(?:media|home|data|mnt|root|Users)/", line))
    ]
    if not hits:
        return
    gens = [
        f"{ds.smoke['generator']} writes a {ds.id} layout" for ds in known_datasets() if ds.id in mentions and ds.smoke
    ]
    gen = f"; for --smoke, {gens[0]}" if gens else ""
    plan.todos.append(
        f"{config}:{hits[0][0]}: {len(hits)} absolute paths of the authors' machine ("
        + ", ".join(k for _, k in hits)
        + f"); point them at the workspace's data/ and weights/ (a regex patch){gen}"
    )


__all__ = ["ConfigValue", "Framework", "TrainingPlan", "detect", "plan_training", "read_config", "task_config"]
