"""GPU selection, argv expansion, provenance files and the skip logic of the step runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from legacyrun.errors import UsageError
from legacyrun.run.gpus import select_gpus
from legacyrun.run.provenance import Provenance, new_run_id, read_runs
from legacyrun.run.runner import expand
from legacyrun.run.steps import Step, run_steps
from legacyrun.workspace import Workspace


@pytest.mark.parametrize(
    ("spec", "available", "count", "ids"),
    [
        (None, 4, 4, ("0", "1", "2", "3")),
        (None, 0, 1, ()),
        ("1", 8, 1, ("0",)),
        ("2", 8, 2, ("0", "1")),
        ("0,2", 4, 2, ("0", "2")),
        ("3", 0, 3, ()),
    ],
)
def test_select_gpus(spec: str | None, available: int, count: int, ids: tuple[str, ...]) -> None:
    sel = select_gpus(spec, available)
    assert (sel.count, sel.ids) == (count, ids)
    assert sel.cuda_visible_devices == ",".join(ids)


@pytest.mark.parametrize("spec", ["0", "-1", "x", "1,1", "0,9", "9"])
def test_select_gpus_rejects(spec: str) -> None:
    with pytest.raises(UsageError):
        select_gpus(spec, 4)


def test_expand_keeps_unknown_braces() -> None:
    assert expand("--gpus={gpus} {other} ${HOME}", {"gpus": "1"}) == "--gpus=1 {other} ${HOME}"


def test_provenance_round_trip(tmp_path: Path) -> None:
    run_id = new_run_id("train")
    prov = Provenance(
        run_id,
        "r",
        "h",
        "train",
        ["python", "x.py"],
        "/w",
        {"A": "1"},
        None,
        {"s": "c" * 40},
        {"p": "d"},
        {},
        {"backend": "venv"},
        {"gpu": None},
        {"count": 1},
    )
    prov.ended = prov.started + 1.5
    prov.exit_code = 0
    prov.write(tmp_path / run_id)
    data = json.loads((tmp_path / run_id / "provenance.json").read_text())
    assert data["exit_code"] == 0 and data["seconds"] == 1.5 and data["sources"] == {"s": "c" * 40}
    assert read_runs(tmp_path)[0]["run_id"] == run_id


def test_steps_skip_when_inputs_unchanged(tmp_path: Path) -> None:
    ws = Workspace.at(tmp_path)
    calls: list[str] = []
    value = {"x": 1}

    def make() -> list[Step]:
        return [Step("a", lambda: dict(value), lambda: calls.append("a") or {"summary": "ran"})]

    assert [o.status for o in run_steps(ws, make())] == ["done"]
    assert [o.status for o in run_steps(ws, make())] == ["skipped"]
    value["x"] = 2
    assert [o.status for o in run_steps(ws, make(), dry_run=True)] == ["planned"]
    assert [o.status for o in run_steps(ws, make())] == ["done"]
    assert calls == ["a", "a"]


def test_up_dry_run_prints_the_plan_and_changes_nothing(tmp_path: Path) -> None:
    from support.cli import run_cli

    ws = tmp_path / "m2f"
    res = run_cli(
        "up",
        "mask2former",
        "--dry-run",
        "--gpu",
        "H100",
        "--driver",
        "550",
        "--gpus",
        "1",
        "--backend",
        "conda",
        "--workspace",
        str(ws),
        "--json",
    )
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    steps = {s["step"]: s for s in report["steps"]}
    assert list(steps) == ["lock", "fetch-code", "fetch-data", "patch", "build", "run"]
    assert all(s["status"] == "planned" for s in steps.values())
    assert "profile modern" in steps["lock"]["detail"] and "CUDA" in steps["lock"]["detail"]
    assert "mask2former@9b0651c6c1" in steps["fetch-code"]["detail"]
    assert not (ws / "legacyrun.lock").exists() and not (ws / "src").exists()


def test_run_without_a_lock_says_what_to_do(tmp_path: Path) -> None:
    from support.cli import run_cli

    res = run_cli("run", "pix2pix", "train", "--workspace", str(tmp_path / "p"))
    assert res.exit_code == 8
    assert "legacyrun lock" in res.stderr and "Traceback" not in res.stderr
