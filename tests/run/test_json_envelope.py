"""--json output: every result object carries the `legacyrun/v1` envelope keys next to its own, and an error is an
enveloped object with a stable string code (docs/exit-codes.md, "JSON output")."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import run_cli, run_inproc


def test_up_dry_run_json_has_the_envelope_and_its_own_keys(tmp_path: Path) -> None:
    ws = tmp_path / "p2p"
    res = run_inproc("up", "pix2pix", "--dry-run", "--cpu", "--backend", "venv", "-w", str(ws), "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert (data["schema"], data["command"], data["ok"]) == ("legacyrun/v1", "up", True)
    # the result's own keys stay at the top level (what existing consumers read)
    assert {"task", "backend", "profile", "steps", "adaptation", "run", "seconds"} <= set(data)
    assert [s["step"] for s in data["steps"]][-1] == "run"
    assert "fixes" not in data  # only for `up URL`


def test_a_group_command_is_named_in_full_and_the_name_is_reset_between_commands(tmp_path: Path) -> None:
    shown = json.loads(run_inproc("--json", "show", "pix2pix").stdout)
    assert (shown["command"], shown["ok"], shown["name"]) == ("show", True, "pix2pix")
    made = json.loads(
        run_inproc("smoke", "generate", "aligned-pairs", "-o", "images=2", str(tmp_path / "t"), "--json").stdout
    )
    assert (made["command"], made["ok"], made["generator"]) == ("smoke generate", True, "aligned-pairs")
    listed = json.loads(run_inproc("smoke", "list", "--json").stdout)
    assert isinstance(listed, list)  # listings stay bare arrays


def test_an_error_in_json_mode_is_an_enveloped_object_with_a_stable_code(tmp_path: Path) -> None:
    # a real subprocess: the exit code and stderr as a user meets them
    res = run_cli("run", "pix2pix", "train", "--workspace", str(tmp_path / "p"), "--json")
    assert res.exit_code == 8
    data = json.loads(res.stdout)
    assert (data["schema"], data["command"], data["ok"]) == ("legacyrun/v1", "run", False)
    error = data["error"]
    assert (error["code"], error["exit_code"], error["type"]) == ("lock_error", 8, "lock")
    assert error["message"] == error["messages"][0] and "no lockfile" in error["message"]
    assert "legacyrun lock" in res.stderr and "Traceback" not in res.stderr  # stderr unchanged


def test_a_usage_error_before_the_command_parsed_names_the_command_typed() -> None:
    res = run_inproc("status", "--json")  # RECIPE missing: click's usage error, before options() ran
    assert res.exit_code == 2
    data = json.loads(res.stdout)
    assert (data["command"], data["ok"], data["error"]["code"], data["error"]["exit_code"]) == (
        "status",
        False,
        "usage_error",
        2,
    )
    unknown = json.loads(run_inproc("status", "no-such-recipe", "--json").stdout)
    assert (unknown["command"], unknown["error"]["code"]) == ("status", "usage_error")
