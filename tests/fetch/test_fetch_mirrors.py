"""Mirror rules: order of sources, parsing errors; aria2c progress parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from legacyrun.errors import UsageError
from legacyrun.fetch import Mirrors
from legacyrun.fetch.aria2 import parse_readout
from legacyrun.userdirs import config_file


def test_order_cli_env_config_then_original(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("mirrors:\n  https://github.com/:\n    - https://c1/\n    - https://c2/\n")
    m = Mirrors.from_sources(
        ["https://github.com/=https://cli/"], {"LEGACYRUN_MIRRORS": "https://github.com/=https://env/"}, config
    )
    assert m.rewrite("https://github.com/a/b.git") == [
        "https://cli/a/b.git",
        "https://env/a/b.git",
        "https://c1/a/b.git",
        "https://c2/a/b.git",
        "https://github.com/a/b.git",
    ]
    assert m.rewrite("http://other/x") == ["http://other/x"]
    assert m.rewrite_all(["http://a/x", "http://a/x", "http://b/x"]) == ["http://a/x", "http://b/x"]


def test_from_environment_reads_user_config(monkeypatch: pytest.MonkeyPatch) -> None:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("mirrors:\n  http://up/: http://down/\n")
    monkeypatch.setenv("LEGACYRUN_MIRRORS", "http://up/=http://env/;")
    assert Mirrors.from_environment([]).rewrite("http://up/f") == ["http://env/f", "http://down/f", "http://up/f"]


@pytest.mark.parametrize("bad", ["nonsense", "=x", "x="])
def test_bad_rules(bad: str) -> None:
    with pytest.raises(UsageError, match="FROM=TO"):
        Mirrors.from_sources([bad], {}, None)


def test_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("mirrors: [1, 2]\n")
    with pytest.raises(UsageError, match="mapping"):
        Mirrors.from_sources([], {}, config)


def test_aria2_readout() -> None:
    assert parse_readout("[#2089b0 400KiB/1.0MiB(39%) CN:1 DL:115KiB ETA:5s]") == (400 << 10, 1 << 20)
    assert parse_readout("[#dba8af 86MiB/286MiB(30%) CN:4 DL:42MiB ETA:4s]") == (86 << 20, 286 << 20)
    assert parse_readout("[#eac1b6 SEED(0.0) CN:1 SD:0]") is None
    assert parse_readout("FILE: /tmp/x") is None
