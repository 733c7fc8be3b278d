"""venv backend for real: the modern CPU profile with torch==2.13.0 installs (hash-pinned) and imports torch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support.backend_plans import PlanFactory, resolution

from legacyrun.backends.requirements import LOCK_NAME
from legacyrun.backends.venv import VenvBackend
from legacyrun.errors import BuildError

PY = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.mark.slow
def test_modern_cpu_profile_installs_and_imports_torch(make_plan: PlanFactory, tmp_path: Path) -> None:
    res = resolution(python=PY, torch="2.13.0", pip_specs=["torch==2.13.0"])
    plan = make_plan(res, profiles={"modern": {"python": PY, "torch": "2.13.0"}}, workspace=tmp_path / "ws")
    backend = VenvBackend()
    lines: list[str] = []
    ref = backend.build(plan, lines.append)
    assert ref.built and backend.exists(plan)
    lock = (tmp_path / "ws" / LOCK_NAME).read_text()
    torch_line = next(ln for ln in lock.splitlines() if ln.lower().startswith("torch=="))
    assert torch_line.startswith("torch==2.13.0") and "--hash=sha256:" in torch_line

    stream = backend.exec(
        ref,
        ["python", "-c", "import torch, sys; print(torch.__version__, sys.prefix)"],
        cwd=tmp_path,
        workspace=plan.workspace,
    )
    out = list(stream)
    assert stream.returncode == 0, out
    assert out[-1].startswith("2.13.0") and out[-1].endswith(str(tmp_path / "ws" / "env"))
    assert not backend.build(plan, lines.append).built


def test_conda_only_profile_is_refused(make_plan: PlanFactory) -> None:
    plan = make_plan(resolution(installer="conda", torch="0.2.0", python="3.6"))
    with pytest.raises(BuildError, match="from conda, not PyPI") as err:
        VenvBackend().build(plan)
    assert "--backend conda" in (err.value.hint or "")
