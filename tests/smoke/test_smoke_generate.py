"""The registry and `generate`: options, determinism, atomic writes, re-runs that write nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from legacyrun.errors import UsageError
from legacyrun.smoke import MARKER, generate, generators, parse_option_args, read_marker
from legacyrun.smoke.core import OptionValue, Output, content_hash

NAMES = ["ade20k-semseg", "aligned-pairs", "coco-instances", "icdar-words", "kitti-stereo", "synthtext-chars"]
# Small but complete: every kind of file each generator writes, fast.
SMALL: dict[str, dict[str, OptionValue]] = {
    "ade20k-semseg": {"images": 1, "size": 24},
    "aligned-pairs": {"images": 1, "size": 16},
    "coco-instances": {"images": 1, "size": 24},
    "icdar-words": {"images": 1, "test_images": 1, "test_gts": True, "size": 48},
    "kitti-stereo": {"frames": 3, "width": 32, "height": 16},
    "synthtext-chars": {"images": 1, "size": 48},
}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_generator_names_are_the_contract() -> None:
    assert list(generators()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_generator_documents_its_layout_and_takes_a_seed(name: str) -> None:
    gen = generators()[name]
    assert gen.layout.startswith("Layout (`dest` is")
    assert gen.option("seed") is not None and gen.option("seed").default == 0  # type: ignore[union-attr]
    assert gen.imitates and gen.summary
    doc = gen.to_dict()
    assert doc["name"] == name and {o["name"] for o in doc["options"]} >= {"seed"}


@pytest.mark.parametrize("name", NAMES)
def test_output_is_byte_deterministic(name: str, tmp_path: Path) -> None:
    a = generate(name, tmp_path / "a", SMALL[name])
    b = generate(name, tmp_path / "b", SMALL[name])
    assert not a.reused and not b.reused
    assert a.sha256 == b.sha256 and a.files == b.files and a.count == len(a.files) > 0
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    other = generate(name, tmp_path / "c", {**SMALL[name], "seed": 1})
    assert other.sha256 != a.sha256


@pytest.mark.parametrize("name", NAMES)
def test_result_and_marker_describe_the_files_on_disk(name: str, tmp_path: Path) -> None:
    result = generate(name, tmp_path / "out", SMALL[name])
    on_disk = _tree(tmp_path / "out")
    assert set(on_disk) == {*result.files, MARKER}
    assert result.sha256 == content_hash({rel: hashlib.sha256(on_disk[rel]).hexdigest() for rel in result.files})
    marker = read_marker(tmp_path / "out")
    assert marker is not None
    assert marker["sha256"] == result.sha256 and marker["files"] == list(result.files)
    assert marker["options"] == result.options
    doc = result.to_dict()
    assert doc["count"] == result.count and doc["generator"] == name and doc["reused"] is False
    json.dumps(doc)


def test_rerun_with_the_same_options_writes_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "ade"
    first = generate("ade20k-semseg", dest, {"images": 1, "size": 16})
    stamps = {p: p.stat().st_mtime_ns for p in dest.rglob("*")}
    again = generate("ade20k-semseg", dest, {"size": 16, "images": 1, "seed": 0})  # defaults spelt out: same
    assert again.reused and again.sha256 == first.sha256 and again.files == first.files
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*")} == stamps


def test_other_options_replace_an_earlier_output(tmp_path: Path) -> None:
    dest = tmp_path / "pairs"
    generate("aligned-pairs", dest, {"images": 2, "size": 16})
    assert (dest / "train" / "2.jpg").is_file()
    result = generate("aligned-pairs", dest, {"images": 1, "size": 16})
    assert not result.reused
    assert not (dest / "train" / "2.jpg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs"]  # nothing left beside it


def test_a_missing_file_makes_the_output_incomplete(tmp_path: Path) -> None:
    dest = tmp_path / "pairs"
    generate("aligned-pairs", dest, {"images": 1, "size": 16})
    (dest / "val" / "1.jpg").unlink()
    result = generate("aligned-pairs", dest, {"images": 1, "size": 16})
    assert not result.reused and (dest / "val" / "1.jpg").is_file()


def test_refuses_to_replace_a_directory_that_is_not_a_smoke_output(tmp_path: Path) -> None:
    dest = tmp_path / "real-data"
    dest.mkdir()
    (dest / "precious.jpg").write_bytes(b"keep me")
    with pytest.raises(UsageError, match="not a smoke output"):
        generate("aligned-pairs", dest, {"images": 1, "size": 16})
    assert _tree(dest) == {"precious.jpg": b"keep me"}


def test_an_existing_empty_directory_is_filled(tmp_path: Path) -> None:
    dest = tmp_path / "empty"
    dest.mkdir()
    assert generate("aligned-pairs", dest, {"images": 1, "size": 16}).count == 3


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("ade20k", {}, "smoke generator 'ade20k': unknown (known: ade20k-semseg, aligned-pairs,"),
        ("ade20k-semseg", {"imags": 2}, "smoke generator ade20k-semseg: option 'imags': unknown option (known: images"),
        ("ade20k-semseg", {"images": "2"}, "option 'images': expected an integer, got '2'"),
        ("ade20k-semseg", {"images": True}, "option 'images': expected an integer, got True"),
        ("ade20k-semseg", {"size": 8}, "option 'size': 8 is below the minimum 16"),
        ("ade20k-semseg", {"images": 10**6}, "option 'images': 1000000 is above the maximum 10000"),
        ("icdar-words", {"dontcare": 1}, "smoke generator icdar-words: option 'dontcare': expected true or false"),
        ("kitti-stereo", {"ext": "bmp"}, "option 'ext': 'bmp' is not one of jpg, png"),
        ("kitti-stereo", {"ext": 3}, "option 'ext': expected a string, got 3"),
    ],
)
def test_bad_options_are_one_located_line_and_write_nothing(
    name: str, options: Mapping[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(UsageError) as info:
        generate(name, tmp_path / "out", options)
    assert message in info.value.message
    assert "\n" not in info.value.message
    assert list(tmp_path.iterdir()) == []  # no destination, no temp directory


def test_options_from_the_command_line_are_typed_by_the_generator() -> None:
    got = parse_option_args("kitti-stereo", ["frames=4", "velodyne=false", "ext=png", "seed= 3"])
    assert got == {"frames": 4, "velodyne": False, "ext": "png", "seed": 3}
    for bad, message in (
        (["frames"], "option 'frames': expected KEY=VALUE"),
        (["frames=x"], "option 'frames': expected an integer, got 'x'"),
        (["velodyne=maybe"], "option 'velodyne': expected true or false, got 'maybe'"),
        (["fps=10"], "option 'fps': unknown option (known: drives, frames,"),
    ):
        with pytest.raises(UsageError, match=None) as info:
            parse_option_args("kitti-stereo", bad)
        assert message in info.value.message


def _failing(after: int) -> object:
    def write(out: Output, opts: Mapping[str, OptionValue]) -> None:
        for i in range(after):
            out.text(f"part/{i}.txt", "half a dataset")
        raise RuntimeError("killed while writing")

    return write


def test_a_failure_while_writing_leaves_no_partial_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gen = generators()["aligned-pairs"]
    monkeypatch.setitem(generators(), "aligned-pairs", dataclasses.replace(gen, write=_failing(3)))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="killed while writing"):
        generate("aligned-pairs", tmp_path / "pairs", {"images": 1, "size": 16})
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_replacing_keeps_the_previous_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "pairs"
    generate("aligned-pairs", dest, {"images": 1, "size": 16})
    before = _tree(dest)
    gen = generators()["aligned-pairs"]
    monkeypatch.setitem(generators(), "aligned-pairs", dataclasses.replace(gen, write=_failing(2)))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        generate("aligned-pairs", dest, {"images": 2, "size": 16})
    assert _tree(dest) == before
    assert [p.name for p in tmp_path.iterdir()] == ["pairs"]


def test_output_paths_stay_inside_the_destination(tmp_path: Path) -> None:
    out = Output(tmp_path)
    for bad in ("../escape.txt", "/abs.txt", MARKER):
        with pytest.raises(ValueError):
            out.text(bad, "x")
    out.text("a/b.txt", "x")
    with pytest.raises(ValueError):
        out.text("a/b.txt", "again")


def test_a_recipe_smoke_entry_feeds_generate(tmp_path: Path) -> None:
    import yaml

    from legacyrun.recipe.models import SmokeData

    entry = SmokeData.model_validate(
        yaml.safe_load("generator: icdar-words\ndest: icdar2015\noptions: {images: 1, dontcare: false, size: 48}\n")
    )
    result = generate(entry.generator, tmp_path / entry.dest, entry.options)
    assert result.options["dontcare"] is False and result.options["images"] == 1
    bad = SmokeData.model_validate({"generator": "icdar-words", "dest": "x", "options": {"dontcare": 1}})
    with pytest.raises(UsageError, match="option 'dontcare': expected true or false, got 1"):
        generate(bad.generator, tmp_path / bad.dest, bad.options)
