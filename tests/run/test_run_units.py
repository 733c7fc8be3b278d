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


# -- argument order and smoke (issue: `--num-gpus 1` after MODEL.WEIGHTS stopped detectron2) ---------------------


def test_adapted_options_go_before_key_value_pairs() -> None:
    from legacyrun.run.runner import merge_args

    base = ["python", "train_net.py", "--config-file", "c.yaml", "MODEL.WEIGHTS", "/w/R-50.pkl"]
    adapted = ["--num-gpus", "1", "SOLVER.IMS_PER_BATCH", "2"]
    smoke = ["MODEL.WEIGHTS", "", "--eval-only"]
    assert merge_args(base, adapted, smoke) == [
        "python", "train_net.py", "--config-file", "c.yaml", "--num-gpus", "1", "--eval-only",
        "MODEL.WEIGHTS", "/w/R-50.pkl", "SOLVER.IMS_PER_BATCH", "2", "MODEL.WEIGHTS", "",
    ]  # fmt: skip


def test_script_without_pairs_gets_options_then_pairs() -> None:
    from legacyrun.run.runner import merge_args

    assert merge_args(["bash", "train.sh"], ["--skip-test", "MODEL.DEVICE", "cpu"]) == [
        "bash", "train.sh", "--skip-test", "MODEL.DEVICE", "cpu",
    ]  # fmt: skip


def test_file_names_are_not_config_keys() -> None:
    from legacyrun.run.runner import is_config_key

    assert is_config_key("SOLVER.BASE_LR") and is_config_key("INPUT.CROP.SIZE")
    assert not any(is_config_key(a) for a in ("R-50.pkl", "README.md", "--num-gpus", "model.pth", "A"))


def test_weights_overridden_away_are_not_needed(tmp_path: Path) -> None:
    from legacyrun.run.gpus import select_gpus
    from legacyrun.run.runner import needed_datasets, task_command
    from legacyrun.share.registry import load
    from legacyrun.workspace import Workspace

    loaded = load("mask2former")
    ws = Workspace.at(tmp_path)
    gpus = select_gpus("1", 0)
    _t, argv, _c, _e = task_command(loaded, ws, "train", gpus)
    assert needed_datasets(loaded, ws, "train", argv) == ["ade20k", "r50-torchvision"]
    _t, argv, _c, _e = task_command(loaded, ws, "train", gpus, extra_args=["MODEL.WEIGHTS", ""])
    assert needed_datasets(loaded, ws, "train", argv) == ["ade20k"]
    assert needed_datasets(loaded, ws, "train", argv, smoke=True) == []


def test_smoke_task_command_uses_smoke_args_env_and_placeholders(tmp_path: Path) -> None:
    from legacyrun.run.gpus import select_gpus
    from legacyrun.run.runner import task_command
    from legacyrun.share.registry import load
    from legacyrun.workspace import Workspace

    loaded = load("mask2former")
    ws = Workspace.at(tmp_path)
    _t, argv, _c, env = task_command(
        loaded, ws, "train", select_gpus("1", 0), smoke=True, run_dir=tmp_path / "runs" / "r1"
    )
    assert env["DETECTRON2_DATASETS"] == f"{tmp_path}/smoke/detectron2" and env["LEGACYRUN_SMOKE"] == "1"
    assert argv[argv.index("MODEL.DEVICE") + 1] == "cpu"
    assert argv[argv.index("OUTPUT_DIR") + 1] == f"{tmp_path}/runs/r1/output"


def test_smoke_needs_smoke_settings(tmp_path: Path) -> None:
    from legacyrun.errors import UsageError
    from legacyrun.run.runner import task_of
    from legacyrun.share.registry import load

    with pytest.raises(UsageError, match="has no smoke settings"):
        task_of(load("mask2former"), "check-op", smoke=True)
