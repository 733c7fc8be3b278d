"""`scan`: every catalog finding in a tree, fast enough for big repositories.

Each file is read once; a rule's detect regex only runs when the file's name matches the rule's globs and one of
the rule's literal keywords occurs in the text (substring search is far cheaper than a regex pass).
"""

from __future__ import annotations

import bisect
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from legacyrun.errors import PatchError
from legacyrun.patching.catalog.engine import file_matches, read_text, sites, walk_files
from legacyrun.patching.catalog.model import Finding, Rule, TargetVersions, expand_rule_ids, get_rules, rules_by_id

_NL = re.compile("\n")
PARALLEL_MIN_FILES = 3000  # below this, process start-up costs more than it saves


def scan(root: Path, target: TargetVersions | None = None, *, rule_ids: list[str] | None = None) -> list[Finding]:
    """Findings of the rules (all, or `rule_ids` incl. `set:` names) that apply to `target` (forward rules when
    None), sorted by path, line, column, rule id."""
    root = Path(root)
    if not root.exists():
        raise PatchError(f"{root}: no such file or directory to scan")
    # device rules (a CPU plan meeting GPU-only code) are found only when asked for: everything calls .cuda()
    rules = expand_rule_ids(rule_ids) if rule_ids else [r for r in get_rules() if r.direction != "device"]
    rules = [r for r in rules if r.applies_to(target)]
    if not rules:
        return []
    jobs: list[tuple[str, str, list[str]]] = []
    for rel, path in walk_files(root):
        cands = [r.id for r in rules if file_matches(r, rel)]
        if cands:
            jobs.append((rel, str(path), cands))
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) >= PARALLEL_MIN_FILES and workers > 1:
        size = max(64, len(jobs) // (workers * 4))
        chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        findings: list[Finding] = []
        # Forked workers would flush a copy of whatever the caller left buffered.
        sys.stdout.flush()
        sys.stderr.flush()
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for part in pool.map(_scan_chunk, chunks):
                findings.extend(part)
    else:
        findings = _scan_chunk(jobs)
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id))
    return findings


def _scan_chunk(jobs: list[tuple[str, str, list[str]]]) -> list[Finding]:
    by_id = rules_by_id()
    out: list[Finding] = []
    for rel, path, ids in jobs:
        text = read_text(Path(path))
        if text is None:
            continue
        out.extend(scan_text(rel, text, [by_id[i] for i in ids]))
    return out


def scan_text(rel: str, text: str, rules: list[Rule]) -> list[Finding]:
    """Findings of `rules` in one file's text (the rules' file globs are not checked here)."""
    out: list[Finding] = []
    starts: list[int] | None = None
    for rule in rules:
        for pos, ls, line, auto in sites(rule, text):
            if starts is None:
                starts = [0, *(m.end() for m in _NL.finditer(text))]
            out.append(
                Finding(
                    path=rel,
                    line=bisect.bisect_right(starts, ls),
                    column=pos - ls + 1,
                    rule_id=rule.id,
                    lang=rule.lang,
                    what_breaks=rule.what_breaks,
                    broke_in=rule.broke_in,
                    fix=rule.fix,
                    auto_fixable=auto,
                    excerpt=line.strip()[:160],
                )
            )
    return out


__all__ = ["scan", "scan_text"]
