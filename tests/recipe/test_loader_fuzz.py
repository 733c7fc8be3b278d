"""Property: whatever damage a recipe file takes, the loader either accepts it or raises RecipeError whose every
line is `FILE:LINE:COL: field: message` with a line inside the file; it never raises anything else."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legacyrun.errors import RecipeError
from legacyrun.recipe.loader import parse_text
from legacyrun.recipe.refs import builtin_dir

TEXTS = [p.read_text(encoding="utf-8") for p in sorted(builtin_dir().glob("*.yaml"))]
LINE = re.compile(r"^x\.yaml:(\d+):(\d+): (\([a-z ]+\)|\S+): .+$")
JUNK = ["\t", ":", "- ", "[", "]", "{", "}", '"', "'", "&a ", "*a", "!!python/name:os.system ", "<<: ", "#", "\n"]


@st.composite
def damaged(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(TEXTS)).splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "insert", "dedent", "indent"]))
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "insert":
            pos = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + draw(st.sampled_from(JUNK)) + lines[i][pos:]
        elif action == "dedent":
            lines[i] = lines[i].removeprefix("  ")
        else:
            lines[i] = "  " + lines[i]
        if not lines:
            break
    return "".join(lines)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_recipes_fail_cleanly(text: str) -> None:
    try:
        parse_text(text, "x.yaml")
    except RecipeError as exc:
        assert exc.problems
        n_lines = text.count("\n") + 2
        for line in exc.problems:
            m = LINE.match(line)
            assert m, line
            assert 1 <= int(m.group(1)) <= n_lines, line
