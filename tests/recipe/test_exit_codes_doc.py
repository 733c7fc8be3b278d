"""docs/exit-codes.md lists exactly the exit codes of legacyrun/errors.py (plus 0), one row per error class."""

from __future__ import annotations

import re
from pathlib import Path

from legacyrun.errors import ALL_ERRORS

ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|")


def _rows(repo_root: Path) -> list[tuple[int, str]]:
    text = (repo_root / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            rows.append((int(m.group(1)), m.group(2).strip("` ")))
    return rows


def test_every_error_class_is_documented_with_its_code(repo_root: Path) -> None:
    documented = {name: code for code, name in _rows(repo_root)}
    for cls in ALL_ERRORS:
        assert cls.__name__ in documented, f"docs/exit-codes.md has no row for {cls.__name__}"
        assert documented[cls.__name__] == cls.exit_code, (
            f"{cls.__name__}: docs say {documented[cls.__name__]}, errors.py says {cls.exit_code}"
        )


def test_doc_lists_no_unknown_classes_or_codes(repo_root: Path) -> None:
    rows = _rows(repo_root)
    names = {cls.__name__ for cls in ALL_ERRORS}
    extra = [name for code, name in rows if code != 0 and name not in names]
    assert not extra, f"docs/exit-codes.md documents classes errors.py does not have: {extra}"
    assert {code for code, _ in rows} == {0} | {cls.exit_code for cls in ALL_ERRORS}


def test_doc_says_run_passes_the_task_exit_code_through(repo_root: Path) -> None:
    text = (repo_root / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    assert "passes the task's exit code through" in text


CODE_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*`([^`|]+)`\s*\|\s*`([^`|]+)`\s*\|")


def test_every_error_class_has_a_distinct_documented_string_code(repo_root: Path) -> None:
    """The `code` of --json errors is a stable contract: one per class, snake_case, in the doc's table."""
    text = (repo_root / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    documented = {m.group(2): m.group(3) for m in map(CODE_ROW.match, text.splitlines()) if m}
    codes = [cls.code for cls in ALL_ERRORS]
    assert len(set(codes)) == len(codes), f"two error classes share a code: {codes}"
    for cls in ALL_ERRORS:
        assert re.fullmatch(r"[a-z][a-z_]*", cls.code), f"{cls.__name__}.code {cls.code!r} is not snake_case"
        assert documented.get(cls.__name__) == cls.code, (
            f"{cls.__name__}: docs/exit-codes.md says {documented.get(cls.__name__)!r}, errors.py says {cls.code!r}"
        )
