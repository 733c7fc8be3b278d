"""Usage errors through the installed console script: one line on stderr, exit 2, no traceback (unless -v).

The console script is the `legacyrun` beside this interpreter (the same venv); PYTHONPATH puts this checkout first
so the code under test is the one that runs. typer >= 0.29 raises its vendored click's exceptions, which an
`isinstance(exc, click.ClickException)` check misses: these tests fail with a traceback and exit 1 when the catch
site looks at the wrong click.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import CliResult, run_console_script

REPO = Path(__file__).resolve().parents[2]


def console(*args: str) -> CliResult:
    return run_console_script(*args, cwd=REPO, timeout=120)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["up", "pix2pix", "--frob"], "No such option: --frob"),
        (["up"], "Missing argument 'recipe'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["up", "pix2pix", "--wait", "soon"], "Invalid value for '--wait'"),
        (["recipe", "add", "x", "--priority", "high"], "Invalid value for '--priority'"),
        (["up", "pix2pix", "--gpus"], "'--gpus' requires an argument"),
    ],
    ids=["unknown-option", "missing-argument", "unknown-command", "bad-float", "bad-int", "option-without-value"],
)
def test_usage_error_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    res = console(*args)
    assert res.exit_code == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("legacyrun: usage error: ")
    assert says in lines[0]
    assert "--help`" in lines[0]
    assert res.stdout == ""


def test_usage_error_names_the_command_for_help() -> None:
    res = console("up", "pix2pix", "--frob")
    assert "see `legacyrun up --help`" in res.stderr


def test_usage_error_with_json_also_writes_the_error_object() -> None:
    import json

    res = console("--json", "up", "pix2pix", "--frob")
    assert res.exit_code == 2
    err = json.loads(res.stdout)["error"]
    assert err["exit_code"] == 2 and err["type"] == "usage error"
    assert "No such option: --frob" in err["messages"][0]


def test_verbose_usage_error_shows_the_traceback() -> None:
    res = console("-v", "up", "pix2pix", "--frob")
    assert res.exit_code == 2
    assert "Traceback (most recent call last)" in res.stderr
    assert "NoSuchOption" in res.stderr
    assert res.stderr.splitlines()[-1].startswith("legacyrun: usage error: No such option: --frob")


def test_help_and_version_still_work() -> None:
    top = console("--help")
    assert top.exit_code == 0 and top.stdout.startswith("Usage: legacyrun [OPTIONS] COMMAND") and top.stderr == ""
    up = console("up", "--help")
    assert up.exit_code == 0 and up.stdout.startswith("Usage: legacyrun up [OPTIONS]")
    version = console("--version")
    assert version.exit_code == 0 and version.stdout.startswith("legacyrun ")


@pytest.mark.parametrize("args", [[], ["recipe"]], ids=["no-args", "group-without-command"])
def test_no_args_prints_help_not_a_traceback(args: list[str]) -> None:
    res = console(*args)
    assert res.exit_code == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.startswith("Usage: legacyrun")
    assert "Commands:" in res.stderr
