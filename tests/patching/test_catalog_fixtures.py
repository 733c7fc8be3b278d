"""Every catalog rule against its hand-written before/after fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from patching.catalog_fixtures.fixtures import Fixture, load_fixtures

from legacyrun.patching.catalog import TargetVersions, apply_rules, get_rules
from legacyrun.patching.catalog.engine import apply_text
from legacyrun.patching.catalog.model import rules_by_id
from legacyrun.patching.catalog.scanner import scan_text

FIXTURES = load_fixtures()


def test_every_rule_has_fixtures() -> None:
    covered = {fx.rule for fx in FIXTURES}
    rules = get_rules()
    assert len(rules) >= 60
    assert {r.id for r in rules} <= covered
    fixed = {fx.rule for fx in FIXTURES if fx.after is not None}
    assert {r.id for r in rules if r.auto_fixable} <= fixed
    assert fixed <= {r.id for r in rules if r.auto_fixable}


@pytest.mark.parametrize("fx", FIXTURES, ids=lambda fx: fx.name)
def test_fixture(fx: Fixture) -> None:
    rule = rules_by_id()[fx.rule]
    target = TargetVersions.parse(fx.target)
    assert rule.applies_to(target)
    assert rule.matches_file(fx.file)
    before = scan_text(fx.file, fx.before, [rule])
    assert before, "the detect regex must flag the fixture"
    got = apply_text([rule], fx.file, fx.before, target)
    if fx.after is None:
        assert not any(f.auto_fixable for f in before)
        assert got == fx.before
        return
    assert any(f.auto_fixable for f in before)
    assert got == fx.after
    assert apply_text([rule], fx.file, got, target) == got, "applying twice must equal applying once"
    assert not [f for f in scan_text(fx.file, got, [rule]) if f.auto_fixable]
    if fx.file.endswith(".py"):
        compile(got, fx.file, "exec")


@pytest.mark.parametrize("fx", [fx for fx in FIXTURES if fx.after is not None], ids=lambda fx: fx.name)
def test_rule_is_not_applied_outside_its_versions(fx: Fixture, tmp_path: Path) -> None:
    rule = rules_by_id()[fx.rule]
    path = tmp_path / fx.file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fx.before, encoding="utf-8")
    for text in ("torch=0.2,python=2.7,cuda=8.0", "torch=1.0,cuda=9.0", "torch=1.9", "torch=2.6,python=3.12,cuda=12.4"):
        target = TargetVersions.parse(text)
        changed = apply_rules(tmp_path, [fx.rule], [], [], target)
        assert bool(changed) == rule.applies_to(target), text
