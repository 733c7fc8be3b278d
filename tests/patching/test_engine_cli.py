"""`legacyrun patch` end to end on a real git work tree: list, dry-run, apply, no-op, adapt, revert, lock."""

from __future__ import annotations

import json
from collections.abc import Callable

from patching.patchkit import Project, git
from support.cli import run_cli, run_inproc

from legacyrun import lock as lockfile
from legacyrun.resolution import GpuInfo, HostInfo, Resolution

PATCHES = """\
patches:
  - {id: data0-item, kind: regex, source: proj, files: ['**/*.py'], find: '\\.data\\[0\\]', replace: .item(), count: 2}
  - {id: device-id, kind: regex, source: proj, files: [models/*.py], find: 'device_id=', replace: '', count: 1,
     when: {torch: '>=0.4'}}
"""
ADAPT = """\
adapt:
  reference_gpus: 8
  keys:
    - {key: SOLVER.IMS_PER_BATCH, format: yaml, files: ["configs/*.yaml"], rule: linear}
    - {key: --num-gpus, format: cli, tasks: [train], rule: gpus}
"""


def _args(p: Project, *extra: str) -> list[str]:
    return ["patch", str(p.recipe_path), "-w", str(p.ws.root), *extra]


def test_list_dry_run_apply_noop_revert(project: Callable[..., Project]) -> None:
    p = project()
    p.write_recipe(PATCHES)
    listed = run_inproc(*_args(p, "--list", "--profile", "faithful"))
    assert listed.exit_code == 0, listed.stderr
    assert "data0-item" in listed.stdout and "device-id" in listed.stdout

    dry = run_inproc(*_args(p, "--dry-run"))
    assert dry.exit_code == 0, dry.stderr
    assert "+        print('loss', loss.item())  # 2017 style" in dry.stdout
    assert "would apply data0-item, device-id" in dry.stdout
    assert git(p.src, "rev-parse", "HEAD") == p.pinned

    first = run_inproc(*_args(p))
    assert first.exit_code == 0, first.stderr
    assert "applied data0-item, device-id" in first.stdout
    assert "target: profile faithful, torch 0.4.1 (from the recipe profile)" in first.stderr

    again = run_inproc(*_args(p))
    assert again.stdout.strip().endswith("0 changes, 2 patches already applied")

    back = run_inproc(*_args(p, "--revert"))
    assert back.exit_code == 0, back.stderr
    assert git(p.src, "rev-parse", "HEAD") == p.pinned
    state = json.loads(p.ws.state_file.read_text())
    assert "patch" not in state


def test_profile_selects_patches_and_json(project: Callable[..., Project]) -> None:
    p = project()
    p.write_recipe(PATCHES.replace("'>=0.4'", "'<0.4'"))
    out = run_inproc(*_args(p, "--profile", "modern", "--json"))
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["target"]["torch"] == "2.1"
    src = data["sources"][0]
    assert src["applied"] == ["data0-item"]
    assert src["skipped"][0]["id"] == "device-id"
    assert data["summary"] == "1 patch(es) applied, 0 already applied"


def test_gpus_prints_the_adaptation_table(project: Callable[..., Project]) -> None:
    p = project()
    p.write_recipe(PATCHES, adapt=ADAPT)
    out = run_inproc(*_args(p, "--gpus", "1", "--profile", "modern"))
    assert out.exit_code == 0, out.stderr
    assert "GPU-count adaptation: 8 -> 1 GPU(s)" in out.stdout
    assert "configs/base.yaml:6" in out.stdout
    assert "task train: adds --num-gpus 1" in out.stdout
    assert "IMS_PER_BATCH: 2   # 2 images per GPU" in (p.src / "configs/base.yaml").read_text()
    state = json.loads(p.ws.state_file.read_text())
    assert state["patch"]["outputs"]["overrides"] == {"train": ["--num-gpus", "1"]}


def test_lock_records_patches_and_target(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(PATCHES, adapt=ADAPT)
    host = HostInfo(gpus=[GpuInfo(name="NVIDIA H100"), GpuInfo(name="NVIDIA H100")])
    res = Resolution(
        recipe="legacy", recipe_hash=loaded.hash, profile="modern", python="3.11", torch="2.4.1", host=host
    )
    p.ws.root.mkdir(parents=True, exist_ok=True)
    lockfile.write(p.ws.lockfile, lockfile.Lockfile(recipe="legacy", recipe_hash=loaded.hash, resolution=res))
    out = run_inproc(*_args(p, "--json"))
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["target_from"] == "lock"
    assert data["target"]["gpus"] == 2  # the locked host's GPU count
    assert data["lock_updated"] is True
    lock = lockfile.read(p.ws.lockfile)
    assert set(lock.patches) == {"data0-item", "device-id", "adapt-gpus-2"}
    assert lock.patches == data["sources"][0]["hashes"]
    run_inproc(*_args(p, "--revert"))
    assert lockfile.read(p.ws.lockfile).patches == {}


def test_user_edits_exit_code_and_one_line(project: Callable[..., Project]) -> None:
    p = project()
    p.write_recipe(PATCHES)
    (p.src / "README.md").write_text("mine\n")
    out = run_cli(*_args(p))
    assert out.exit_code == 5
    assert "Traceback" not in out.stderr
    first = out.stderr.splitlines()[0]
    assert "refusing to patch: uncommitted edits in README.md" in first
    forced = run_inproc(*_args(p, "--force"))
    assert forced.exit_code == 0, forced.stderr
    assert "stashed your edits" in forced.stderr


def test_bad_options(project: Callable[..., Project]) -> None:
    p = project()
    p.write_recipe(PATCHES)
    assert run_inproc(*_args(p, "--dryrun")).exit_code == 2
    assert run_inproc(*_args(p, "--gpus", "x")).exit_code == 2
    assert run_inproc(*_args(p, "--profile", "nope")).exit_code == 2
    assert run_inproc(*_args(p, "--revert", "--list")).exit_code == 2


def test_parse_gpus() -> None:
    import pytest

    from legacyrun.errors import UsageError
    from legacyrun.usecases.patch import parse_gpus

    assert parse_gpus("4") == 4
    assert parse_gpus("0,1,3") == 3
    assert parse_gpus(None) is None
    with pytest.raises(UsageError):
        parse_gpus("0")


def test_patch_command_inside_a_held_workspace_lock(project: Callable[..., Project]) -> None:
    """The workspace lock is re-entrant within one process (`up` holds it while its steps take it again); another
    process is refused (see tests/run/test_up_e2e.py)."""
    from legacyrun.usecases.patch import patch

    p = project()
    loaded = p.write_recipe(PATCHES)
    with p.ws.locked():
        outcome = patch(loaded, p.ws, profile="modern", hold_lock=False)
        assert outcome.result is not None and outcome.result.changes == 2
        again = patch(loaded, p.ws, profile="modern")
        assert again.result is not None and again.result.changes == 0
