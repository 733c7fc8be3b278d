"""The broken-recipe corpus: every case, run through the real CLI in a subprocess, exits 2 with exactly its
expected `FILE:LINE:COL: field.path: message` lines on stderr and never a traceback.

Each case is tests/fixtures/broken_recipes/<case>.yaml with <case>.expected beside it: the expected stderr lines
without the leading `FILE:` (the test adds the path it passed).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.cli import run_cli, run_inproc

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "broken_recipes"
CASES = sorted(CORPUS.glob("*.yaml"))
LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<field>\([a-z ]+\)|\S+): (?P<message>.+)$")

# Cases whose problem is in a named field: the line must name it (a check on the .expected files themselves).
FIELD_OF = {
    "bad_dataset_url": "datasets[0].urls[0]",
    "bad_git_url": "sources[0].url",
    "bad_yaml_unclosed_flow": "(yaml)",
    "dest_absolute": "datasets[0].dest",
    "dest_escapes_workspace": "datasets[0].dest",
    "duplicate_dataset_names": "datasets[1].name",
    "duplicate_key": "name",
    "duplicate_patch_ids": "patches[1].id",
    "empty_file": "(top level)",
    "invalid_regex": "patches[0].find",
    "invalid_version_specifier": "env.profiles.modern.torch",
    "manual_without_instructions": "datasets[0].kind",
    "missing_commit": "sources[0].commit",
    "missing_modern_profile": "env.profiles",
    "not_utf8": "(file)",
    "number_for_string": "env.profiles.modern.python",
    "short_commit": "sources[0].commit",
    "short_commit_hex": "sources[0].commit",
    "tab_indentation": "(yaml)",
    "top_level_list": "(top level)",
    "torrent_not_a_torrent": "datasets[0].urls[0]",
    "unknown_dataset_in_task": "tasks.train.datasets[1]",
    "unknown_key_nested": "sources[0].submodule",
    "unknown_key_top": "hompage",
    "unknown_source_in_build": "env.profiles.modern.build[0].source",
    "unknown_source_in_patch": "patches[0].source",
    "unknown_source_in_task": "tasks.train.source",
    "unsupported_schema_version": "schema_version",
    "wrong_type_bool": "sources[0].submodules",
    "wrong_type_list": "datasets[0].urls",
}


def _expected(case: Path) -> list[str]:
    lines = case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    return [f"{case}:{line}" for line in lines if line]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert all(c.with_suffix(".expected").is_file() for c in CASES), "every case needs its .expected file"
    assert set(FIELD_OF) <= {c.stem for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_validate_reports_located_lines(case: Path) -> None:
    res = run_cli("recipe", "validate", case)
    assert res.exit_code == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    got = res.stderr.splitlines()
    assert got == _expected(case)
    for line in got:
        m = LINE.match(line)
        assert m, f"not FILE:LINE:COL: field: message: {line!r}"
        assert m["file"] == str(case)
        assert int(m["line"]) >= 1 and int(m["col"]) >= 1
    if case.stem in FIELD_OF:
        assert [LINE.match(x)["field"] for x in got[:1]] == [FIELD_OF[case.stem]]  # type: ignore[index]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_show_gives_the_same_error(case: Path) -> None:
    res = run_inproc("show", case)
    assert res.exit_code == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.splitlines() == _expected(case)


@pytest.mark.parametrize("stem", ["short_commit", "not_utf8", "bad_yaml_unclosed_flow", "dest_escapes_workspace"])
def test_show_subprocess_one_line_and_exit_2(stem: str) -> None:
    case = CORPUS / f"{stem}.yaml"
    res = run_cli("show", case)
    assert res.exit_code == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.splitlines() == _expected(case)
    assert len(res.stderr.splitlines()) == 1
    assert res.stdout == ""


def test_verbose_prints_a_traceback() -> None:
    case = CORPUS / "short_commit.yaml"
    res = run_cli("-v", "show", case)
    assert res.exit_code == 2
    assert "Traceback (most recent call last)" in res.stderr
    assert "RecipeError" in res.stderr
    assert _expected(case)[0] in res.stderr.splitlines()


def test_validate_many_files_reports_all_problems() -> None:
    cases = [CORPUS / "short_commit.yaml", CORPUS / "dest_absolute.yaml"]
    res = run_cli("recipe", "validate", *cases)
    assert res.exit_code == 2
    assert res.stderr.splitlines() == _expected(cases[0]) + _expected(cases[1])


def test_validate_json_lists_problems_per_file(repo_root: Path) -> None:
    good = repo_root / "recipes" / "pix2pix.yaml"
    bad = CORPUS / "several_problems.yaml"
    res = run_inproc("recipe", "validate", "--json", good, bad)
    assert res.exit_code == 2
    data = json.loads(res.stdout)
    assert [r["ok"] for r in data] == [True, False]
    assert data[1]["problems"] == _expected(bad)


def test_show_of_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    res = run_inproc("show", tmp_path / "nope.yaml")
    assert res.exit_code == 2
    assert "recipe file not found" in res.stderr
