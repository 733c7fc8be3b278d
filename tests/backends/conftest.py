"""Fixtures of the backend tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.backend_plans import PlanFactory, plan_factory


@pytest.fixture
def make_plan(tmp_path: Path) -> PlanFactory:
    """make_plan(res, profiles=..., workspace=..., **plan fields) -> BuildPlan with a recipe file on disk."""
    return plan_factory(tmp_path)
