"""Property tests: any mix of legacy snippets patches deterministically, idempotently, into compiling Python."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from patching.catalog_fixtures.fixtures import load_fixtures

from legacyrun.patching.catalog import TargetVersions, get_rules
from legacyrun.patching.catalog.engine import apply_text
from legacyrun.patching.catalog.scanner import scan_text

MODERN = TargetVersions("2.6", python="3.12", cuda="12.4")
PY_SNIPPETS = sorted(
    {fx.before for fx in load_fixtures() if fx.file.endswith(".py") and fx.target.startswith("torch=2.6")}
)
RULES = [r for r in get_rules() if r.applies_to(MODERN) and r.auto_fixable and r.matches_file("mixed.py")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PY_SNIPPETS), min_size=1, max_size=5), st.sampled_from(["\n", "\r\n"]))
def test_patch_twice_equals_once_and_compiles(snippets: list[str], newline: str) -> None:
    text = "\n".join(snippets).replace("\n", newline)
    once = apply_text(RULES, "mixed.py", text, MODERN)
    assert apply_text(RULES, "mixed.py", once, MODERN) == once
    assert apply_text(RULES, "mixed.py", text, MODERN) == once, "deterministic"
    compile(once, "mixed.py", "exec")
    assert not [f for f in scan_text("mixed.py", once, RULES) if f.auto_fixable]
