"""One legacyrun cache for the real-code tests of a session: the download cache, the bare git mirrors, the wheel
cache and ccache are shared, so a project compiled by one test (the curated recipe) is a ccache hit for the next
(the same project from its URL), as it would be on a researcher's machine."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def realcode_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("realcode-cache")
