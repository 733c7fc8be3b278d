"""Match a failure log against known failure signatures (signatures.yaml) and return cause + fix for each.

Speed matters because `run` and `build` call this on whole logs (100 MB is normal for a long training run), and a
big regex alternation costs Python's `re` tens of seconds there. So each pattern has an *anchor*, a literal that
every match contains. Log files of some size go through `grep -F` with every anchor as a needle: grep finds the
few lines holding one in one pass (about as fast as grep with these needles can be), and only those lines reach
the regexes here. Without grep (and for standard input), the log is streamed in blocks and the anchors are grouped
under a few short *gates* ("rror", "not ", "No module named", ...) looked up with str.find (fast C): only lines
holding a gate are checked against the patterns filed under it. Both paths give the same result and keep memory
flat (no line longer than _MAX_PENDING is held whole). Patterns are defined per line: a match never spans a newline.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from legacyrun.errors import UsageError

SIGNATURES_FILE = Path(__file__).with_name("signatures.yaml")
_BLOCK_CHARS = 4 << 20  # characters read per block when streaming a file
_MAX_PENDING = 1 << 20  # a "line" longer than this (tqdm \r-only output) is scanned in pieces
_GREP_MIN_BYTES = 4 << 20  # below this, starting grep costs more than it saves
_EXCERPT_MAX = 300
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_REQUIRED = ("id", "title", "patterns", "priority", "cause", "fix", "sources")
_OPTIONAL = ("generic", "catalog_rules", "anchors")
_MIN_ANCHOR = 4
_LINE_CACHE_MAX = 4096
_LINE_CACHE_CHARS = 4096  # longer lines are not remembered (the cache's memory stays bounded)
# Gates: short literals that many anchors contain and that ordinary training output (loss/eta/lr lines) rarely
# does. An anchor holding none of them becomes a gate of its own. Fewer gates = fewer passes over the log.
_GATES = (
    "rror",
    "not ",
    "No module named",
    "has no attribute",
    "cannot import name",
    "identifier ",
    "support",
    "function",
    " failed",
    "argument",
    "ound",
    "compat",
    "invalid",
    "already",
    "fault",
    "cuda",
    "CUDA",
    "undefine",
    "DataLoader",
    "THC",
    "deprecated",
    "removed",
    "nvcc",
    "NumPy",
    "NVIDIA",
    "No such file",
    "device",
)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class SignatureFileError(UsageError):
    """The signatures file is malformed (names the file, the signature and the field)."""


@dataclass(frozen=True)
class Signature:
    """One known failure: how to recognise it and what to do about it."""

    id: str
    title: str
    patterns: tuple[str, ...]
    priority: int
    cause: str
    fix: str
    sources: tuple[str, ...]
    generic: bool = False
    catalog_rules: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """A signature found in a log: where it first appeared and what it means."""

    signature_id: str
    title: str
    cause: str
    fix: str
    line: int  # 1-based line number of the first matching line
    excerpt: str  # that line, without colour codes, shortened
    priority: int
    count: int = 1  # matching lines in the whole log
    generic: bool = False
    catalog_rules: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature_id,
            "title": self.title,
            "cause": self.cause,
            "fix": self.fix,
            "line": self.line,
            "excerpt": self.excerpt,
            "priority": self.priority,
            "count": self.count,
            "generic": self.generic,
            "catalog_rules": list(self.catalog_rules),
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class SignatureSet:
    """The loaded signatures plus the gate index: gate literal -> (signature index, compiled pattern) pairs.

    needles: the anchors, less those holding a shorter one (grep -F finds every line that can match).
    """

    signatures: tuple[Signature, ...]
    gates: tuple[tuple[str, tuple[tuple[int, re.Pattern[str]], ...]], ...] = field(repr=False)
    needles: tuple[str, ...] = field(default=(), repr=False)

    def by_id(self, sig_id: str) -> Signature:
        for sig in self.signatures:
            if sig.id == sig_id:
                return sig
        raise KeyError(sig_id)


# --- loading ---------------------------------------------------------------------------------------------------


def load_signatures(path: Path | None = None) -> SignatureSet:
    """Load and validate a signatures file (default: the packaged one, loaded once per process)."""
    if path is None:
        return _default_signatures()
    return _load(path)


@functools.lru_cache(maxsize=1)
def _default_signatures() -> SignatureSet:
    return _load(SIGNATURES_FILE)


def _load(path: Path) -> SignatureSet:
    import yaml

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise SignatureFileError(f"{path}: cannot read signatures: {exc}".replace("\n", " ")) from exc
    if not isinstance(data, dict) or not isinstance(data.get("signatures"), list):
        raise SignatureFileError(f"{path}: expected a mapping with a 'signatures' list")
    sigs: list[Signature] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["signatures"]):
        sig = _parse_one(path, i, raw)
        if sig.id in seen:
            raise SignatureFileError(f"{path}: signatures[{i}]: duplicate id {sig.id!r}")
        seen.add(sig.id)
        sigs.append(sig)
    ordered = tuple(sorted(sigs, key=lambda s: (-s.priority, s.id)))
    return SignatureSet(signatures=ordered, gates=_gate_index(path, ordered), needles=_needles(ordered))


def _parse_one(path: Path, i: int, raw: object) -> Signature:
    where = f"{path}: signatures[{i}]"
    if not isinstance(raw, dict):
        raise SignatureFileError(f"{where}: expected a mapping")
    if isinstance(raw.get("id"), str):
        where = f"{path}: signature {raw['id']!r}"
    missing = [k for k in _REQUIRED if raw.get(k) in (None, "", [])]
    if missing:
        raise SignatureFileError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise SignatureFileError(f"{where}: unknown field(s) {', '.join(unknown)}")
    if not _ID.match(str(raw["id"])):
        raise SignatureFileError(f"{where}: id must be a lower-case slug")
    prio = raw["priority"]
    if not isinstance(prio, int) or isinstance(prio, bool) or not 0 <= prio <= 100:
        raise SignatureFileError(f"{where}: priority must be an integer 0-100")
    patterns = _str_list(where, "patterns", raw["patterns"])
    anchors = _str_list(where, "anchors", raw.get("anchors") or [])
    for j, pat in enumerate(patterns):
        try:
            compiled = re.compile(pat, re.MULTILINE)
        except re.error as exc:
            raise SignatureFileError(f"{where}: patterns[{j}]: invalid regex: {exc}") from exc
        if compiled.search(""):
            raise SignatureFileError(f"{where}: patterns[{j}]: matches the empty string")
        if compiled.flags & re.IGNORECASE:
            raise SignatureFileError(f"{where}: patterns[{j}]: no global (?i); anchors are case-sensitive")
        if len(pattern_anchor(pat)) < _MIN_ANCHOR and not anchors:
            raise SignatureFileError(
                f"{where}: patterns[{j}]: no literal of {_MIN_ANCHOR}+ characters outside groups; add `anchors:`"
            )
    for key in ("title", "cause", "fix"):
        if not isinstance(raw[key], str):
            raise SignatureFileError(f"{where}: {key} must be text")
    return Signature(
        id=str(raw["id"]),
        title=raw["title"].strip(),
        patterns=tuple(patterns),
        priority=prio,
        cause=" ".join(raw["cause"].split()),
        fix=" ".join(raw["fix"].split()),
        sources=tuple(_str_list(where, "sources", raw["sources"])),
        generic=bool(raw.get("generic", False)),
        catalog_rules=tuple(_str_list(where, "catalog_rules", raw.get("catalog_rules") or [])),
        anchors=tuple(anchors),
    )


def _str_list(where: str, key: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SignatureFileError(f"{where}: {key} must be a list of non-empty strings")
    return list(value)


@functools.lru_cache(maxsize=1024)  # loading asks three times per pattern (check, gate, needle)
def pattern_anchor(pattern: str) -> str:
    """The longest run of literal characters at the top level of a regex: text that every match contains."""
    import importlib
    import sys

    # The regex parser is internal to `re`; its module moved in Python 3.11.
    parser: Any = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")
    parsed = parser.parse(pattern)
    best = cur = ""
    for op, av in parsed:
        if op is parser.LITERAL:
            cur += chr(av)
        else:
            best = max(best, cur, key=len)
            cur = ""
    return max(best, cur, key=len)


def _gate_index(
    path: Path, sigs: tuple[Signature, ...]
) -> tuple[tuple[str, tuple[tuple[int, re.Pattern[str]], ...]], ...]:
    index: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
    for i, sig in enumerate(sigs):
        for pat in sig.patterns:
            auto = pattern_anchor(pat)
            anchors = list(sig.anchors) if sig.anchors else [auto]
            compiled = re.compile(pat, re.MULTILINE)
            for anchor in anchors:
                gate = next((g for g in _GATES if g in anchor), anchor)
                entries = index.setdefault(gate, [])
                if (i, compiled) not in entries:
                    entries.append((i, compiled))
    return tuple((gate, tuple(entries)) for gate, entries in index.items())


def _needles(sigs: tuple[Signature, ...]) -> tuple[str, ...]:
    anchors = {a for sig in sigs for p in sig.patterns for a in (sig.anchors or (pattern_anchor(p),))}
    # A line holding "No module named 'apex'" holds "No module named '": the shorter needle is enough.
    return tuple(sorted(a for a in anchors if not any(o != a and o in a for o in anchors)))


# --- scanning --------------------------------------------------------------------------------------------------


@dataclass
class _Hit:
    line: int
    excerpt: str
    count: int = 1
    last: int = 0  # the last line counted


class _Scanner:
    """Feeds blocks of text through the gates, keeping line numbers across block boundaries."""

    def __init__(self, sigset: SignatureSet) -> None:
        self.sigset = sigset
        self.hits: dict[int, _Hit] = {}
        self.line_no = 1  # line number of the start of the next text fed
        self.pending = ""  # text after the last newline, waiting for the rest of its line
        # Logs repeat lines (the same warning every iteration): remember what a line text matched.
        self.cache: dict[tuple[str, frozenset[int]], list[tuple[int, int]]] = {}

    def feed(self, chunk: str) -> None:
        if not chunk:
            return
        text = self.pending + chunk
        cut = text.rfind("\n")
        if cut == -1:
            if len(text) > _MAX_PENDING:
                self._scan(text, advance=False)
                self.pending = ""
            else:
                self.pending = text
            return
        self.pending = text[cut + 1 :]
        self._scan(text[: cut + 1], advance=True)

    def finish(self) -> None:
        if self.pending:
            self._scan(self.pending, advance=False)
            self.pending = ""

    def _scan(self, buf: str, *, advance: bool) -> None:
        # Which lines hold which gates: line start -> (line end, gate numbers).
        lines: dict[int, tuple[int, set[int]]] = {}
        for g, (gate, _entries) in enumerate(self.sigset.gates):
            pos = buf.find(gate)
            while pos != -1:
                start = buf.rfind("\n", 0, pos) + 1
                end = buf.find("\n", pos)
                if end == -1:
                    end = len(buf)
                found = lines.get(start)
                if found is None:
                    lines[start] = (end, {g})
                else:
                    found[1].add(g)
                pos = buf.find(gate, end)
        base = self.line_no
        newlines = 0
        counted_to = 0
        for start in sorted(lines):
            end, gates = lines[start]
            newlines += buf.count("\n", counted_to, start)
            counted_to = start
            self._line(buf[start:end], frozenset(gates), base + newlines)
        if advance:
            self.line_no = base + buf.count("\n")

    def _line(self, line: str, gates: frozenset[int], line_no: int) -> None:
        key = (line, gates)
        found = self.cache.get(key)
        if found is None:
            found = []
            for g in sorted(gates):
                for idx, pattern in self.sigset.gates[g][1]:
                    m = pattern.search(line)
                    if m is not None:
                        found.append((idx, m.start()))
            if len(line) <= _LINE_CACHE_CHARS:
                if len(self.cache) >= _LINE_CACHE_MAX:
                    self.cache.clear()
                self.cache[key] = found
        for idx, at in found:
            hit = self.hits.get(idx)
            if hit is None:
                self.hits[idx] = _Hit(line_no, _excerpt(line, at), last=line_no)
            elif hit.last != line_no:  # lines arrive in order; one line matching twice counts once
                hit.count += 1
                hit.last = line_no


def _excerpt(line: str, at: int) -> str:
    # tqdm-style output rewrites one terminal line with \r; show only the segment holding the match.
    seg_start = line.rfind("\r", 0, at) + 1
    seg_end = line.find("\r", at)
    text = line[seg_start : seg_end if seg_end != -1 else len(line)]
    text = _ANSI.sub("", text).strip()
    if len(text) > _EXCERPT_MAX:
        rel = max(0, at - seg_start - 60)
        text = ("..." if rel else "") + text[rel : rel + _EXCERPT_MAX - 3] + "..."
    return text


def _results(scanner: _Scanner, limit: int | None, include_generic: bool) -> list[Match]:
    sigs = scanner.sigset.signatures
    out = [
        Match(
            signature_id=sigs[i].id,
            title=sigs[i].title,
            cause=sigs[i].cause,
            fix=sigs[i].fix,
            line=hit.line,
            excerpt=hit.excerpt,
            priority=sigs[i].priority,
            count=hit.count,
            generic=sigs[i].generic,
            catalog_rules=sigs[i].catalog_rules,
            sources=sigs[i].sources,
        )
        for i, hit in scanner.hits.items()
    ]
    if not include_generic and any(not m.generic for m in out):
        out = [m for m in out if not m.generic]
    out.sort(key=lambda m: (-m.priority, m.line, m.signature_id))
    return out if limit is None else out[: max(0, limit)]


def explain_chunks(
    chunks: Iterable[str],
    *,
    limit: int | None = None,
    include_generic: bool = False,
    signatures: SignatureSet | None = None,
) -> list[Match]:
    """Match a log given as consecutive pieces of text (any split; lines may cross pieces).

    Results: one Match per signature, most specific (highest priority) first, ties by first line. Catch-all
    ("generic") signatures are dropped when a specific one matched, unless include_generic.
    """
    scanner = _Scanner(signatures or load_signatures())
    for chunk in chunks:
        scanner.feed(chunk)
    scanner.finish()
    return _results(scanner, limit, include_generic)


def explain_text(
    text: str, *, limit: int | None = None, include_generic: bool = False, signatures: SignatureSet | None = None
) -> list[Match]:
    """Match a whole log held in memory; see explain_chunks for the ordering."""
    return explain_chunks([text], limit=limit, include_generic=include_generic, signatures=signatures)


def iter_blocks(stream: TextIO, block_chars: int = _BLOCK_CHARS) -> Iterator[str]:
    """Blocks of a text stream (a file or stdin) for explain_chunks."""
    while True:
        block = stream.read(block_chars)
        if not block:
            return
        yield block


def explain_file(
    path: str | Path,
    *,
    limit: int | None = None,
    include_generic: bool = False,
    signatures: SignatureSet | None = None,
) -> list[Match]:
    """Match a log file, streamed (bytes that are not UTF-8 are replaced, never fatal).

    Big files go through `grep -F` with the anchors as needles (one pass, ~10x faster than str.find per gate)
    when grep is installed; the result is the same as the pure-Python path.
    """
    p = Path(path)
    sigset = signatures or load_signatures()
    try:
        if p.is_file() and p.stat().st_size >= _GREP_MIN_BYTES:
            scanner = _grep_scan(p, sigset)
            if scanner is not None:
                return _results(scanner, limit, include_generic)
        with p.open("r", encoding="utf-8", errors="replace", newline="") as fh:
            return explain_chunks(iter_blocks(fh), limit=limit, include_generic=include_generic, signatures=sigset)
    except IsADirectoryError as exc:
        raise UsageError(f"{p}: is a directory, not a log file") from exc
    except FileNotFoundError as exc:
        raise UsageError(f"{p}: no such log file") from exc
    except OSError as exc:
        raise UsageError(f"{p}: cannot read log: {exc.strerror or exc}") from exc


def _grep_binary() -> str | None:
    import shutil

    return shutil.which("grep")


def _grep_scan(path: Path, sigset: SignatureSet) -> _Scanner | None:
    """The lines holding a needle, from grep, checked here; None when grep is missing or fails (the caller falls
    back to the Python path).

    grep prints each such line as "NUMBER:TEXT" on a binary pipe (a text-mode pipe would split lines at a lone
    \r). A line longer than _MAX_PENDING is checked in pieces, as the Python path does, so memory stays flat.
    """
    from legacyrun import proc

    grep = _grep_binary()
    if grep is None:
        return None
    argv = [grep, "-F", "-a", "-n"]
    for needle in sigset.needles:
        argv += ["-e", needle]
    argv += ["--", str(path)]
    gates = [gate for gate, _ in sigset.gates]
    scanner = _Scanner(sigset)
    out = proc.stream_bytes(argv, env={"LC_ALL": "C"})  # C locale: byte matching, much faster
    try:
        read = out.stdout.readline
        line_no = 0
        head = True  # the next piece starts a line (it carries "NUMBER:")
        while raw := read(_MAX_PENDING):
            if head:
                num, _, raw = raw.partition(b":")
                line_no = int(num)
            head = raw.endswith(b"\n")
            text = raw.decode("utf-8", "replace").removesuffix("\n")
            found = frozenset(i for i, gate in enumerate(gates) if gate in text)
            if found:
                scanner._line(text, found, line_no)
    except ValueError:  # not grep's output format
        return None
    finally:
        status = out.close()
    if status not in (0, 1):  # 1: no line matched
        return None
    return scanner


# --- documentation ---------------------------------------------------------------------------------------------

_DOC_HEAD = """\
# `legacyrun explain`: known failures, their cause and fix

<!-- Generated from legacyrun/run/signatures.yaml by legacyrun.run.explain.render_docs(); do not edit by hand.
     Regenerate: python -c "from legacyrun.run.explain import write_docs; write_docs()" -->

```
legacyrun explain LOG|- [--json] [--all]
```

Reads a log file (or standard input with `-`), matches every line against the failure signatures below and
prints, for each signature found: its id and title, the first log line that matched (with its line number),
the cause and a concrete fix (a legacyrun command or a recipe change, often a forward-port catalog rule to add
to the recipe's patches).

- Order: most specific first (higher priority), then by first line. Each signature is reported once, with the
  number of lines that matched.
- Catch-all signatures (marked *generic*, e.g. "nvcc failed with exit status 1") are shown only when nothing
  more specific matched; `--all` shows them too and lifts the default limit of 5 matches.
- `--json` prints a list of objects: `signature`, `title`, `cause`, `fix`, `line`, `excerpt`, `priority`,
  `count`, `generic`, `catalog_rules`, `sources`.
- Exit status: **0** when at least one signature matched, **1** when none did, **2** when the log cannot be
  read (missing file, a directory).
- `legacyrun run` and `legacyrun build` call the same matcher on their log when they fail.

A pattern is a Python regex matched within one line. The log is streamed, so files of any size work; a log file
of 4 MiB or more is prefiltered with `grep -F` when grep is installed, with every pattern's literal as a needle
(within 1.5x of that grep alone; the pure-Python path, used otherwise and for standard input, takes about 3-5 s
per 100 MB). Memory stays under 100 MB whatever the size. `bench/explain_speed.py` measures both against grep.

From Python: `legacyrun.run.explain.explain_text(text, limit=None)`, `explain_file(path)`,
`explain_chunks(iterable_of_str)` return `Match` objects (no printing).

## Signatures
"""


def render_docs(sigset: SignatureSet | None = None) -> str:
    """docs/explain.md, generated from the signatures (sorted by id so diffs stay readable)."""
    sigset = sigset or load_signatures()
    parts = [_DOC_HEAD]
    parts.append(f"\n{len(sigset.signatures)} signatures.\n\n| id | failure | priority |\n|---|---|---|\n")
    for sig in sorted(sigset.signatures, key=lambda s: s.id):
        title = sig.title.replace("|", "\\|")
        parts.append(f"| [`{sig.id}`](#{sig.id}) | {title} | {sig.priority}{' (generic)' if sig.generic else ''} |\n")
    for sig in sorted(sigset.signatures, key=lambda s: s.id):
        parts.append(f"\n### {sig.id}\n\n**{sig.title}**\n\n")
        parts.append("Matches (regex, per line):\n\n")
        parts.extend(f"- `` {p} ``\n" for p in sig.patterns)
        parts.append(f"\n**Cause.** {sig.cause}\n\n**Fix.** {sig.fix}\n")
        if sig.catalog_rules:
            parts.append(f"\nCatalog rules: {', '.join(f'`{r}`' for r in sig.catalog_rules)}\n")
        parts.append(f"\nSources: {'; '.join(sig.sources)}\n")
    return "".join(parts)


def write_docs(path: str | Path | None = None) -> Path:
    """Regenerate docs/explain.md (default: the one next to this checkout's package)."""
    from legacyrun.fsutil import atomic_write_text

    target = Path(path) if path is not None else Path(__file__).resolve().parents[2] / "docs" / "explain.md"
    atomic_write_text(target, render_docs())
    return target


__all__ = [
    "SIGNATURES_FILE",
    "Match",
    "Signature",
    "SignatureFileError",
    "SignatureSet",
    "explain_chunks",
    "explain_file",
    "explain_text",
    "iter_blocks",
    "load_signatures",
    "render_docs",
    "write_docs",
]
