"""Python rules that need more than a (find, replace) pair but no syntax tree: import-line rewrites driven by
name tables (data/*.yaml), call rewrites located by balanced parentheses, and module-level helper insertion."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from legacyrun.patching.catalog.model import TargetVersions
from legacyrun.patching.catalog.registry import transform
from legacyrun.patching.catalog.tables import table
from legacyrun.patching.catalog.textops import call_args, ensure_python_import, insert_module_code

# `from M import a, b as c` on one line, or parenthesised over several; group 1 indent, 2 module, 3 names.
_FROM = r"^([ \t]*)from[ \t]+({mod})[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*?)[ \t]*(?:#[^\n]*)?$"


def _names(raw: str) -> list[tuple[str, str]]:
    """`a, b as c` -> [(a, a), (b, c)]."""
    out = []
    for part in raw.strip().strip("()").replace("\\\n", " ").split(","):
        part = " ".join(part.split())
        if not part:
            continue
        name, _, alias = part.partition(" as ")
        out.append((name.strip(), (alias or name).strip()))
    return out


def _join(names: list[tuple[str, str]]) -> str:
    return ", ".join(n if n == a else f"{n} as {a}" for n, a in names)


# ---- py-torch-six -----------------------------------------------------------------------------------------------


def _six_imports() -> dict[str, str | list[str]]:
    imports: dict[str, str | list[str]] = table("torch_six")["imports"]
    return imports


def _six_attrs() -> dict[str, str]:
    attrs: dict[str, str] = table("torch_six")["attributes"]
    return attrs


def _six_line(name: str, alias: str) -> str:
    """The line that binds `alias` to what `from torch._six import name` bound."""
    line = _six_imports()[name]
    if not isinstance(line, str):
        line = line[0] if alias == name else line[1]
    return line.format(alias=alias)


@functools.cache
def _six_attr_re() -> re.Pattern[str]:
    return re.compile(r"\btorch\._six\.(" + "|".join(_six_attrs()) + r")\b")


_SIX_FROM = re.compile(_FROM.format(mod=r"torch\._six"), re.MULTILINE)


def six_site_fixable(text: str, start: int, line: str) -> bool:
    m = _SIX_FROM.match(line)
    if m:
        return all(n in _six_imports() for n, _ in _names(m.group(3)))
    return bool(_six_attr_re().search(line))


@transform("torch_six", site_check=six_site_fixable)
def torch_six(text: str, target: TargetVersions | None) -> str:
    def from_line(m: re.Match[str]) -> str:
        names = _names(m.group(3))
        if not all(n in _six_imports() for n, _ in names):
            return m.group(0)
        lines = [_six_line(n, a) for n, a in names]
        return "\n".join(m.group(1) + ln for ln in lines if ln) or f"{m.group(1)}pass"

    text = _SIX_FROM.sub(from_line, text)
    used: set[str] = set()

    def attr(m: re.Match[str]) -> str:
        used.add(m.group(1))
        return _six_attrs()[m.group(1)]

    text = _six_attr_re().sub(attr, text)
    if "container_abcs" in used:
        text = ensure_python_import(text, "import collections.abc")
    if used & {"inf", "nan"}:
        text = ensure_python_import(text, "import math")
    return text


# ---- py-dataloader-private-imports ------------------------------------------------------------------------------


def _dl_consts() -> dict[str, str]:
    consts: dict[str, str] = table("dataloader_private")["constants"]
    return consts


_DL_FROM = re.compile(_FROM.format(mod=r"torch\.utils\.data\.dataloader"), re.MULTILINE)


@transform("dataloader_private")
def dataloader_private(text: str, target: TargetVersions | None) -> str:
    needs_torch = False

    def from_line(m: re.Match[str]) -> str:
        nonlocal needs_torch
        names = _names(m.group(3))
        consts = _dl_consts()
        keep = [(n, a) for n, a in names if n not in consts]
        moved = [(n, a) for n, a in names if n in consts]
        if not moved:
            return m.group(0)
        ind = m.group(1)
        out = [f"{ind}from torch.utils.data.dataloader import {_join(keep)}"] if keep else []
        out += [f"{ind}{a} = {consts[n]}" for n, a in moved]
        needs_torch = needs_torch or any(n == "numpy_type_map" for n, _ in moved)
        return "\n".join(out)

    text = _DL_FROM.sub(from_line, text)
    return ensure_python_import(text, "import torch") if needs_torch else text


# ---- py-download-url-to-file ------------------------------------------------------------------------------------

_HUB_FROM = re.compile(_FROM.format(mod=r"torch\.hub|torch\.utils\.model_zoo"), re.MULTILINE)


@transform("download_url")
def download_url(text: str, target: TargetVersions | None) -> str:
    def from_line(m: re.Match[str]) -> str:
        names = _names(m.group(3))
        ind, mod = m.group(1), m.group(2)
        keep, hub, urllib = [], [], []
        for n, a in names:
            if n == "_download_url_to_file":
                hub.append(("download_url_to_file", a))
            elif n == "urlparse":
                urllib.append((n, a))
            elif n == "HASH_REGEX" and mod != "torch.hub":
                hub.append((n, a))
            else:
                keep.append((n, a))
        if not hub and not urllib:
            return m.group(0)
        out = []
        if mod == "torch.hub":
            keep, hub = keep + hub, []
        if keep:
            out.append(f"{ind}from {mod} import {_join(keep)}")
        if hub:
            out.append(f"{ind}from torch.hub import {_join(hub)}")
        if urllib:
            out.append(f"{ind}from urllib.parse import {_join(urllib)}")
        return "\n".join(out)

    return _HUB_FROM.sub(from_line, text)


# ---- torchvision ------------------------------------------------------------------------------------------------

_TV_INTERP = re.compile(
    r"\btransforms\.(?:Resize|RandomResizedCrop|RandomRotation|RandomAffine|Scale)\([^)]*\b((?:Image|PIL\.Image)\.(NEAREST|BILINEAR|BICUBIC|LANCZOS|ANTIALIAS))\b"
)


@transform("tv_interpolation")
def tv_interpolation(text: str, target: TargetVersions | None) -> str:
    for _ in range(10_000):
        m = _TV_INTERP.search(text)
        if not m:
            break
        mode = "LANCZOS" if m.group(2) == "ANTIALIAS" else m.group(2)
        text = f"{text[: m.start(1)]}transforms.InterpolationMode.{mode}{text[m.end(1) :]}"
    return text


def _weights() -> dict[str, str]:
    weights: dict[str, str] = table("tv_pretrained")["weights"]
    return weights


@functools.cache
def _tv_pretrained_re() -> re.Pattern[str]:
    return re.compile(
        r"\b(models)\.("
        + "|".join(sorted(_weights(), key=len, reverse=True))
        + r")\(([^)]*?)\bpretrained(\s*)=(\s*)(True|False)\b"
    )


@transform("tv_pretrained")
def tv_pretrained(text: str, target: TargetVersions | None) -> str:
    def sub(m: re.Match[str]) -> str:
        # IMAGENET1K_V1 are the weights `pretrained=True` loaded; DEFAULT may pick V2 with other numerics.
        value = f"models.{_weights()[m.group(2)]}.IMAGENET1K_V1" if m.group(6) == "True" else "None"
        return f"{m.group(1)}.{m.group(2)}({m.group(3)}weights{m.group(4)}={m.group(5)}{value}"

    return _tv_pretrained_re().sub(sub, text)


# ---- py-version-string-parse ------------------------------------------------------------------------------------


def _version_tuple(mod: str, n: int) -> str:
    # Digits only per component: '1.10.0a0+git' compares as (1, 10, 0), never as the float 1.1.
    return (
        f"tuple(int(''.join(filter(str.isdigit, _v)) or 0) for _v in {mod}.__version__.split('+')[0].split('.')[:{n}])"
    )


_VER_FLOAT = re.compile(
    r"float\(\s*(torch|torchvision)\.__version__\s*\[[^\]]*\]\s*\)\s*(<=|>=|<|>|==)\s*(\d+)\.(\d+)\b(?!\.)"
)
_VER_STR = re.compile(r"\b(torch|torchvision)\.__version__\s*(<=|>=|<|>|==)\s*(['\"])(\d+(?:\.\d+){1,2})\3")


@transform("version_parse")
def version_parse(text: str, target: TargetVersions | None) -> str:
    text = _VER_FLOAT.sub(lambda m: f"{_version_tuple(m.group(1), 2)} {m.group(2)} ({m.group(3)}, {m.group(4)})", text)

    def sub_str(m: re.Match[str]) -> str:
        parts = m.group(4).split(".")
        return f"{_version_tuple(m.group(1), len(parts))} {m.group(2)} ({', '.join(parts)})"

    return _VER_STR.sub(sub_str, text)


# ---- numpy ------------------------------------------------------------------------------------------------------


@functools.cache
def _np2_re() -> re.Pattern[str]:
    names = sorted(table("numpy2_members")["replacements"], key=len, reverse=True)
    return re.compile(r"\b(np|numpy)\.(" + "|".join(names) + r")\b(?!\s*=(?!=))")


@transform("numpy2_members")
def numpy2_members(text: str, target: TargetVersions | None) -> str:
    replacements: dict[str, str] = table("numpy2_members")["replacements"]
    return _np2_re().sub(lambda m: replacements[m.group(2)].format(mod=m.group(1)), text)


def _rewrite_calls(text: str, pattern: re.Pattern[str], build: Callable[[re.Match[str], list[str]], str | None]) -> str:
    """Replace each `pattern(...)` call (pattern ends at the '(') by build(match, argument texts)."""
    out: list[str] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() < pos:
            continue
        parsed = call_args(text, m.end() - 1)
        if parsed is None:
            continue
        spans, close = parsed
        new = build(m, [text[s:e] for s, e in spans])
        if new is None:
            continue
        out.append(text[pos : m.start()])
        out.append(new)
        pos = close + 1
    out.append(text[pos:])
    return "".join(out)


_ASSCALAR = re.compile(r"\b(np|numpy)\.asscalar\s*\(")


@transform("numpy_asscalar")
def numpy_asscalar(text: str, target: TargetVersions | None) -> str:
    def build(m: re.Match[str], args: list[str]) -> str | None:
        return f"{m.group(1)}.asarray({args[0]}).item()" if len(args) == 1 else None

    return _rewrite_calls(text, _ASSCALAR, build)


# ---- scipy / skimage / sklearn / cv2 -----------------------------------------------------------------------------


def _scipy_special() -> list[str]:
    names: list[str] = table("scipy_math")["special"]
    return names


@functools.cache
def _scipy_attr_re() -> re.Pattern[str]:
    return re.compile(r"\bscipy\.misc\.(" + "|".join(_scipy_special()) + r")\b")


_SCIPY_FROM = re.compile(_FROM.format(mod=r"scipy\.misc"), re.MULTILINE)


def scipy_site_fixable(text: str, start: int, line: str) -> bool:
    m = _SCIPY_FROM.match(line)
    if m:
        return all(n in _scipy_special() for n, _ in _names(m.group(3)))
    return bool(_scipy_attr_re().search(line))


@transform("scipy_math", site_check=scipy_site_fixable)
def scipy_math(text: str, target: TargetVersions | None) -> str:
    def from_line(m: re.Match[str]) -> str:
        names = _names(m.group(3))
        if not all(n in _scipy_special() for n, _ in names):
            return m.group(0)
        return f"{m.group(1)}from scipy.special import {_join(names)}"

    text = _SCIPY_FROM.sub(from_line, text)
    new = _scipy_attr_re().sub(r"scipy.special.\1", text)
    return ensure_python_import(new, "import scipy.special") if new != text else text


def _skimage() -> dict[str, str]:
    metrics: dict[str, str] = table("skimage_metrics")["metrics"]
    return metrics


_SKIMAGE_FROM = re.compile(_FROM.format(mod=r"skimage\.measure"), re.MULTILINE)


@transform("skimage_metrics")
def skimage_metrics(text: str, target: TargetVersions | None) -> str:
    def from_line(m: re.Match[str]) -> str:
        names = _names(m.group(3))
        metrics = _skimage()
        if not names or any(n not in metrics or n != a for n, a in names):
            return m.group(0)
        return f"{m.group(1)}from skimage.metrics import " + ", ".join(f"{metrics[n]} as {n}" for n, _ in names)

    return _SKIMAGE_FROM.sub(from_line, text)


_SKLEARN_LINE = re.compile(
    r"^([ \t]*)from[ \t]+sklearn\.utils\.linear_assignment_[ \t]+import[ \t]+linear_assignment[ \t]*(?:#[^\n]*)?$",
    re.MULTILINE,
)
_SKLEARN_SHIM = """from scipy.optimize import linear_sum_assignment as _lr_linear_sum_assignment


def linear_assignment(cost):
    # legacyrun py-sklearn-linear-assignment: the removed sklearn helper, as (N, 2) row/column index pairs.
    import numpy as _lr_np

    rows, cols = _lr_linear_sum_assignment(cost)
    return _lr_np.stack([rows, cols], axis=1)"""


@transform("sklearn_assignment")
def sklearn_assignment(text: str, target: TargetVersions | None) -> str:
    def sub(m: re.Match[str]) -> str:
        ind = m.group(1)
        return "\n".join(ind + ln if ln else "" for ln in _SKLEARN_SHIM.split("\n"))

    return _SKLEARN_LINE.sub(sub, text)


_FIND_CONTOURS = re.compile(
    r"^([ \t]*)\(?[ \t]*_[ \t]*,[ \t]*(\w+)[ \t]*,[ \t]*(\w+)[ \t]*\)?[ \t]*=[ \t]*(cv2\.findContours)\(", re.MULTILINE
)


@transform("cv2_contours")
def cv2_contours(text: str, target: TargetVersions | None) -> str:
    def build(m: re.Match[str], args: list[str]) -> str:
        return f"{m.group(1)}{m.group(2)}, {m.group(3)} = {m.group(4)}({', '.join(args)})[-2:]"

    return _rewrite_calls(text, _FIND_CONTOURS, build)


# ---- py-collections-abc -----------------------------------------------------------------------------------------

_COLL_FROM = re.compile(_FROM.format(mod="collections"), re.MULTILINE)


@functools.cache
def _coll_attr_re() -> re.Pattern[str]:
    return re.compile(r"\bcollections\.(" + "|".join(table("collections_abc")["attributes"]) + r")\b")


@transform("collections_abc")
def collections_abc(text: str, target: TargetVersions | None) -> str:
    def from_line(m: re.Match[str]) -> str:
        names = _names(m.group(3))
        abc_names = table("collections_abc")["names"]
        abc = [(n, a) for n, a in names if n in abc_names]
        if not abc:
            return m.group(0)
        rest = [(n, a) for n, a in names if n not in abc_names]
        ind = m.group(1)
        out = [f"{ind}from collections import {_join(rest)}"] if rest else []
        out.append(f"{ind}from collections.abc import {_join(abc)}")
        return "\n".join(out)

    text = _COLL_FROM.sub(from_line, text)
    new = _coll_attr_re().sub(r"collections.abc.\1", text)
    return ensure_python_import(new, "import collections.abc") if new != text else text


# ---- py-torch-bool-reverse --------------------------------------------------------------------------------------

_MASK_DTYPE_DEF = (
    "# legacyrun py-torch-bool-reverse: torch < 1.2 has no bool dtype; uint8 masks stand in (~m is bitwise there).\n"
    "_LR_MASK_DTYPE = getattr(torch, 'bool', torch.uint8)\n"
)


@transform("torch_bool_reverse")
def torch_bool_reverse(text: str, target: TargetVersions | None) -> str:
    new = re.sub(r"\.bool\(\)", ".to(_LR_MASK_DTYPE)", text)
    new = re.sub(r"\btorch\.bool\b", "_LR_MASK_DTYPE", new)
    if new == text:
        return text
    new = ensure_python_import(new, "import torch")
    if not re.search(r"^_LR_MASK_DTYPE\s*=", new, re.MULTILINE):
        new = insert_module_code(new, _MASK_DTYPE_DEF)
    return new


# ---- py-yaml-load-loader ----------------------------------------------------------------------------------------

_YAML_LOAD = re.compile(r"\byaml\.(?:load|load_all)\(\s*[^,()]+(?:\([^()]*\))?\s*\)")


@transform("yaml_loader")
def yaml_loader(text: str, target: TargetVersions | None) -> str:
    return _YAML_LOAD.sub(lambda m: m.group(0)[:-1].rstrip() + ", Loader=yaml.FullLoader)", text)


# ---- py-scalar-first-overloads (scan side; the rewrite is a codemod) -------------------------------------------

SCALAR_HINT = re.compile(
    r"^\s*(?:-\s*)?(?:\d[\d.eE+-]*|[\w.]*\[\s*['\"]\w+['\"]\s*\]|"
    r"[\w.]*\b(?:lr|alpha|beta\d?|step_size|weight_decay|decay|momentum|eps|scale|coef\w*|rate|gamma|lambda_?\w*|lam|mu)\b"
    r"|1\s*-\s*[\w.\[\]'\"]+)\s*$"
)


def scalar_first_site_fixable(text: str, start: int, line: str) -> bool:
    m = re.compile(r"\.(?:add_?|sub_?|addcmul_?|addcdiv_?)\(\s*([^,()=]+),").search(text, start)
    return bool(m and m.start() == start and SCALAR_HINT.match(m.group(1)))


def enclosing_call(text: str, pos: int) -> str | None:
    """The dotted name of the call whose argument list contains `pos` (strings and comments not parsed)."""
    depth = 0
    i = pos - 1
    while i >= 0:
        c = text[i]
        if c in ")]}":
            depth += 1
        elif c in "([{":
            if depth == 0:
                if c != "(":
                    return None
                m = re.search(r"([A-Za-z_][\w.]*)\s*$", text[max(0, i - 200) : i])
                return m.group(1) if m else None
            depth -= 1
        i -= 1
    return None


@functools.cache
def loss_call() -> re.Pattern[str]:
    """Calls of the torch losses that take `size_average=`/`reduce=` (as their dotted names)."""
    losses = table("torch_losses")
    return re.compile(
        r"(?:(?:torch\.)?nn\.)?(?:" + "|".join(losses["modules"]) + ")"
        r"|(?:F|functional|nn\.functional|torch\.nn\.functional)\.(?:" + "|".join(losses["functional"]) + ")"
    )


def loss_site_fixable(text: str, start: int, line: str) -> bool:
    """`size_average=`/`reduce=` inside a torch loss call (other APIs have their own `reduce=`)."""
    return bool(loss_call().fullmatch(enclosing_call(text, start) or ""))


__all__ = [
    "SCALAR_HINT",
    "enclosing_call",
    "loss_call",
    "loss_site_fixable",
    "scalar_first_site_fixable",
    "scipy_site_fixable",
    "six_site_fixable",
]
