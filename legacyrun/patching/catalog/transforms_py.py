"""Python rules that need more than a (find, replace) pair but no syntax tree: import-line rewrites driven by
name tables, call rewrites located by balanced parentheses, and module-level helper insertion."""

from __future__ import annotations

import re
from collections.abc import Callable

from legacyrun.patching.catalog.model import TargetVersions
from legacyrun.patching.catalog.textops import call_args, ensure_python_import, insert_module_code

Transform = Callable[[str, TargetVersions | None], str]

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

_SIX_LINES: dict[str, Callable[[str], str]] = {
    "container_abcs": lambda a: f"import collections.abc as {a}",
    "string_classes": lambda a: f"{a} = (str, bytes)",
    "int_classes": lambda a: f"{a} = int",
    "inf": lambda a: "from math import inf" + ("" if a == "inf" else f" as {a}"),
    "nan": lambda a: "from math import nan" + ("" if a == "nan" else f" as {a}"),
    "PY3": lambda a: f"{a} = True",
    "PY37": lambda a: f"{a} = True",
    "queue": lambda a: "import queue" + ("" if a == "queue" else f" as {a}"),
    "FileNotFoundError": lambda a: "" if a == "FileNotFoundError" else f"{a} = FileNotFoundError",
}
_SIX_ATTRS = {
    "string_classes": "(str, bytes)",
    "int_classes": "int",
    "container_abcs": "collections.abc",
    "inf": "math.inf",
    "nan": "math.nan",
}
_SIX_FROM = re.compile(_FROM.format(mod=r"torch\._six"), re.MULTILINE)


def six_site_fixable(text: str, start: int, line: str) -> bool:
    m = _SIX_FROM.match(line)
    if m:
        return all(n in _SIX_LINES for n, _ in _names(m.group(3)))
    return bool(re.search(r"\btorch\._six\.(?:" + "|".join(_SIX_ATTRS) + r")\b", line))


def torch_six(text: str, target: TargetVersions | None) -> str:
    def from_line(m: re.Match[str]) -> str:
        names = _names(m.group(3))
        if not all(n in _SIX_LINES for n, _ in names):
            return m.group(0)
        lines = [_SIX_LINES[n](a) for n, a in names]
        return "\n".join(m.group(1) + ln for ln in lines if ln) or f"{m.group(1)}pass"

    text = _SIX_FROM.sub(from_line, text)
    used: set[str] = set()

    def attr(m: re.Match[str]) -> str:
        used.add(m.group(1))
        return _SIX_ATTRS[m.group(1)]

    text = re.sub(r"\btorch\._six\.(" + "|".join(_SIX_ATTRS) + r")\b", attr, text)
    if "container_abcs" in used:
        text = ensure_python_import(text, "import collections.abc")
    if used & {"inf", "nan"}:
        text = ensure_python_import(text, "import math")
    return text


# ---- py-dataloader-private-imports ------------------------------------------------------------------------------

_NUMPY_TYPE_MAP = (
    "{'float64': torch.DoubleTensor, 'float32': torch.FloatTensor, 'float16': torch.HalfTensor, "
    "'int64': torch.LongTensor, 'int32': torch.IntTensor, 'int16': torch.ShortTensor, "
    "'int8': torch.CharTensor, 'uint8': torch.ByteTensor}"
)
_DL_CONSTS = {"numpy_type_map": _NUMPY_TYPE_MAP, "string_classes": "(str, bytes)", "int_classes": "int"}
_DL_FROM = re.compile(_FROM.format(mod=r"torch\.utils\.data\.dataloader"), re.MULTILINE)


def dataloader_private(text: str, target: TargetVersions | None) -> str:
    needs_torch = False

    def from_line(m: re.Match[str]) -> str:
        nonlocal needs_torch
        names = _names(m.group(3))
        keep = [(n, a) for n, a in names if n not in _DL_CONSTS]
        moved = [(n, a) for n, a in names if n in _DL_CONSTS]
        if not moved:
            return m.group(0)
        ind = m.group(1)
        out = [f"{ind}from torch.utils.data.dataloader import {_join(keep)}"] if keep else []
        out += [f"{ind}{a} = {_DL_CONSTS[n]}" for n, a in moved]
        needs_torch = needs_torch or any(n == "numpy_type_map" for n, _ in moved)
        return "\n".join(out)

    text = _DL_FROM.sub(from_line, text)
    return ensure_python_import(text, "import torch") if needs_torch else text


# ---- py-download-url-to-file ------------------------------------------------------------------------------------

_HUB_FROM = re.compile(_FROM.format(mod=r"torch\.hub|torch\.utils\.model_zoo"), re.MULTILINE)


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


def tv_interpolation(text: str, target: TargetVersions | None) -> str:
    for _ in range(10_000):
        m = _TV_INTERP.search(text)
        if not m:
            break
        mode = "LANCZOS" if m.group(2) == "ANTIALIAS" else m.group(2)
        text = f"{text[: m.start(1)]}transforms.InterpolationMode.{mode}{text[m.end(1) :]}"
    return text


_WEIGHTS = {
    **{f"resnet{n}": f"ResNet{n}_Weights" for n in (18, 34, 50, 101, 152)},
    **{f"vgg{n}": f"VGG{n}_Weights" for n in (11, 13, 16, 19)},
    **{f"vgg{n}_bn": f"VGG{n}_BN_Weights" for n in (11, 13, 16, 19)},
    **{f"densenet{n}": f"DenseNet{n}_Weights" for n in (121, 161, 169, 201)},
    "alexnet": "AlexNet_Weights",
    "mobilenet_v2": "MobileNet_V2_Weights",
    "squeezenet1_0": "SqueezeNet1_0_Weights",
    "squeezenet1_1": "SqueezeNet1_1_Weights",
    "inception_v3": "Inception_V3_Weights",
    "googlenet": "GoogLeNet_Weights",
    "resnext50_32x4d": "ResNeXt50_32X4D_Weights",
    "resnext101_32x8d": "ResNeXt101_32X8D_Weights",
    "wide_resnet50_2": "Wide_ResNet50_2_Weights",
    "wide_resnet101_2": "Wide_ResNet101_2_Weights",
    "shufflenet_v2_x1_0": "ShuffleNet_V2_X1_0_Weights",
    "mnasnet1_0": "MNASNet1_0_Weights",
}
_TV_PRETRAINED = re.compile(
    r"\b(models)\.("
    + "|".join(sorted(_WEIGHTS, key=len, reverse=True))
    + r")\(([^)]*?)\bpretrained(\s*)=(\s*)(True|False)\b"
)


def tv_pretrained(text: str, target: TargetVersions | None) -> str:
    def sub(m: re.Match[str]) -> str:
        # IMAGENET1K_V1 are the weights `pretrained=True` loaded; DEFAULT may pick V2 with other numerics.
        value = f"models.{_WEIGHTS[m.group(2)]}.IMAGENET1K_V1" if m.group(6) == "True" else "None"
        return f"{m.group(1)}.{m.group(2)}({m.group(3)}weights{m.group(4)}={m.group(5)}{value}"

    return _TV_PRETRAINED.sub(sub, text)


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


def version_parse(text: str, target: TargetVersions | None) -> str:
    text = _VER_FLOAT.sub(lambda m: f"{_version_tuple(m.group(1), 2)} {m.group(2)} ({m.group(3)}, {m.group(4)})", text)

    def sub_str(m: re.Match[str]) -> str:
        parts = m.group(4).split(".")
        return f"{_version_tuple(m.group(1), len(parts))} {m.group(2)} ({', '.join(parts)})"

    return _VER_STR.sub(sub_str, text)


# ---- numpy ------------------------------------------------------------------------------------------------------

_NP2 = {
    "NaN": "nan",
    "NAN": "nan",
    "Inf": "inf",
    "Infinity": "inf",
    "infty": "inf",
    "PINF": "inf",
    "PZERO": "0.0",
    "NZERO": "-0.0",
    "float_": "float64",
    "complex_": "complex128",
    "cfloat": "complex128",
    "longfloat": "longdouble",
    "singlecomplex": "complex64",
    "longcomplex": "clongdouble",
    "clongfloat": "clongdouble",
    "string_": "bytes_",
    "unicode_": "str_",
    "round_": "round",
    "product": "prod",
    "cumproduct": "cumprod",
    "sometrue": "any",
    "alltrue": "all",
    "mat": "asmatrix",
    "int0": "intp",
    "uint0": "uintp",
    "bool8": "bool_",
}
_NP2_RE = re.compile(r"\b(np|numpy)\.(NINF|" + "|".join(sorted(_NP2, key=len, reverse=True)) + r")\b(?!\s*=(?!=))")


def numpy2_members(text: str, target: TargetVersions | None) -> str:
    def sub(m: re.Match[str]) -> str:
        mod, name = m.group(1), m.group(2)
        if name == "NINF":
            return f"(-{mod}.inf)"
        new = _NP2[name]
        return f"({new})" if new[0] in "-0" else f"{mod}.{new}"

    return _NP2_RE.sub(sub, text)


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


def numpy_asscalar(text: str, target: TargetVersions | None) -> str:
    def build(m: re.Match[str], args: list[str]) -> str | None:
        return f"{m.group(1)}.asarray({args[0]}).item()" if len(args) == 1 else None

    return _rewrite_calls(text, _ASSCALAR, build)


# ---- scipy / skimage / sklearn / cv2 -----------------------------------------------------------------------------

_SCIPY_SPECIAL = ("comb", "factorial", "factorial2", "factorialk", "logsumexp")
_SCIPY_FROM = re.compile(_FROM.format(mod=r"scipy\.misc"), re.MULTILINE)


def scipy_site_fixable(text: str, start: int, line: str) -> bool:
    m = _SCIPY_FROM.match(line)
    if m:
        return all(n in _SCIPY_SPECIAL for n, _ in _names(m.group(3)))
    return bool(re.search(r"\bscipy\.misc\.(?:" + "|".join(_SCIPY_SPECIAL) + r")\b", line))


def scipy_math(text: str, target: TargetVersions | None) -> str:
    def from_line(m: re.Match[str]) -> str:
        names = _names(m.group(3))
        if not all(n in _SCIPY_SPECIAL for n, _ in names):
            return m.group(0)
        return f"{m.group(1)}from scipy.special import {_join(names)}"

    text = _SCIPY_FROM.sub(from_line, text)
    new = re.sub(r"\bscipy\.misc\.(" + "|".join(_SCIPY_SPECIAL) + r")\b", r"scipy.special.\1", text)
    return ensure_python_import(new, "import scipy.special") if new != text else text


_SKIMAGE = {
    "compare_ssim": "structural_similarity",
    "compare_psnr": "peak_signal_noise_ratio",
    "compare_mse": "mean_squared_error",
    "compare_nrmse": "normalized_root_mse",
}
_SKIMAGE_FROM = re.compile(_FROM.format(mod=r"skimage\.measure"), re.MULTILINE)


def skimage_metrics(text: str, target: TargetVersions | None) -> str:
    def from_line(m: re.Match[str]) -> str:
        names = _names(m.group(3))
        if not names or any(n not in _SKIMAGE or n != a for n, a in names):
            return m.group(0)
        return f"{m.group(1)}from skimage.metrics import " + ", ".join(f"{_SKIMAGE[n]} as {n}" for n, _ in names)

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


def sklearn_assignment(text: str, target: TargetVersions | None) -> str:
    def sub(m: re.Match[str]) -> str:
        ind = m.group(1)
        return "\n".join(ind + ln if ln else "" for ln in _SKLEARN_SHIM.split("\n"))

    return _SKLEARN_LINE.sub(sub, text)


_FIND_CONTOURS = re.compile(
    r"^([ \t]*)\(?[ \t]*_[ \t]*,[ \t]*(\w+)[ \t]*,[ \t]*(\w+)[ \t]*\)?[ \t]*=[ \t]*(cv2\.findContours)\(", re.MULTILINE
)


def cv2_contours(text: str, target: TargetVersions | None) -> str:
    def build(m: re.Match[str], args: list[str]) -> str:
        return f"{m.group(1)}{m.group(2)}, {m.group(3)} = {m.group(4)}({', '.join(args)})[-2:]"

    return _rewrite_calls(text, _FIND_CONTOURS, build)


# ---- py-collections-abc -----------------------------------------------------------------------------------------

_ABC = [
    "Awaitable",
    "Coroutine",
    "AsyncIterable",
    "AsyncIterator",
    "AsyncGenerator",
    "Hashable",
    "Iterable",
    "Iterator",
    "Generator",
    "Reversible",
    "Sized",
    "Container",
    "Callable",
    "Collection",
    "Set",
    "MutableSet",
    "Mapping",
    "MutableMapping",
    "MappingView",
    "KeysView",
    "ItemsView",
    "ValuesView",
    "Sequence",
    "MutableSequence",
    "ByteString",
]
_COLL_FROM = re.compile(_FROM.format(mod="collections"), re.MULTILINE)
_COLL_ATTR = re.compile(
    r"\bcollections\.(Iterable|Mapping|MutableMapping|Sequence|MutableSequence|Callable|Hashable|Sized|Container|Set|MutableSet|Iterator|Generator)\b"
)


def collections_abc(text: str, target: TargetVersions | None) -> str:
    def from_line(m: re.Match[str]) -> str:
        names = _names(m.group(3))
        abc = [(n, a) for n, a in names if n in _ABC]
        if not abc:
            return m.group(0)
        rest = [(n, a) for n, a in names if n not in _ABC]
        ind = m.group(1)
        out = [f"{ind}from collections import {_join(rest)}"] if rest else []
        out.append(f"{ind}from collections.abc import {_join(abc)}")
        return "\n".join(out)

    text = _COLL_FROM.sub(from_line, text)
    new = _COLL_ATTR.sub(r"collections.abc.\1", text)
    return ensure_python_import(new, "import collections.abc") if new != text else text


# ---- py-torch-bool-reverse --------------------------------------------------------------------------------------

_MASK_DTYPE_DEF = (
    "# legacyrun py-torch-bool-reverse: torch < 1.2 has no bool dtype; uint8 masks stand in (~m is bitwise there).\n"
    "_LR_MASK_DTYPE = getattr(torch, 'bool', torch.uint8)\n"
)


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


LOSS_CALL = re.compile(
    r"(?:(?:torch\.)?nn\.)?(?:L1Loss|MSELoss|CrossEntropyLoss|NLLLoss|NLLLoss2d|BCELoss|BCEWithLogitsLoss|KLDivLoss"
    r"|SmoothL1Loss|SoftMarginLoss|MultiLabelMarginLoss|MultiLabelSoftMarginLoss|MultiMarginLoss|HingeEmbeddingLoss"
    r"|CosineEmbeddingLoss|MarginRankingLoss|TripletMarginLoss|PoissonNLLLoss)"
    r"|(?:F|functional|nn\.functional|torch\.nn\.functional)\.(?:l1_loss|mse_loss|cross_entropy|nll_loss"
    r"|binary_cross_entropy|binary_cross_entropy_with_logits|kl_div|smooth_l1_loss|soft_margin_loss"
    r"|multilabel_margin_loss|multilabel_soft_margin_loss|multi_margin_loss|hinge_embedding_loss"
    r"|cosine_embedding_loss|margin_ranking_loss|triplet_margin_loss|poisson_nll_loss)"
)


def loss_site_fixable(text: str, start: int, line: str) -> bool:
    """`size_average=`/`reduce=` inside a torch loss call (other APIs have their own `reduce=`)."""
    return bool(LOSS_CALL.fullmatch(enclosing_call(text, start) or ""))


TRANSFORMS: dict[str, Transform] = {
    "py-torch-six": torch_six,
    "py-dataloader-private-imports": dataloader_private,
    "py-download-url-to-file": download_url,
    "py-tv-interpolation-enum": tv_interpolation,
    "py-tv-pretrained-weights": tv_pretrained,
    "py-version-string-parse": version_parse,
    "py-numpy2-removed-members": numpy2_members,
    "py-numpy-asscalar": numpy_asscalar,
    "py-scipy-misc-math": scipy_math,
    "py-skimage-compare-metrics": skimage_metrics,
    "py-sklearn-linear-assignment": sklearn_assignment,
    "py-cv2-findcontours": cv2_contours,
    "py-collections-abc": collections_abc,
    "py-torch-bool-reverse": torch_bool_reverse,
    "py-yaml-load-loader": yaml_loader,
}

__all__ = [
    "LOSS_CALL",
    "SCALAR_HINT",
    "TRANSFORMS",
    "enclosing_call",
    "loss_site_fixable",
    "scalar_first_site_fixable",
    "scipy_site_fixable",
    "six_site_fixable",
]
