"""`legacyrun smoke list` and `legacyrun smoke generate`, in-process and through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import run_cli, run_inproc

from legacyrun.smoke import MARKER, generators


def test_list_names_every_generator_with_its_options() -> None:
    res = run_inproc("smoke", "list")
    assert res.exit_code == 0, res.stderr
    for gen in generators().values():
        assert f"{gen.name}: {gen.imitates}" in res.stdout
    assert "  images=4  Images per split (training, validation)." in res.stdout
    assert "  ext=jpg (jpg|png)  " in res.stdout
    assert "  velodyne=true  " in res.stdout


def test_list_json() -> None:
    res = run_inproc("smoke", "list", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [g["name"] for g in doc] == list(generators())
    ade = doc[0]
    assert ade["options"][0] == {
        "name": "images",
        "type": "int",
        "default": 4,
        "help": "Images per split (training, validation).",
        "minimum": 1,
        "maximum": 10000,
    }
    assert "annotations_detectron2" in ade["layout"]


def test_generate_then_generate_again(tmp_path: Path) -> None:
    dest = tmp_path / "pairs"
    res = run_inproc("smoke", "generate", "aligned-pairs", dest, "--option", "images=1", "-o", "size=16")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == f"aligned-pairs: 3 files written in {dest}"
    assert (dest / MARKER).is_file() and (dest / "test" / "1.jpg").is_file()
    res = run_inproc("smoke", "generate", "aligned-pairs", dest, "-o", "images=1", "-o", "size=16", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["reused"] is True and doc["count"] == 3 and doc["options"] == {"images": 1, "size": 16, "seed": 0}
    assert len(doc["sha256"]) == 64


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cases = [
        (["smoke", "generate", "nope", tmp_path / "x"], "smoke generator 'nope': unknown (known: ade20k-semseg,"),
        (
            ["smoke", "generate", "coco-instances", tmp_path / "x", "-o", "imags=2"],
            "smoke generator coco-instances: option 'imags': unknown option (known: images, size, objects, seed)",
        ),
        (
            ["smoke", "generate", "coco-instances", tmp_path / "x", "-o", "size=big"],
            "smoke generator coco-instances: option 'size': expected an integer, got 'big'",
        ),
    ]
    for args, message in cases:
        res = run_cli(*args)
        assert res.exit_code == 2, res.stderr
        assert res.stderr.strip() == f"legacyrun: usage error: {message}" or message in res.stderr
        assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    res = run_cli("smoke", "generate", "coco-instances", tmp_path / "x", "-o", "size=big", "--json")
    assert res.exit_code == 2
    assert json.loads(res.stdout)["error"]["exit_code"] == 2
