"""C++/CUDA, shell and config rules that need more than (find, replace) pairs: header tables, printf-to-stream
check macros, brace-matched guards, requirement pins."""

from __future__ import annotations

import re

from legacyrun.patching.catalog.model import TargetVersions
from legacyrun.patching.catalog.registry import transform
from legacyrun.patching.catalog.tables import table
from legacyrun.patching.catalog.textops import after_last_include, call_args, has_include, line_bounds

# ---- cpp-thc-headers --------------------------------------------------------------------------------------------

_TH_INCLUDE = re.compile(
    r"^[ \t]*#[ \t]*include[ \t]*[<\"]((?:THC/THC\w*\.(?:h|cuh)|TH/TH\w*\.h))[>\"][^\n]*\n?", re.MULTILINE
)


@transform("thc_headers")
def thc_headers(text: str, target: TargetVersions | None) -> str:
    header_map: dict[str, list[str]] = table("thc_headers")["headers"]
    out: list[str] = []
    pos = 0
    added: set[str] = set()
    for m in _TH_INCLUDE.finditer(text):
        repl = header_map.get(m.group(1))
        if repl is None:
            continue
        out.append(text[pos : m.start()])
        nl = "\n" if m.group(0).endswith("\n") else ""
        lines = [h for h in repl if h not in added and not has_include(text, h)]
        added.update(repl)
        block = "".join(f"#include <{h}>\n" for h in lines)
        out.append(block if nl else block.rstrip("\n"))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


# ---- cpp-thcstate -----------------------------------------------------------------------------------------------

_STATE_DECL = re.compile(
    r"^[ \t]*(?:extern[ \t]+)?THCState[ \t]*\*[ \t]*(\w+)[ \t]*(?:=[^;\n]*)?;[ \t]*(?://[^\n]*)?(?:\n|$)", re.MULTILINE
)


def _state_unused(text: str, m: re.Match[str]) -> bool:
    rest = text[: m.start()] + text[m.end() :]
    return re.search(rf"\b{re.escape(m.group(1))}\b", rest) is None


def thcstate_site_fixable(text: str, start: int, line: str) -> bool:
    ls, _ = line_bounds(text, start)
    m = _STATE_DECL.match(text, ls)
    return bool(m and _state_unused(text, m))


@transform("thcstate", site_check=thcstate_site_fixable)
def thcstate(text: str, target: TargetVersions | None) -> str:
    # Only declarations whose variable is no longer used anywhere go: a remaining `state` argument means a
    # helper still takes THCState* and needs a manual signature change.
    for _ in range(1000):
        m = next((m for m in _STATE_DECL.finditer(text) if _state_unused(text, m)), None)
        if m is None:
            break
        text = text[: m.start()] + text[m.end() :]
    return text


# ---- cpp-tharg-check --------------------------------------------------------------------------------------------

_TH_CHECK = re.compile(r"\b(THC?ArgCheck|THC?AssertMsg|THC?Assert|THC?Error)\s*\(")
_PRINTF = re.compile(r"%%|%[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp]")
_STRING_LIT = re.compile(r'^(?:"(?:[^"\\\n]|\\.)*"\s*)+$')


def _stream_args(fmt: str, args: list[str]) -> list[str] | None:
    """A printf call's format + args -> TORCH_CHECK's stream-style pieces; None when it cannot be converted."""
    if not _STRING_LIT.match(fmt):
        return [fmt, *args] if not args else None
    body = "".join(re.findall(r'"((?:[^"\\\n]|\\.)*)"', fmt))
    pieces: list[str] = []
    queue = list(args)
    pos = 0
    for m in _PRINTF.finditer(body):
        literal = body[pos : m.start()]
        pos = m.end()
        if m.group(0) == "%%":
            pieces.append('"' + literal + '%"')
            continue
        if literal:
            pieces.append(f'"{literal}"')
        if not queue:
            return None
        pieces.append(queue.pop(0))
    if queue:
        return None
    if body[pos:] or not pieces:
        pieces.append(f'"{body[pos:]}"')
    return _merge_literals(pieces)


def _merge_literals(pieces: list[str]) -> list[str]:
    out: list[str] = []
    for p in pieces:
        if (
            out
            and p.startswith('"')
            and out[-1].startswith('"')
            and _STRING_LIT.match(out[-1])
            and _STRING_LIT.match(p)
        ):
            out[-1] = out[-1][:-1] + p[1:]
        else:
            out.append(p)
    return out


@transform("tharg_check")
def tharg_check(text: str, target: TargetVersions | None) -> str:
    out: list[str] = []
    pos = 0
    for m in _TH_CHECK.finditer(text):
        if m.start() < pos:
            continue
        parsed = call_args(text, m.end() - 1)
        if parsed is None:
            continue
        spans, close = parsed
        args = [text[s:e] for s, e in spans]
        new = _convert_check(m.group(1).replace("THC", "TH"), args)
        if new is None:
            continue
        out += [text[pos : m.start()], new]
        pos = close + 1
    out.append(text[pos:])
    return "".join(out)


def _convert_check(kind: str, args: list[str]) -> str | None:
    if kind == "THAssert" and len(args) == 1:
        return f"TORCH_INTERNAL_ASSERT({args[0]})"
    if kind == "THAssertMsg" and len(args) >= 2:
        rest = _stream_args(args[1], args[2:])
        return None if rest is None else f"TORCH_INTERNAL_ASSERT({', '.join([args[0], *rest])})"
    if kind == "THError" and args:
        rest = _stream_args(args[0], args[1:])
        return None if rest is None else f"TORCH_CHECK({', '.join(['false', *rest])})"
    if kind == "THArgCheck" and len(args) >= 2:
        if len(args) == 2:
            return f'TORCH_CHECK({args[0]}, "invalid argument #", {args[1]})'
        rest = _stream_args(args[2], args[3:])
        return None if rest is None else f"TORCH_CHECK({', '.join([args[0], *rest])})"
    return None


# ---- cuda-thcceildiv / cuda-atomicadd-double -------------------------------------------------------------------

_CEIL_DIV_DEF = (
    "// legacyrun cuda-thcceildiv: THCCeilDiv was removed with THC; at::ceil_div rejects mixed integer types.\n"
    "#ifndef LR_CEIL_DIV\n#define LR_CEIL_DIV(a, b) (((a) + (b) - 1) / (b))\n#endif\n"
)


@transform("thc_ceil_div")
def thc_ceil_div(text: str, target: TargetVersions | None) -> str:
    new = re.sub(r"\bTHCCeilDiv(\s*)\(", r"LR_CEIL_DIV\1(", text)
    if new != text and "#define LR_CEIL_DIV" not in new:
        new = after_last_include(new, _CEIL_DIV_DEF)
    return new


_ATOMIC_ADD = re.compile(
    r"(?<!__CUDA_ARCH__ < 600\n)__device__\s+(?:__forceinline__\s+|inline\s+)?double\s+atomicAdd\s*\(\s*double\s*\*"
)
_ARCH_GUARD = "#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 600\n"


def atomic_add_site_fixable(text: str, start: int, line: str) -> bool:
    return line_bounds(text, start)[0] == start and text.find("{", start) >= 0


@transform("atomic_add_double", site_check=atomic_add_site_fixable)
def atomic_add_double(text: str, target: TargetVersions | None) -> str:
    for _ in range(100):
        m = next((m for m in _ATOMIC_ADD.finditer(text) if atomic_add_site_fixable(text, m.start(), "")), None)
        if m is None:
            break
        end = _brace_end(text, text.find("{", m.start()))
        if end is None:
            break
        nl_end = end + 1
        text = f"{text[: m.start()]}{_ARCH_GUARD}{text[m.start() : nl_end]}\n#endif{text[nl_end:]}"
    return text


def _brace_end(text: str, open_idx: int) -> int | None:
    depth = 0
    i = open_idx
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                return None
            continue
        if text.startswith("/*", i):
            i = text.find("*/", i)
            if i < 0:
                return None
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


# ---- shell ------------------------------------------------------------------------------------------------------

_OLD_ARCH = r"(?:[12]\d|3[0257])"
_GENCODE_ITEM = re.compile(
    r"(['\"])-gencode[= ]arch=compute_" + _OLD_ARCH + r",code=(?:sm|compute)_\d+\1[ \t]*,?[ \t]*"
    r"|(['\"])-gencode\2[ \t]*,[ \t]*(['\"])arch=compute_" + _OLD_ARCH + r",code=(?:sm|compute)_\d+\3[ \t]*,?[ \t]*"
    r"|[ \t]*-gencode[= ]arch=compute_" + _OLD_ARCH + r",code=(\\?['\"])?(?:sm|compute)_\d+(?(4)\\?['\"])(?=[\s'\"]|$)"
)


@transform("gencode_old_arch")
def gencode_old_arch(text: str, target: TargetVersions | None) -> str:
    return _GENCODE_ITEM.sub("", text)


_TORCH_PIN = re.compile(r"\A(?![\s\S]*\bsetuptools\b)[\s\S]*?^\s*torch\s*==\s*1\.(?:\d|10)(?:\.\d+)?\b", re.MULTILINE)


@transform("setuptools_pin")
def setuptools_pin(text: str, target: TargetVersions | None) -> str:
    if not _TORCH_PIN.search(text):
        return text
    sep = "" if not text or text.endswith("\n") else "\n"
    return f"{text}{sep}setuptools==59.5.0  # legacyrun: torch<=1.10 imports distutils.version\n"


__all__ = ["atomic_add_site_fixable", "thcstate_site_fixable"]
