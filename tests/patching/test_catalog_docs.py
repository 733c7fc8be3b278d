"""docs/catalog.md is generated from the rules and must not go stale."""

from __future__ import annotations

from pathlib import Path

from legacyrun.patching.catalog import get_rules
from legacyrun.patching.catalog.docs import main, render


def test_catalog_doc_is_fresh(repo_root: Path) -> None:
    doc = repo_root / "docs" / "catalog.md"
    assert doc.read_text(encoding="utf-8") == render(), (
        "docs/catalog.md is stale: run `python -m legacyrun.patching.catalog.docs`"
    )


def test_doc_lists_every_rule() -> None:
    text = render()
    for rule in get_rules():
        assert f'<a id="{rule.id}"></a>' in text


def test_check_mode_reports_stale(tmp_path: Path) -> None:
    path = tmp_path / "catalog.md"
    assert main(["--check", str(path)]) == 1
    assert main([str(path)]) == 0
    assert main(["--check", str(path)]) == 0
