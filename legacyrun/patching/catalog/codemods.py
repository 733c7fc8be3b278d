"""Python rules a plain regex cannot do safely, as libcst codemods that keep formatting and comments.

Each public function takes source text and returns new text; a file that does not parse is returned unchanged
(scan still reports its sites, and text rules such as py-cuda-async-kwarg run first so legacy files parse).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from legacyrun.patching.catalog.model import TargetVersions
from legacyrun.patching.catalog.registry import Transform, transform
from legacyrun.patching.catalog.textops import ensure_python_import, insert_module_code
from legacyrun.patching.catalog.transforms_py import (
    SCALAR_HINT,
    loss_call,
    loss_site_fixable,
    scalar_first_site_fixable,
)

LeaveCall = Callable[[Any, Any], Any]

_cst: Any = None


def _lib() -> Any:
    global _cst
    if _cst is None:
        import libcst

        _cst = libcst
    return _cst


def _run(text: str, make: Callable[[], Any]) -> tuple[str, Any]:
    cst = _lib()
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:
        return text, None
    transformer = make()
    return module.visit(transformer).code, transformer


def dotted(node: Any) -> str | None:
    """`a.b.c` for Name/Attribute chains, else None."""
    cst = _lib()
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def code_of(node: Any) -> str:
    return str(_lib().Module(body=[]).code_for_node(node))


def _kw(name: str, value: str) -> Any:
    cst = _lib()
    ws = cst.SimpleWhitespace("")
    return cst.Arg(
        value=cst.parse_expression(value),
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=ws, whitespace_after=ws),
    )


def _keyword_names(call: Any) -> set[str]:
    return {a.keyword.value for a in call.args if a.keyword is not None}


def _has_star(call: Any) -> bool:
    """A `**kwargs` argument may already carry the keyword."""
    return any(a.star == "**" for a in call.args)


def add_arg(call: Any, arg: Any) -> Any:
    """Append an argument, keeping one-line and trailing-comma multi-line layouts."""
    cst = _lib()
    args = list(call.args)
    if not args:
        return call.with_changes(args=[arg])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # Trailing comma, one argument per line: the new argument goes on its own line; a comment after the old
        # last argument stays on that argument's line and the closing parenthesis keeps its indentation.
        between = args[-2].comma if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma) else None
        lw = last.comma.whitespace_after
        bw = between.whitespace_after if between is not None else None
        if isinstance(lw, cst.ParenthesizedWhitespace) and isinstance(bw, cst.ParenthesizedWhitespace):
            args[-1] = last.with_changes(
                comma=last.comma.with_changes(
                    whitespace_after=lw.with_changes(indent=bw.indent, last_line=bw.last_line)
                )
            )
            closing = cst.ParenthesizedWhitespace(indent=lw.indent, last_line=lw.last_line)
            args.append(arg.with_changes(comma=cst.Comma(whitespace_after=closing)))
        else:
            args[-1] = last.with_changes(comma=between or cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(arg.with_changes(comma=last.comma))
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(arg)
    return call.with_changes(args=args)


def remove_args(call: Any, names: set[str]) -> Any:
    args = list(call.args)
    keep = [a for a in args if a.keyword is None or a.keyword.value not in names]
    if len(keep) == len(args):
        return call
    if keep and args[-1] not in keep:
        keep[-1] = keep[-1].with_changes(comma=args[-1].comma)
    return call.with_changes(args=keep)


def replace_arg(call: Any, name: str, new: Any) -> Any:
    args = [
        new.with_changes(comma=a.comma) if a.keyword is not None and a.keyword.value == name else a for a in call.args
    ]
    return call.with_changes(args=args)


def _bool_literal(node: Any) -> bool | None:
    cst = _lib()
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False}.get(node.value)
    raise ValueError("not a literal")


def _transformer(leave_call: LeaveCall) -> Callable[[], Any]:
    cst = _lib()

    class _T(cst.CSTTransformer):  # type: ignore[name-defined]
        def leave_Call(self, original: Any, updated: Any) -> Any:
            return leave_call(original, updated)

    return _T


def _rewrite_calls(text: str, leave_call: LeaveCall, ensure: str | None = None) -> str:
    """Rewrite single calls with `leave_call`; `ensure` adds an import when anything changed."""
    new, _ = _run(text, _transformer(leave_call))
    if ensure and new != text:
        new = ensure_python_import(new, ensure)
    return new


def call_codemod(*, ensure: str | None = None) -> Callable[[LeaveCall], Transform]:
    """Decorator: a `leave_Call(original, updated)` hook -> a transform that rewrites single calls."""

    def wrap(leave_call: LeaveCall) -> Transform:
        def run(text: str, target: TargetVersions | None) -> str:
            return _rewrite_calls(text, leave_call, ensure)

        return run

    return wrap


@transform("add_kwarg")
def add_kwarg(text: str, target: TargetVersions | None, *, calls: str, keyword: str, value: str) -> str:
    """Add `keyword=value` to calls whose dotted name fully matches the regex `calls` and that lack it (and any
    **kwargs)."""
    names = re.compile(calls)

    def leave(original: Any, updated: Any) -> Any:
        name = dotted(updated.func)
        if name is None or not names.fullmatch(name) or keyword in _keyword_names(updated) or _has_star(updated):
            return updated
        return add_arg(updated, _kw(keyword, value))

    return _rewrite_calls(text, leave)


@transform("remove_kwarg")
def remove_kwarg(
    text: str, target: TargetVersions | None, *, calls: str, keyword: str, only_values: Sequence[str] | None = None
) -> str:
    """Drop `keyword=` from calls whose dotted name fully matches the regex `calls` (only where its value, with
    single quotes, is one of `only_values` when given)."""
    names = re.compile(calls)

    def leave(original: Any, updated: Any) -> Any:
        name = dotted(updated.func)
        if name is None or not names.fullmatch(name):
            return updated
        for a in updated.args:
            if a.keyword is not None and a.keyword.value == keyword:
                if only_values is not None and code_of(a.value).replace('"', "'") not in only_values:
                    return updated
                return remove_args(updated, {keyword})
        return updated

    return _rewrite_calls(text, leave)


# ---- py-data0-item ----------------------------------------------------------------------------------------------

_REDUCTION_NAME = re.compile(
    r"(?i)^(?:\w*_)?(?:loss|losses|acc|accuracy|correct|prec\d*|precision|err|error|nll|kld?|cost|total|sum|mean|avg|metric|score|reward|norm)\w*$"
)
_LR_SCALAR = """

def _lr_scalar(x):
    # legacyrun py-data0-item: the value legacy `.data` indexing gave: a number for 0-dim tensors, else item 0.
    d = getattr(x, "data", x)
    return d.item() if callable(getattr(d, "dim", None)) and d.dim() == 0 else d[0]
"""


def _is_reduction(node: Any) -> bool:
    cst = _lib()
    if isinstance(node, cst.Name):
        return bool(_REDUCTION_NAME.match(node.value))
    if isinstance(node, cst.Attribute):
        return bool(_REDUCTION_NAME.match(node.attr.value))
    if isinstance(node, cst.Call):
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if last in ("sum", "mean") and not node.args:
            return True
        return bool(re.search(r"(?i)criterion|loss", last))
    return False


@transform("data0_item")
def data0_item(text: str, target: TargetVersions | None) -> str:
    cst = _lib()
    used = False

    class T(cst.CSTTransformer):  # type: ignore[name-defined]
        def leave_Subscript(self, original: Any, updated: Any) -> Any:
            nonlocal used
            sl = updated.slice
            if len(sl) != 1 or not isinstance(sl[0].slice, cst.Index):
                return updated
            idx = sl[0].slice.value
            if not (isinstance(idx, cst.Integer) and idx.value == "0"):
                return updated
            value = updated.value
            if isinstance(value, cst.Attribute) and value.attr.value == "data":
                recv = value.value
            elif (
                isinstance(value, cst.Call)
                and not value.args
                and isinstance(value.func, cst.Attribute)
                and value.func.attr.value == "cpu"
                and isinstance(value.func.value, cst.Attribute)
                and value.func.value.attr.value == "data"
            ):
                recv = value.func.value.value
            else:
                return updated
            if _is_reduction(recv):
                return cst.Call(func=cst.Attribute(value=recv, attr=cst.Name("item")))
            used = True
            return cst.Call(func=cst.Name("_lr_scalar"), args=[cst.Arg(value=recv)])

    new, _ = _run(text, T)
    if used and not re.search(r"^def _lr_scalar\(", new, re.MULTILINE):
        new = insert_module_code(new, _LR_SCALAR)
    return new


# ---- py-variable-volatile ---------------------------------------------------------------------------------------


@transform("variable_volatile")
def variable_volatile(text: str, target: TargetVersions | None) -> str:
    cst = _lib()

    class T(cst.CSTTransformer):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[dict[str, bool]] = []
            self.decorated = False

        def visit_FunctionDef(self, node: Any) -> None:
            self.stack.append({"volatile": False, "backward": False})

        def visit_Attribute(self, node: Any) -> None:
            if node.attr.value == "backward":
                for frame in self.stack:
                    frame["backward"] = True

        def leave_Call(self, original: Any, updated: Any) -> Any:
            for a in updated.args:
                if a.keyword is not None and a.keyword.value == "volatile":
                    if self.stack and isinstance(a.value, cst.Name) and a.value.value == "True":
                        self.stack[-1]["volatile"] = True
                    return remove_args(updated, {"volatile"})
            return updated

        def leave_FunctionDef(self, original: Any, updated: Any) -> Any:
            frame = self.stack.pop()
            # no_grad only where the function never calls backward(): its outputs cannot need gradients.
            if not frame["volatile"] or frame["backward"]:
                return updated
            if any("no_grad" in code_of(d.decorator) for d in updated.decorators):
                return updated
            self.decorated = True
            deco = cst.Decorator(decorator=cst.parse_expression("torch.no_grad()"))
            return updated.with_changes(decorators=[*updated.decorators, deco])

    new, t = _run(text, T)
    if t is not None and t.decorated:
        new = ensure_python_import(new, "import torch")
    return new


# ---- py-loss-size-average-reduce --------------------------------------------------------------------------------


@transform("loss_reduction", site_check=loss_site_fixable)
@call_codemod()
def loss_reduction(original: Any, updated: Any) -> Any:
    name = dotted(updated.func)
    if name is None or not loss_call().fullmatch(name):
        return updated
    kws = {a.keyword.value: a.value for a in updated.args if a.keyword is not None}
    if not ({"size_average", "reduce"} & kws.keys()) or "reduction" in kws:
        return updated
    try:
        size_average = _bool_literal(kws["size_average"]) if "size_average" in kws else None
        reduce = _bool_literal(kws["reduce"]) if "reduce" in kws else None
    except ValueError:
        return updated
    # torch.nn._reduction.legacy_get_string: None counts as True; reduce=False wins over size_average.
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    mode = "none" if not reduce else "mean" if size_average else "sum"
    first = next(
        a.keyword.value
        for a in updated.args
        if a.keyword is not None and a.keyword.value in kws.keys() & {"size_average", "reduce"}
    )
    call = replace_arg(updated, first, _kw("reduction", f"'{mode}'"))
    return remove_args(call, {"size_average", "reduce"} - {first})


# ---- py-f-upsample ----------------------------------------------------------------------------------------------

_UPSAMPLE = re.compile(r"(F|functional|nn\.functional|torch\.nn\.functional)\.(upsample(?:_bilinear|_nearest)?)")


@transform("upsample")
@call_codemod()
def upsample(original: Any, updated: Any) -> Any:
    cst = _lib()
    name = dotted(updated.func)
    m = _UPSAMPLE.fullmatch(name or "")
    if not m:
        return updated
    call = updated.with_changes(func=updated.func.with_changes(attr=cst.Name("interpolate")))
    if m.group(2) == "upsample_bilinear":
        call = add_arg(add_arg(call, _kw("mode", "'bilinear'")), _kw("align_corners", "True"))
    elif m.group(2) == "upsample_nearest":
        call = add_arg(call, _kw("mode", "'nearest'"))
    return call


# ---- py-scalar-first-overloads ----------------------------------------------------------------------------------


@transform("scalar_first", site_check=scalar_first_site_fixable)
@call_codemod()
def scalar_first(original: Any, updated: Any) -> Any:
    cst = _lib()
    func = updated.func
    if not isinstance(func, cst.Attribute) or dotted(func.value) == "torch":
        return updated
    op = func.attr.value
    args = list(updated.args)
    if any(a.keyword is not None or a.star for a in args):
        return updated
    if op in ("add", "add_", "sub", "sub_") and len(args) == 2:
        kw = "alpha"
    elif op in ("addcmul", "addcmul_", "addcdiv", "addcdiv_") and len(args) == 3:
        kw = "value"
    else:
        return updated
    if not SCALAR_HINT.match(code_of(args[0].value)):
        return updated
    rest = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in args[1:]]
    new_kw = _kw(kw, code_of(args[0].value)).with_changes(comma=args[-1].comma)
    return updated.with_changes(args=[*rest, new_kw])


# ---- py-convnd-padding-mode -------------------------------------------------------------------------------------


@transform("convnd_padding_mode")
def convnd_padding_mode(text: str, target: TargetVersions | None) -> str:
    cst = _lib()

    class T(cst.CSTTransformer):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.classes: list[bool] = []

        def visit_ClassDef(self, node: Any) -> None:
            self.classes.append(any((dotted(b.value) or "").endswith("_ConvNd") for b in node.bases))

        def leave_ClassDef(self, original: Any, updated: Any) -> Any:
            self.classes.pop()
            return updated

        def leave_Call(self, original: Any, updated: Any) -> Any:
            if not self.classes or not self.classes[-1]:
                return updated
            func = updated.func
            if not (isinstance(func, cst.Attribute) and func.attr.value == "__init__"):
                return updated
            inner = func.value
            is_super = isinstance(inner, cst.Call) and dotted(inner.func) == "super"
            if not is_super and not (dotted(inner) or "").endswith("_ConvNd"):
                return updated
            positional = sum(1 for a in updated.args if a.keyword is None and not a.star)
            limit = 10 if is_super else 11  # the 11th positional (12th with self) already is padding_mode
            if "padding_mode" in _keyword_names(updated) or _has_star(updated) or positional > limit:
                return updated
            return add_arg(updated, _kw("padding_mode", "'zeros'"))

    return _run(text, T)[0]


# ---- py-distributed-local-rank ----------------------------------------------------------------------------------


@transform("local_rank")
@call_codemod(ensure="import os")
def local_rank(original: Any, updated: Any) -> Any:
    cst = _lib()
    if not (isinstance(updated.func, cst.Attribute) and updated.func.attr.value == "add_argument"):
        return updated
    strings = [a for a in updated.args if a.keyword is None and isinstance(a.value, cst.SimpleString)]
    flags = [a.value.evaluated_value for a in strings]
    if not flags or flags[0] not in ("--local_rank", "--local-rank"):
        return updated
    other = "--local-rank" if flags[0] == "--local_rank" else "--local_rank"
    args = list(updated.args)
    if other not in flags:
        quote = strings[0].value.value[0]
        alias = cst.Arg(
            value=cst.SimpleString(f"{quote}{other}{quote}"),
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
        )
        first = args[0]
        if isinstance(first.comma, cst.Comma):
            alias = alias.with_changes(comma=first.comma)  # same layout as the flag that follows it
        else:
            first = first.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            alias = alias.with_changes(comma=args[0].comma)
        args = [first, alias, *args[1:]]
    call = updated.with_changes(args=args)
    default = next((a for a in call.args if a.keyword is not None and a.keyword.value == "default"), None)
    env = 'int(os.environ.get("LOCAL_RANK", {}))'
    if default is None:
        return add_arg(call, _kw("default", env.format(0)))
    if isinstance(default.value, cst.Integer) or (
        isinstance(default.value, cst.UnaryOperation) and isinstance(default.value.expression, cst.Integer)
    ):
        return replace_arg(call, "default", _kw("default", env.format(code_of(default.value))))
    return call


# ---- py-div-rounding-mode-reverse -------------------------------------------------------------------------------


@transform("div_trunc")
@call_codemod()
def div_trunc(original: Any, updated: Any) -> Any:
    cst = _lib()
    func = updated.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "div"):
        return updated
    mode = next((a for a in updated.args if a.keyword is not None and a.keyword.value == "rounding_mode"), None)
    if mode is None or not isinstance(mode.value, cst.SimpleString) or mode.value.evaluated_value != "trunc":
        return updated
    # floor_divide truncates before torch 1.13, exactly what rounding_mode='trunc' asks for.
    call = remove_args(updated, {"rounding_mode"})
    return call.with_changes(func=func.with_changes(attr=cst.Name("floor_divide")))


# ---- py-linalg-qr-cholesky-misc ---------------------------------------------------------------------------------


@transform("linalg_misc")
@call_codemod()
def linalg_misc(original: Any, updated: Any) -> Any:
    cst = _lib()
    name = dotted(updated.func)
    if name not in ("torch.qr", "torch.cholesky", "torch.chain_matmul", "torch.matrix_rank"):
        return updated
    linalg = cst.parse_expression("torch.linalg." + {"torch.chain_matmul": "multi_dot"}.get(name, name.split(".")[1]))
    kws = {a.keyword.value: a.value for a in updated.args if a.keyword is not None}
    positional = [a for a in updated.args if a.keyword is None]
    if name == "torch.chain_matmul":
        if kws:
            return updated
        items = [
            cst.Element(value=a.value, comma=a.comma)
            if not a.star
            else cst.StarredElement(value=a.value, comma=a.comma)
            for a in positional
        ]
        return cst.Call(func=linalg, args=[cst.Arg(value=cst.List(elements=items))])
    if name == "torch.qr":
        some = kws.get("some", positional[1].value if len(positional) > 1 else None)
        try:
            flag = True if some is None else _bool_literal(some)
        except ValueError:
            return updated
        call = remove_args(
            updated.with_changes(func=linalg, args=[positional[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)]), set()
        )
        return call if flag else add_arg(call, _kw("mode", "'complete'"))
    if name == "torch.cholesky":
        upper = kws.get("upper", positional[1].value if len(positional) > 1 else None)
        try:
            flag = False if upper is None else _bool_literal(upper)
        except ValueError:
            return updated
        call = updated.with_changes(func=linalg, args=[positional[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
        return cst.parse_expression(f"{code_of(call)}.transpose(-2, -1).conj()") if flag else call
    # torch.matrix_rank: symmetric -> hermitian; `tol=` has different semantics in linalg (left for review).
    if "tol" in kws or len(positional) > 1:
        return updated
    call = updated.with_changes(func=linalg)
    if "symmetric" in kws:
        call = replace_arg(call, "symmetric", _kw("hermitian", code_of(kws["symmetric"])))
    return call


# ---- py-pillow-textsize-getsize ---------------------------------------------------------------------------------

_LR_TEXT_SIZE = """

def _lr_text_size(obj, method, *args, **kwargs):
    # legacyrun py-pillow-textsize-getsize: the old method where it exists, else the size of the bounding box.
    old = getattr(obj, method, None)
    if old is not None:
        return old(*args, **kwargs)
    box = obj.textbbox((0, 0), *args, **kwargs) if method == "textsize" else obj.getbbox(*args, **kwargs)
    return box[2] - box[0], box[3] - box[1]
"""


@transform("pillow_text_size")
def pillow_text_size(text: str, target: TargetVersions | None) -> str:
    cst = _lib()
    used = False

    class T(cst.CSTTransformer):  # type: ignore[name-defined]
        def leave_Call(self, original: Any, updated: Any) -> Any:
            nonlocal used
            func = updated.func
            if not (isinstance(func, cst.Attribute) and func.attr.value in ("textsize", "getsize")):
                return updated
            name = dotted(func.value) or ""
            if name == "path" or name.endswith(".path"):
                return updated
            used = True
            method = cst.Arg(value=cst.SimpleString(f'"{func.attr.value}"'))
            head = [cst.Arg(value=func.value), method]
            if updated.args:
                head = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in head]
            else:
                head[0] = head[0].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            return updated.with_changes(func=cst.Name("_lr_text_size"), args=[*head, *updated.args])

    new, _ = _run(text, T)
    if used and not re.search(r"^def _lr_text_size\(", new, re.MULTILINE):
        new = insert_module_code(new, _LR_TEXT_SIZE)
    return new


__all__ = ["add_arg", "call_codemod", "code_of", "dotted", "remove_args"]
