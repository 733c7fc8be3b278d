"""Datasets that share folders, manual datasets given as archives, and `size` as a hint: real downloads from the
tests' HTTP server on 127.0.0.1, real archives, the real CLI for what a user sees."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from fetch.fetch_helpers import make_lock, recipe, write_recipe
from support.cli import run_cli
from support.http_server import FileServer

from legacyrun.errors import FetchError, ManualStepRequired, UsageError
from legacyrun.fetch import HttpOptions, dataset_present, fetch_data
from legacyrun.lock import read as read_lock
from legacyrun.recipe.loader import LoadedRecipe, load_path
from legacyrun.usecases.status import status as workspace_status_of
from legacyrun.workspace import Workspace

FAST = HttpOptions(retries=2, backoff=0.01, timeout=5, chunk_size=64 << 10)
R50 = b"r50 weights" * 100


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _present(loaded_ws: tuple[LoadedRecipe, Workspace], name: str) -> bool:
    loaded, ws = loaded_ws
    return dataset_present(ws, loaded.recipe.dataset(name))


# --- two datasets, one folder ---------------------------------------------------------------------------------


def test_shared_folder_weights_and_manual_model(tmp_path: Path, http_server: FileServer) -> None:
    """MaskTextSpotter's layout: downloaded R-50 weights and a hand-downloaded model in one folder."""
    url = http_server.put("R-50.pkl", R50)
    loaded = recipe(
        tmp_path,
        datasets=[
            {"name": "r50", "kind": "http", "urls": [url], "dest": "weights/mts", "extract": "none"},
            {"name": "finetuned", "kind": "manual", "dest": "weights/mts", "instructions": "Save model_finetune.pth"},
        ],
    )
    ws = Workspace.at(tmp_path / "ws")
    lw = (loaded, ws)
    assert not _present(lw, "r50") and not _present(lw, "finetuned")
    fetch_data(loaded, ws, names=["r50"], http=FAST)
    assert _present(lw, "r50")
    assert not _present(lw, "finetuned")  # the folder exists and is non-empty, but only r50 placed things there
    status = {d["name"]: d["present"] for d in workspace_status_of(loaded, ws).datasets}
    assert status == {"r50": True, "finetuned": False}
    with pytest.raises(ManualStepRequired):
        fetch_data(loaded, ws, names=["finetuned"], http=FAST)
    # A person saves the model there by hand: now both are present, and fetch does not ask again.
    (ws.root / "weights/mts/model_finetune.pth").write_bytes(b"model")
    assert _present(lw, "finetuned") and _present(lw, "r50")
    [res] = fetch_data(loaded, ws, names=["finetuned"], http=FAST)
    assert res.skipped and res.placed == ["R-50.pkl", "model_finetune.pth"]
    # Deleting r50's file makes r50 absent, whatever else the folder holds.
    (ws.root / "weights/mts/R-50.pkl").unlink()
    assert not _present(lw, "r50") and _present(lw, "finetuned")


def test_dest_inside_another_datasets_folder(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("all.tar.gz", _tar_gz({"sub/a.txt": b"a", "top.txt": b"t"}))
    loaded = recipe(
        tmp_path,
        datasets=[
            {"name": "outer", "kind": "http", "urls": [url], "dest": "data/x"},
            {"name": "inner", "kind": "manual", "dest": "data/x/sub", "instructions": "unpack inner here"},
            {"name": "around", "kind": "manual", "dest": "data", "instructions": "unpack around here"},
        ],
    )
    ws = Workspace.at(tmp_path / "ws")
    lw = (loaded, ws)
    fetch_data(loaded, ws, names=["outer"], http=FAST)
    assert (ws.root / "data/x/sub/a.txt").exists()
    assert _present(lw, "outer")
    assert not _present(lw, "inner")  # its dest is inside what outer placed
    assert not _present(lw, "around")  # its dest only holds outer's folder
    (ws.root / "data/readme.txt").write_text("placed by a person")
    assert _present(lw, "around")


def test_later_fetch_replacing_the_same_entry(tmp_path: Path, http_server: FileServer) -> None:
    """Extraction replaces an entry of the same name: the dataset fetched first is no longer present."""
    one = http_server.put("one.tar.gz", _tar_gz({"train/1.jpg": b"1"}))
    two = http_server.put("two.tar.gz", _tar_gz({"train/2.jpg": b"2"}))
    loaded = recipe(
        tmp_path,
        datasets=[
            {"name": "one", "kind": "http", "urls": [one], "dest": "data/shared"},
            {"name": "two", "kind": "http", "urls": [two], "dest": "data/shared"},
        ],
    )
    ws = Workspace.at(tmp_path / "ws")
    lw = (loaded, ws)
    fetch_data(loaded, ws, names=["one"], http=FAST)
    assert _present(lw, "one") and not _present(lw, "two")
    fetch_data(loaded, ws, names=["two"], http=FAST)
    assert _present(lw, "two") and not _present(lw, "one")
    [again] = fetch_data(loaded, ws, names=["one"], http=FAST)
    assert not again.skipped and _present(lw, "one") and not _present(lw, "two")


def test_record_survives_edits_that_do_not_change_the_content(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("R-50.pkl", R50)
    ds = {"name": "r50", "kind": "http", "urls": [url], "dest": "weights", "extract": "none"}
    loaded = recipe(tmp_path, datasets=[ds])
    ws = Workspace.at(tmp_path / "ws")
    fetch_data(loaded, ws, http=FAST)
    noted = recipe(tmp_path, datasets=[{**ds, "note": "edited", "size": 5}])
    assert dataset_present(ws, noted.recipe.dataset("r50"))
    moved = recipe(tmp_path, datasets=[{**ds, "dest": "weights2"}])
    assert not dataset_present(ws, moved.recipe.dataset("r50"))


def test_hand_placed_manual_dataset_inside_a_source_tree(tmp_path: Path) -> None:
    """The source's own tracked files in the folder do not make a manual dataset present."""
    import subprocess

    loaded = recipe(
        tmp_path,
        sources=[{"name": "proj", "url": "https://example.invalid/p.git", "commit": "a" * 40}],
        datasets=[{"name": "d", "kind": "manual", "dest": "src/proj/datasets", "instructions": "unpack here"}],
    )
    ws = Workspace.at(tmp_path / "ws")
    tree = ws.source_dir("proj")
    (tree / "datasets").mkdir(parents=True)
    (tree / "datasets/download.sh").write_text("echo\n")
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    subprocess.run(["git", "-C", str(tree), "add", "."], check=True)
    ds = loaded.recipe.dataset("d")
    assert not dataset_present(ws, ds)
    (tree / "datasets/facades").mkdir()
    (tree / "datasets/facades/1.jpg").write_bytes(b"x")
    assert dataset_present(ws, ds)


# --- fetch --data X --from ARCHIVE ----------------------------------------------------------------------------

SYNTH = {
    "name": "synthtext",
    "kind": "manual",
    "dest": "data/synthtext",
    "strip_components": 1,
    "instructions": "Download SynthText.zip by hand.",
    "post": [{"list": {"root": "train_images", "glob": "**/*.jpg", "output": "train_list.txt"}}],
}
SYNTH_ZIP = _zip(
    {
        "SynthText/train_images/8/ballet_106_0.jpg": b"j1",
        "SynthText/train_images/1/a.jpg": b"j2",
        "SynthText/gt.mat": b"m",
    }
)


def test_from_archive_is_extracted_like_a_download(tmp_path: Path) -> None:
    loaded = recipe(tmp_path, datasets=[SYNTH])
    ws = Workspace.at(tmp_path / "ws")
    make_lock(ws.root, loaded)
    mine = tmp_path / "downloads/SynthText.zip"
    mine.parent.mkdir()
    mine.write_bytes(SYNTH_ZIP)
    [res] = fetch_data(loaded, ws, names=["synthtext"], from_path=mine)
    dest = ws.root / "data/synthtext"
    assert (dest / "train_images/8/ballet_106_0.jpg").read_bytes() == b"j1"  # strip_components applied
    assert not (dest / "SynthText.zip").exists()
    assert (dest / "train_list.txt").read_text() == "1/a.jpg\n8/ballet_106_0.jpg\n"  # post steps ran
    assert res.placed == ["gt.mat", "train_images"] and res.post
    sha = hashlib.sha256(SYNTH_ZIP).hexdigest()
    assert read_lock(ws.lockfile).datasets["synthtext"].files == {"SynthText.zip": sha}
    assert dataset_present(ws, loaded.recipe.dataset("synthtext"))
    [again] = fetch_data(loaded, ws, names=["synthtext"])
    assert again.skipped
    # Another workspace of the same lock finds the archive in the cache: no --from needed there.
    ws2 = Workspace.at(tmp_path / "ws2")
    ws2.root.mkdir()
    (ws2.root / "legacyrun.lock").write_text(ws.lockfile.read_text())
    [other] = fetch_data(loaded, ws2, names=["synthtext"])
    assert not other.skipped and (ws2.root / "data/synthtext/train_list.txt").exists()


def test_from_tar_and_unsafe_archive_and_folder(tmp_path: Path) -> None:
    ds = {**SYNTH, "strip_components": 0, "post": []}
    loaded = recipe(tmp_path, datasets=[ds])
    ws = Workspace.at(tmp_path / "ws")
    evil = tmp_path / "evil.tar.gz"
    evil.write_bytes(_tar_gz({"../escape.txt": b"x"}))
    with pytest.raises(FetchError, match="refusing to extract"):
        fetch_data(loaded, ws, names=["synthtext"], from_path=evil)
    assert not (tmp_path / "escape.txt").exists()
    assert not dataset_present(ws, loaded.recipe.dataset("synthtext"))
    good = tmp_path / "good.tgz"
    good.write_bytes(_tar_gz({"train_images/1.jpg": b"1"}))
    [res] = fetch_data(loaded, ws, names=["synthtext"], from_path=good)
    assert res.placed == ["train_images"] and (ws.root / "data/synthtext/train_images/1.jpg").exists()
    folder = tmp_path / "unpacked"
    folder.mkdir()
    with pytest.raises(UsageError, match="a folder"):
        fetch_data(loaded, ws, names=["synthtext"], from_path=folder)


def test_cli_from_archive_and_size_warning(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("R-50.pkl", R50)
    path = write_recipe(
        tmp_path / "r.yaml",
        datasets=[
            {**SYNTH, "size": 41_000_000_000},
            {"name": "r50", "kind": "http", "urls": [url], "dest": "weights", "extract": "none", "size": 10},
        ],
    )
    ws = tmp_path / "ws"
    archive = tmp_path / "SynthText.zip"
    archive.write_bytes(SYNTH_ZIP)
    res = run_cli("fetch", path, "-w", ws, "--data", "synthtext", "--from", archive, "--json")
    assert res.exit_code == 0, res.stderr
    [ds] = json.loads(res.stdout)["datasets"]
    assert ds["placed"] == ["gt.mat", "train_images"] and "size hint" in ds["warnings"][0]
    human = run_cli("fetch", path, "-w", ws, "--data", "r50")
    assert human.exit_code == 0, human.stderr
    assert f"warning: dataset r50: R-50.pkl has {len(R50)} bytes, the recipe's size hint says 10" in human.stderr
    status = run_cli("status", path, "-w", ws, "--json")
    assert status.exit_code == 0, status.stderr
    present = {d["name"]: d["present"] for d in json.loads(status.stdout)["datasets"]}
    assert present == {"synthtext": True, "r50": True}
    assert load_path(path).recipe.dataset("r50").size == 10
