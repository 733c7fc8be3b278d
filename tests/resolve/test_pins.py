"""`--pin NAME=VERSION`: parsing, profile choice, reasons, pip specs, the lock round trip, `up`, and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.cli import run_cli

from legacyrun.errors import LockError, ResolveError, UsageError
from legacyrun.host import assumed_host
from legacyrun.lock import read
from legacyrun.recipe.loader import LoadedRecipe, load_path
from legacyrun.resolve.engine import resolve
from legacyrun.resolve.locking import check_lock, merge_lock, write_lock
from legacyrun.resolve.pins import apply_pins, parse_pins
from legacyrun.workspace import Workspace

RECIPES = Path(__file__).resolve().parent / "recipes"
CPU = assumed_host(cpu=True)
TV_PINS = {"torch": "2.14.1", "torchvision": "0.29.1"}


def _load(name: str = "mask2former") -> LoadedRecipe:
    return load_path(RECIPES / f"{name}.yaml")


# -- parsing ----------------------------------------------------------------------------------------------------


def test_parse_pins_accepts_each_name() -> None:
    pins = parse_pins(["torch=2.14.1", "torchvision=0.29.1", "python=3.11", "cuda=12.8", "GCC=13"])
    assert pins == {"cuda": "12.8", "gcc": "13", "python": "3.11", "torch": "2.14.1", "torchvision": "0.29.1"}
    assert parse_pins(["torch=2.14.1", "torch=2.14.1"]) == {"torch": "2.14.1"}
    assert parse_pins([]) == {}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["frob=1"], "--pin frob=1: unknown name 'frob' (one of torch, torchvision, python, cuda, gcc)"),
        (["torch"], "--pin torch: expected NAME=VERSION"),
        (["torch="], "--pin torch=: expected NAME=VERSION"),
        (["torch=latest"], "--pin torch=latest: 'latest' is not a version"),
        (["torch=2.14.1+cpu"], "give a plain release number"),
        (["torch=2.14.1", "torch=2.13.0"], "--pin torch: given twice (2.14.1 and 2.13.0)"),
        (["torch=1.9.5"], "not a torch release the knowledge base knows"),
        (["torch=2.14.1", "torchvision=0.28.0"], "--pin torchvision=0.28.0: does not match torch 2.14.1"),
        (["torchvision=0.99.0"], "--pin torchvision=0.99.0: no torch release in the knowledge base pairs with it"),
        (["python=3"], "--pin python=3: give MAJOR.MINOR"),
        (["gcc=13.2"], "--pin gcc=13.2: give the GCC major version"),
        (["cuda=99.1"], "--pin cuda=99.1: not a CUDA toolkit the knowledge base knows"),
    ],
)
def test_bad_pins_are_usage_errors_naming_the_flag(values: list[str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_pins(values)
    assert message in info.value.message
    assert "\n" not in info.value.message


def test_torchvision_releases_that_declare_a_lower_bound_pair_with_newer_torch() -> None:
    # torchvision 0.29.1 and 0.29.2 require torch>=2.14.0 (PyPI metadata); 0.29.0 requires torch==2.14.0
    assert parse_pins(["torch=2.14.1", "torchvision=0.29.2"])["torchvision"] == "0.29.2"
    assert parse_pins(["torch=2.15.0", "torchvision=0.29.1"])["torchvision"] == "0.29.1"
    with pytest.raises(UsageError, match=r"does not match torch 2\.14\.1"):
        parse_pins(["torch=2.14.1", "torchvision=0.29.0"])


# -- profile choice and reasons ------------------------------------------------------------------------------------


def test_pin_picks_the_profile_that_admits_it_and_says_so() -> None:
    res = resolve(_load(), CPU, pins={"torch": "2.14.1"})
    assert (res.profile, res.torch, res.torchvision, res.cuda) == ("modern", "2.14.1", "0.29.1", None)
    assert res.pins == {"torch": "2.14.1"}
    assert res.reasons[0].startswith("profile faithful pins torch 1.9.0, not 2.14.1 (--pin); using profile modern")
    assert "torch 2.14.1 (pinned with --pin)" in res.reasons


def test_cpu_plan_with_pins_installs_plain_pypi_specs() -> None:
    res = resolve(_load(), CPU, pins=TV_PINS)
    # installable here from local disk: no PyTorch index, no +cpu local version
    assert res.pip_specs[:2] == ["torch==2.14.1", "torchvision==0.29.1"]
    assert res.pip_index_url is None and res.pip_find_links is None
    assert res.torch_cuda_arch_list is None and res.cuda is None and res.cudnn is None
    assert any(r.startswith("pip: torch 2.14.1 from PyPI") for r in res.reasons)
    assert "torchvision 0.29.1 (pinned with --pin)" in res.reasons


def test_cpu_plan_before_the_pypi_cut_keeps_the_cpu_index() -> None:
    res = resolve(_load(), CPU, profile="modern", pins={"torch": "2.10.0"})
    assert res.pip_index_url == "https://download.pytorch.org/whl/cpu"
    assert res.pip_specs[:2] == ["torch==2.10.0", "torchvision==0.25.0"]


def test_forced_profile_pin_outside_it_still_wins() -> None:
    res = resolve(_load(), assumed_host("V100", "470.57.02"), profile="faithful", pins={"torch": "1.10.0"})
    assert (res.profile, res.torch, res.torchvision, res.cuda) == ("faithful", "1.10.0", "0.11.0", "11.1")
    assert "torch 1.10.0 pinned with --pin (outside the profile's 1.9.0)" in res.reasons
    assert any(r.startswith("torchvision follows the pinned torch 1.10.0") for r in res.reasons)
    assert res.python == "3.8"  # the code's Python stays


def test_no_profile_admits_the_pin_and_it_still_wins() -> None:
    res = resolve(_load(), CPU, pins={"python": "3.12"})
    assert res.profile == "modern" and res.python == "3.12"
    assert "python 3.12 pinned with --pin (outside the profile's 3.11)" in res.reasons


def test_pin_that_the_profile_python_cannot_take_hints_at_a_python_pin() -> None:
    with pytest.raises(ResolveError) as info:
        resolve(_load(), CPU, profile="faithful", pins={"torch": "2.14.1"})
    assert "torch 2.14.1 has no build for Python 3.8" in info.value.message
    assert "--pin python=X.Y" in (info.value.hint or "")


def test_cuda_pin_on_a_gpu_plan_and_refused_on_a_cpu_plan() -> None:
    res = resolve(_load(), assumed_host("H100", "580.65.06"), pins={"cuda": "12.8"})
    assert res.profile == "modern" and res.cuda == "12.8" and "cuda 12.8 (pinned with --pin)" in res.reasons
    with pytest.raises(UsageError, match=r"--pin cuda=12\.8: the plan is for a host without GPU"):
        resolve(_load(), CPU, pins={"cuda": "12.8"})


def test_cuda13_pin_on_volta_names_the_dropped_archs() -> None:
    with pytest.raises(ResolveError) as info:
        resolve(_load(), assumed_host("V100", "590.44.01"), pins={"cuda": "13.0"})
    assert "V100 is sm_70; CUDA 13.0 dropped sm_50-sm_72 (Maxwell, Pascal, Volta)" in info.value.message


def test_gcc_pin_beyond_nvcc_names_the_flag() -> None:
    res = resolve(_load(), assumed_host("H100", "580.65.06"), pins={"gcc": "14"})
    assert res.gcc == "14" and "gcc 14 (pinned with --pin)" in res.reasons  # modern has no gcc pin
    with pytest.raises(ResolveError, match=r"--pin gcc=16: nvcc 13\.0 accepts gcc <= 15"):
        resolve(_load(), assumed_host("H100", "580.65.06"), pins={"gcc": "16"})


def test_torchvision_pin_alone_chooses_its_torch() -> None:
    res = resolve(_load(), CPU, pins={"torchvision": "0.28.0"})
    assert (res.torch, res.torchvision) == ("2.13.0", "0.28.0")


def test_pin_newer_than_the_knowledge_base_is_extrapolated() -> None:
    res = resolve(_load(), assumed_host("B200", None), pins={"torch": "2.16.0"})
    assert res.torch == "2.16.0" and res.cuda is not None
    assert any("newer than the knowledge base" in r for r in res.reasons)


def test_apply_pins_admission() -> None:
    modern = _load().recipe.env.profiles["modern"]
    assert apply_pins(modern, {"torch": "2.14.1"}).admits_all
    faithful = apply_pins(_load().recipe.env.profiles["faithful"], {"torch": "2.14.1", "gcc": "13"})
    assert faithful.outside == {"torch": "1.9.0", "gcc": "<=10"}
    assert faithful.profile.torch == "2.14.1" and faithful.profile.cuda is None and faithful.profile.cudnn is None


def test_resolution_without_pins_is_unchanged_by_an_empty_mapping() -> None:
    assert resolve(_load(), CPU) == resolve(_load(), CPU, pins={})


# -- build steps on a CPU plan (issue 11, item 4) ------------------------------------------------------------------


def test_cpu_plan_lists_skipped_and_cpu_only_build_steps(tmp_path: Path) -> None:
    text = (RECIPES / "mask2former.yaml").read_text()
    marker = '    modern:\n      python: "3.11"\n      torch: ">=2.1"\n      build:\n'
    assert marker in text
    head, tail = text.split(marker)
    step = "        - {name: detectron2, source: mask2former, argv: [python, -m, pip, install, -e, .]}\n"
    tail = tail.replace('          env: {FORCE_CUDA: "1"}\n', "          cpu: skip\n", 1)
    path = tmp_path / "mask2former.yaml"
    path.write_text(head + marker + step + tail)
    res = resolve(load_path(path), CPU, profile="modern")
    assert "CPU plan: build step msdeformattn is skipped on this plan (cpu: skip)" in res.reasons
    assert "CPU plan: build step detectron2 compiles without CUDA (CPU ops only)" in res.reasons
    gpu = resolve(load_path(path), assumed_host("H100", "580.65.06"), profile="modern")
    assert not any(r.startswith("CPU plan:") for r in gpu.reasons)


# -- the lock ----------------------------------------------------------------------------------------------------


def test_lock_records_pins_and_other_pins_are_not_current(tmp_path: Path) -> None:
    loaded = _load()
    ws = Workspace(tmp_path / "ws")
    write_lock(loaded, resolve(loaded, CPU, pins=TV_PINS), ws)
    lock = read(ws.lockfile)
    assert lock.resolution.pins == TV_PINS and lock.resolution.torch == "2.14.1"
    assert "pins:" in ws.lockfile.read_text()
    assert check_lock(loaded, ws).resolution.pins == TV_PINS  # the lock's own pins are re-applied
    assert check_lock(loaded, ws, pins=TV_PINS).resolution.torch == "2.14.1"
    with pytest.raises(LockError, match="no longer resolve the same way"):
        check_lock(loaded, ws, pins={"torch": "2.13.0"})
    with pytest.raises(LockError, match="pins"):
        check_lock(loaded, ws, pins={})
    # re-locking with other pins keeps only the recipe-bound sections
    other = merge_lock(loaded, resolve(loaded, CPU, pins={"torch": "2.13.0"}), lock)
    assert other.changed and other.lock.resolution.pins == {"torch": "2.13.0"}


def test_up_keeps_a_pinned_lock_and_re_resolves_for_other_pins(tmp_path: Path) -> None:
    from legacyrun.usecases.up import UpRequest, _Chain

    loaded = _load()
    ws = Workspace(tmp_path / "ws")
    write_lock(loaded, resolve(loaded, CPU, pins=TV_PINS), ws)
    kept = _Chain(UpRequest(loaded=loaded, ws=ws, host=CPU), "train", None, None)
    assert kept.current_lock_resolution() is not None  # a later `up` without --pin sees the lock's pins
    assert kept.ensure_resolution().torch == "2.14.1"
    same = _Chain(UpRequest(loaded=loaded, ws=ws, host=CPU, pins=dict(TV_PINS)), "train", None, None)
    assert same.current_lock_resolution() is not None
    other = _Chain(UpRequest(loaded=loaded, ws=ws, host=CPU, pins={"torch": "2.13.0"}), "train", None, None)
    assert other.current_lock_resolution() is None
    other.lock_run()
    assert read(ws.lockfile).resolution.pins == {"torch": "2.13.0"}
    assert other.lock_inputs()["pins"] == {"torch": "2.13.0"} and "pins" not in kept.lock_inputs()


# -- the command line (the real entry point in a subprocess) ------------------------------------------------------


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    dest = tmp_path / "recipes" / "mask2former.yaml"
    dest.parent.mkdir()
    shutil.copy(RECIPES / "mask2former.yaml", dest)
    return dest


def test_cli_resolve_json_with_pins(recipe: Path) -> None:
    res = run_cli("resolve", recipe, "--cpu", "--pin", "torch=2.14.1", "--pin", "torchvision=0.29.1", "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["pins"] == TV_PINS and data["profile"] == "modern"
    assert data["pip_specs"][:2] == ["torch==2.14.1", "torchvision==0.29.1"] and data["pip_index_url"] is None
    assert "torch 2.14.1 (pinned with --pin)" in data["reasons"]


def test_cli_resolve_human_shows_the_pins(recipe: Path) -> None:
    res = run_cli("resolve", recipe, "--cpu", "--pin", "torch=2.14.1")
    assert res.exit_code == 0, res.stderr
    assert "torch 2.14.1 (pinned with --pin)" in res.stdout and "torch=2.14.1" in res.stdout


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("frob=1", "--pin frob=1: unknown name 'frob'"),
        ("torch=newest", "--pin torch=newest: 'newest' is not a version"),
        ("torchvision=0.20.0", "--pin torchvision=0.20.0: does not match torch 2.14.1"),
    ],
)
def test_cli_bad_pin_is_one_line_exit_2(recipe: Path, pin: str, message: str) -> None:
    extra = ["--pin", "torch=2.14.1"] if pin.startswith("torchvision") else []
    res = run_cli("resolve", recipe, "--cpu", *extra, "--pin", pin)
    assert res.exit_code == 2, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_cli_lock_round_trip_with_pins(recipe: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    made = run_cli("lock", recipe, "-w", ws, "--cpu", "--pin", "torch=2.14.1", "--json")
    assert made.exit_code == 0, made.stderr
    assert json.loads(made.stdout)["resolution"]["pins"] == {"torch": "2.14.1"}
    assert run_cli("lock", recipe, "--check", "-w", ws).exit_code == 0
    assert run_cli("lock", recipe, "--check", "-w", ws, "--pin", "torch=2.14.1").exit_code == 0
    stale = run_cli("lock", recipe, "--check", "-w", ws, "--pin", "torch=2.13.0")
    assert stale.exit_code == 8 and "no longer resolve the same way" in stale.stderr
    bad = run_cli("lock", recipe, "-w", ws, "--pin", "cuda=12.8", "--cpu")
    assert bad.exit_code == 2 and "--pin cuda=12.8" in bad.stderr


def test_cli_up_dry_run_takes_pins(recipe: Path, tmp_path: Path) -> None:
    res = run_cli("up", recipe, "-w", tmp_path / "ws", "--cpu", "--dry-run", "--trust", "--pin", "torch=2.14.1")
    assert res.exit_code == 0, res.stderr
    assert "torch 2.14.1" in res.stdout + res.stderr
    bad = run_cli("up", recipe, "-w", tmp_path / "ws", "--cpu", "--dry-run", "--trust", "--pin", "torch")
    assert bad.exit_code == 2 and "--pin torch: expected NAME=VERSION" in bad.stderr
