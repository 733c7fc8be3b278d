"""The excerpt collector: every file of excerpts/ (format: support/excerpts.py) is one log excerpt with the
signature `legacyrun explain` must report first for it. A test that takes an `excerpt` argument runs once per file
(its id is the file name); the `excerpts` fixture gives them all (the big-log tests concatenate them).
"""

from __future__ import annotations

import pytest
from support.excerpts import Excerpt, load_excerpts


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "excerpt" in metafunc.fixturenames:
        found = load_excerpts()
        metafunc.parametrize("excerpt", found, ids=[e.name for e in found])


@pytest.fixture(scope="session")
def excerpts() -> list[Excerpt]:
    return load_excerpts()
