"""Small text helpers the transforms share: balanced call arguments, import/include insertion.

They work on source text (not trees) because C++/CUDA/shell files have no parser here and Python files may not
parse before the text rules ran (e.g. `async=` is a SyntaxError on Python >= 3.7).
"""

from __future__ import annotations

import ast
import re

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {")", "]", "}"}


def _skip_string(text: str, i: int) -> int:
    """Index just after the string/char literal starting at text[i] (a quote)."""
    q = text[i]
    if text.startswith(q * 3, i):
        end = text.find(q * 3, i + 3)
        return len(text) if end < 0 else end + 3
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c in (q, "\n"):
            return j + 1
        j += 1
    return j


def call_args(text: str, open_idx: int) -> tuple[list[tuple[int, int]], int] | None:
    """Top-level argument spans of the call whose '(' is at `open_idx`, and the index of its ')'.

    Spans are (start, end) with surrounding whitespace trimmed; None when the parenthesis never closes.
    """
    assert text[open_idx] == "("
    depth = 0
    spans: list[tuple[int, int]] = []
    start = open_idx + 1
    i = open_idx
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = _skip_string(text, i)
            continue
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            if depth == 0:
                spans.append((start, i))
                return [_trim(text, s, e) for s, e in spans if text[s:e].strip()], i
        elif c == "," and depth == 1:
            spans.append((start, i))
            start = i + 1
        i += 1
    return None


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def line_bounds(text: str, pos: int) -> tuple[int, int]:
    """(start, end) of the line containing pos, end excluding the newline."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end < 0 else end


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


# ---- Python imports ---------------------------------------------------------------------------------------------

_TOP_IMPORT = re.compile(r"^(?:import|from)[ \t]+[\w.]")


def python_binds(text: str, module: str) -> bool:
    """Whether a plain `import <module>` (or an `import <module>.x`, which binds the top package) is present."""
    top = module.split(".", maxsplit=1)[0]
    mod = re.escape(module)
    direct = re.compile(rf"^[ \t]*import[ \t]+(?:[\w.]+[ \t]*,[ \t]*)*{mod}(?![\w.])(?![ \t]+as\b)", re.MULTILINE)
    if direct.search(text):
        return True
    if module == top:
        sub = re.compile(rf"^[ \t]*import[ \t]+(?:[\w.]+[ \t]*,[ \t]*)*{mod}\.[\w.]+(?![\w.]*[ \t]+as\b)", re.MULTILINE)
        return bool(sub.search(text))
    return False


def _import_block_end(text: str) -> int:
    """Line index after which new module-level code can go: after the last top-level import of the first import
    block (multi-line parenthesised imports included), else after the docstring."""
    lines = text.splitlines(keepends=True)
    last = -1
    i = 0
    while i < len(lines):
        line = lines[i]
        if _TOP_IMPORT.match(line):
            j = i
            if "(" in line and ")" not in line:
                while j + 1 < len(lines) and ")" not in lines[j]:
                    j += 1
            while lines[j].rstrip("\r\n").endswith("\\") and j + 1 < len(lines):
                j += 1
            last = j
            i = j + 1
            continue
        if re.match(r"(?:def|class|async[ \t]+def|if[ \t]+__name__)\b", line):
            break
        i += 1
    if last >= 0:
        return last + 1
    return _docstring_end(text, lines)


def _docstring_end(text: str, lines: list[str]) -> int:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        tree = None
    if tree is not None and tree.body:
        first = tree.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            return first.end_lineno or 0
        return _first_code_line(lines, stop=first.lineno - 1)
    return _first_code_line(lines, stop=len(lines))


def _first_code_line(lines: list[str], stop: int) -> int:
    i = 0
    while i < stop and (lines[i].startswith("#") or not lines[i].strip()):
        i += 1
    return i


def insert_module_code(text: str, code: str) -> str:
    """Insert `code` (complete lines) after the module's imports."""
    nl = _newline(text)
    lines = text.splitlines(keepends=True)
    at = _import_block_end(text)
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += nl
    block = code.replace("\n", nl)
    lines.insert(at, block)
    return "".join(lines)


def ensure_python_import(text: str, statement: str) -> str:
    """Add `import X` unless X is already bound by a plain import."""
    m = re.fullmatch(r"import ([\w.]+)", statement)
    assert m, statement
    if python_binds(text, m.group(1)):
        return text
    nl = _newline(text)
    lines = text.splitlines(keepends=True)
    future = [i for i, ln in enumerate(lines) if ln.startswith("from __future__ import")]
    if future:
        at = future[-1] + 1
    else:
        firsts = [i for i, ln in enumerate(lines) if _TOP_IMPORT.match(ln)]
        at = firsts[0] if firsts else _docstring_end(text, lines)
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += nl
    lines.insert(at, statement + nl)
    return "".join(lines)


# ---- C/C++ includes ---------------------------------------------------------------------------------------------

_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"][^\n]*$", re.MULTILINE)


def has_include(text: str, header: str) -> bool:
    return any(m.group(1) == header for m in _INCLUDE.finditer(text))


def ensure_cpp_include(text: str, header: str) -> str:
    """Add `#include <header>` after the last include unless present."""
    if has_include(text, header):
        return text
    nl = _newline(text)
    found = list(_INCLUDE.finditer(text))
    if not found:
        return f"#include <{header}>{nl}{text}"
    end = found[-1].end()
    return f"{text[:end]}{nl}#include <{header}>{text[end:]}"


def after_last_include(text: str, block: str) -> str:
    """Insert `block` (lines) after the last #include, or at the top."""
    nl = _newline(text)
    found = list(_INCLUDE.finditer(text))
    block = block.replace("\n", nl)
    if not found:
        return block + text
    end = found[-1].end()
    return f"{text[:end]}{nl}{block.rstrip(nl)}{text[end:]}"


__all__ = [
    "after_last_include",
    "call_args",
    "ensure_cpp_include",
    "ensure_python_import",
    "has_include",
    "insert_module_code",
    "line_bounds",
    "python_binds",
]
