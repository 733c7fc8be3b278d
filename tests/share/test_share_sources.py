"""Recipe sources for real: a git repository of recipes over file://, YAML files and tarballs over a local HTTP
server, a local directory; add, list, update, remove, SOURCE:NAME, and the one-line errors."""

from __future__ import annotations

import io
import json
import socket
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from support.cli import run_cli, run_inproc

from legacyrun.errors import FetchError, RecipeError, UsageError
from legacyrun.share.registry import available, find, load
from legacyrun.share.sources import add_source, default_name, guess_kind, list_sources, update_sources


def _tarball(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_git_source_add_list_update(make_git_repo: Callable, recipe_yaml: Callable) -> None:
    repo = make_git_repo("lab-recipes")
    repo.write("recipes/labnet.yaml", recipe_yaml("labnet"))
    repo.write("README.md", "lab recipes\n")
    first = repo.commit("first recipe")

    res = run_inproc("recipe", "add", repo.url, "--name", "lab", "--json")
    assert res.exit_code == 0, res.stderr
    added = json.loads(res.stdout)
    assert added["name"] == "lab"
    assert added["kind"] == "git"
    assert added["revision"] == first
    assert added["recipes"] == ["labnet"]

    res = run_inproc("recipe", "sources", "--json")
    assert [s["name"] for s in json.loads(res.stdout)] == ["lab"]

    res = run_inproc("list", "--json")
    origins = {r["name"]: r["origin"] for r in json.loads(res.stdout)}
    assert origins["labnet"] == "source:lab"
    assert origins["pix2pix"] == "builtin"
    human = run_inproc("list")
    assert "source:lab" in human.stdout

    # A new commit upstream is invisible until `recipe update`.
    repo.write("labnet2.yaml", recipe_yaml("labnet2"))
    second = repo.commit("second recipe at the top level")
    assert "labnet2" not in {r.name for r in available()}
    res = run_inproc("recipe", "update", "--json")
    assert res.exit_code == 0, res.stderr
    [upd] = json.loads(res.stdout)
    assert upd["changed"] is True
    assert upd["previous_revision"] == first
    assert upd["revision"] == second
    assert {"labnet", "labnet2"} <= {r.name for r in available()}
    assert load("labnet2").origin == "source:lab"

    # Nothing new: an update says so.
    [again] = update_sources("lab")
    assert again.changed is False

    res = run_inproc("recipe", "remove", "lab")
    assert res.exit_code == 0, res.stderr
    assert "labnet" not in {r.name for r in available()}


def test_source_name_picks_one_origin(make_git_repo: Callable, recipe_yaml: Callable, tmp_path: Path) -> None:
    a = make_git_repo("a")
    a.write("shared.yaml", recipe_yaml("shared", title="from a"))
    a.write("pix2pix.yaml", recipe_yaml("pix2pix", title="a lab's pix2pix"))
    a.commit()
    b = tmp_path / "b-dir"
    (b / "recipes").mkdir(parents=True)
    (b / "recipes" / "shared.yaml").write_text(recipe_yaml("shared", title="from b"))

    add_source(a.url, name="low", priority=0)
    add_source(str(b), name="high", priority=10)
    assert [s.source.name for s in list_sources()] == ["high", "low"]

    # Built-in first, then sources by priority; SOURCE:NAME picks one explicitly.
    assert load("shared").recipe.title == "from b"
    assert load("low:shared").recipe.title == "from a"
    assert load("high:shared").origin == "source:high"
    assert load("pix2pix").origin == "builtin"
    assert load("low:pix2pix").recipe.title == "a lab's pix2pix"
    assert load("builtin:pix2pix").origin == "builtin"

    res = run_inproc("show", "low:shared", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["title"] == "from a"

    with pytest.raises(UsageError, match="unknown recipe source 'nope'"):
        find("nope:shared")
    with pytest.raises(UsageError, match="has no recipe 'missing'"):
        find("low:missing")


def test_http_yaml_and_tarball_sources(served, recipe_yaml: Callable) -> None:
    (served.root / "one.yaml").write_text(recipe_yaml("one"))
    (served.root / "pack.tar.gz").write_bytes(
        _tarball({"pack-1.0/recipes/two.yaml": recipe_yaml("two"), "pack-1.0/README": "x"})
    )
    assert guess_kind(served.url("one.yaml")) == "http"
    assert default_name(served.url("pack.tar.gz")) == "pack"

    one = add_source(served.url("one.yaml"))
    assert one.source.name == "one"
    assert one.recipes == ["one"]
    pack = add_source(served.url("pack.tar.gz"), priority=5)
    assert pack.recipes == ["two"]
    assert load("two").origin == "source:pack"

    # Same bytes: unchanged. New tarball: update brings the new recipe.
    [same] = update_sources("pack")
    assert same.changed is False
    (served.root / "pack.tar.gz").write_bytes(
        _tarball({"pack-1.1/recipes/two.yaml": recipe_yaml("two"), "pack-1.1/recipes/three.yaml": recipe_yaml("three")})
    )
    [new] = update_sources("pack")
    assert new.changed is True
    assert new.recipes == ["three", "two"]
    assert load("three").origin == "source:pack"


def test_bad_sources_fail_with_one_line(served, make_git_repo: Callable, recipe_yaml: Callable, tmp_path: Path) -> None:
    (served.root / "broken.yaml").write_text("schema_version: 1\nname: broken\n")
    with pytest.raises(RecipeError) as exc:
        add_source(served.url("broken.yaml"))
    assert "broken.yaml" in exc.value.problems[0]
    with pytest.raises(FetchError, match="HTTP 404"):
        add_source(served.url("missing.yaml"))
    with pytest.raises(FetchError, match="cannot reach"):
        add_source(f"http://127.0.0.1:{_closed_port()}/x.yaml")
    with pytest.raises(FetchError, match="cannot clone"):
        add_source((tmp_path / "no-such-repo").as_uri(), name="ghost")
    evil = served.root / "evil.tar.gz"
    evil.write_bytes(_tarball({"../evil.yaml": recipe_yaml("evil")}))
    with pytest.raises(UsageError, match="outside the extraction folder"):
        add_source(served.url("evil.tar.gz"))
    assert list_sources() == []  # nothing half-registered

    repo = make_git_repo("dup")
    repo.write("dup.yaml", recipe_yaml("dup"))
    repo.commit()
    add_source(repo.url, name="dup")
    # Through the real entry point: one line on stderr, the documented exit code, no traceback.
    res = run_cli("recipe", "add", repo.url, "--name", "dup")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0].startswith("legacyrun: usage error: a recipe source named 'dup' already exists")
    assert "Traceback" not in res.stderr
    res = run_cli("recipe", "add", f"http://127.0.0.1:{_closed_port()}/lab.yaml")
    assert res.exit_code == 4
    assert len(res.stderr.strip().splitlines()) == 1
    res = run_cli("recipe", "remove", "nope")
    assert res.exit_code == 2
    assert "unknown recipe source 'nope'" in res.stderr
    res = run_cli("recipe", "update", "nope", "--json")
    assert res.exit_code == 2
    assert json.loads(res.stdout)["error"]["exit_code"] == 2
    res = run_cli("recipe", "add", str(tmp_path / "not-there"))
    assert res.exit_code == 2
    assert "recipe source not found" in res.stderr


def test_directory_source_in_place(tmp_path: Path, recipe_yaml: Callable) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "local.yaml").write_text(recipe_yaml("local"))
    res = run_inproc("recipe", "add", str(folder), "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["kind"] == "dir"
    assert data["path"] == str(folder.resolve())
    # Referenced in place: an edit shows at once, and update has nothing to fetch.
    (folder / "local2.yaml").write_text(recipe_yaml("local2"))
    assert load("local2").origin == "source:mine"
    res = run_inproc("recipe", "update")
    assert "mine: up to date (local directory)" in res.stdout
    run_inproc("recipe", "remove", "mine")
    assert (folder / "local.yaml").is_file()  # a directory source's files are the user's


def test_damaged_registry_is_one_line_error() -> None:
    from legacyrun.share.sources import registry_file

    registry_file().parent.mkdir(parents=True, exist_ok=True)
    registry_file().write_text("{not json")
    res = run_cli("list")
    assert res.exit_code == 2
    assert "cannot read the recipe source registry" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
