"""docs/explain.md rendered from the signatures: the command's reference and one section per signature.

Apart from the scan, so that explaining a log never imports it; a test keeps the file in step with the data.
"""

from __future__ import annotations

from pathlib import Path

from legacyrun.diagnose.signatures import SignatureSet, load_signatures
from legacyrun.fsutil import atomic_write_text

_DOC_HEAD = """\
# `legacyrun explain`: known failures, their cause and fix

<!-- Generated from legacyrun/diagnose/data/signatures.yaml by legacyrun.diagnose.docs.render_docs(); do not
     edit by hand. Regenerate: python -c "from legacyrun.diagnose.docs import write_docs; write_docs()" -->

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
  `count`, `generic`, `catalog_rules`, `sources`, `cpu_rules`.
- `up <git URL> --smoke` applies a signature's `cpu_rules` on a CPU plan to the file of the failure's innermost
  traceback frame in the project (a recipe edit it records), and its `catalog_rules` to the profile's catalog patch.
- Exit status: **0** when at least one signature matched, **1** when none did, **2** when the log cannot be
  read (missing file, a directory).
- `legacyrun run` and `legacyrun build` call the same matcher on their log when they fail.

A pattern is a Python regex matched within one line. The log is streamed, so files of any size work; a log file
of 4 MiB or more is prefiltered with `grep -F` when grep is installed, with every pattern's literal as a needle
(within 1.5x of that grep alone; the pure-Python path, used otherwise and for standard input, takes about 3-5 s
per 100 MB). Memory stays under 100 MB whatever the size. `bench/explain_speed.py` measures both against grep.

From Python: `legacyrun.diagnose.explain_text(text, limit=None)`, `explain_file(path)`,
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
        if sig.cpu_rules:
            rules = ", ".join(f"`{r}`" for r in sig.cpu_rules)
            parts.append(f"\nOn a CPU plan, in the failing file: {rules}\n")
        parts.append(f"\nSources: {'; '.join(sig.sources)}\n")
    return "".join(parts)


def write_docs(path: str | Path | None = None) -> Path:
    """Regenerate docs/explain.md (default: the one next to this checkout's package)."""
    target = Path(path) if path is not None else Path(__file__).resolve().parents[2] / "docs" / "explain.md"
    atomic_write_text(target, render_docs())
    return target


__all__ = ["render_docs", "write_docs"]
