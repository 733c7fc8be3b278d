"""legacyrun's forward-port catalog: rules as data (rules.yaml) plus the transforms that apply them.

Each auto-fixable rule names a transform and its params in rules.yaml; transforms register once with
`@transform("name", site_check=...)` (registry.py) in transforms_regex.py, transforms_py.py, transforms_native.py
and codemods.py; their name tables are data/*.yaml.

Public API (the patch engine and the `scan` command use exactly these):
    apply_rules(root, rule_ids, files, exclude, target) -> {relpath: (old_text, new_text)}   (reads only)
    scan(root, target=None, *, rule_ids=None) -> list[Finding]
    TargetVersions(torch, python=None, cuda=None), get_rules(), expand_rule_ids(ids), rule_sets()
"""

from __future__ import annotations

from legacyrun.patching.catalog.engine import apply_rules
from legacyrun.patching.catalog.model import Finding, Rule, TargetVersions, expand_rule_ids, rule_sets
from legacyrun.patching.catalog.model import get_rules as _get_rules
from legacyrun.patching.catalog.scanner import scan


def get_rules() -> list[Rule]:
    """Every catalog rule, in application order."""
    return list(_get_rules())


__all__ = ["Finding", "Rule", "TargetVersions", "apply_rules", "expand_rule_ids", "get_rules", "rule_sets", "scan"]
