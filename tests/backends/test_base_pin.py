"""Docker plans pinned all the way down (issue 15, item 6): the base image by digest when the knowledge base knows
it (and said when not, in the Dockerfile and in `build --dry-run`'s summary), apt from a dated snapshot archive
when the recipe asks."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.backend_plans import PlanFactory, resolution

from legacyrun.backends.docker import DockerBackend, apt_snapshot_block, render_dockerfile
from legacyrun.errors import UsageError
from legacyrun.knowledge.base import DATA, OVERLAY_ENV, reset_kb

TAG = "nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04"
FAKE_DIGEST = "sha256:" + "ab" * 32  # a test value only: the shipped knowledge base holds no invented digest


@pytest.fixture(autouse=True)
def _fresh_kb() -> Iterator[None]:
    reset_kb()
    yield
    reset_kb()


def _res(**kw: object) -> object:
    return resolution(base_image=TAG, cuda="11.8", **kw)


def _profiles(**extra: object) -> dict[str, dict[str, object]]:
    return {"modern": {"python": "3.11", "torch": "2.13.0", "apt": ["libgl1"], **extra}}


def test_unknown_digest_is_said_in_the_dockerfile_and_the_dry_run(make_plan: PlanFactory) -> None:
    plan = make_plan(_res(), profiles=_profiles())
    text = render_dockerfile(plan)
    assert f"\nFROM {TAG}\n" in text
    assert f"# base not pinned by digest: the knowledge base records no digest for {TAG}" in text
    summary = DockerBackend().render(plan).summary
    assert any(line.startswith("base not pinned by digest:") and TAG in line for line in summary), summary


def test_known_digest_pins_the_base(make_plan: PlanFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overlay = tmp_path / "kb"
    overlay.mkdir()
    images = json.loads((DATA / "images.json").read_text())
    images["digests"] = {TAG: FAKE_DIGEST}
    (overlay / "images.json").write_text(json.dumps(images))
    monkeypatch.setenv(OVERLAY_ENV, str(overlay))
    plan = make_plan(_res(), profiles=_profiles())
    text = render_dockerfile(plan)
    assert f"\nFROM {TAG}@{FAKE_DIGEST}\n" in text and "# base pinned by digest" in text
    assert "not pinned" not in text and not any("not pinned" in s for s in DockerBackend().render(plan).summary)


def test_shipped_knowledge_base_digests_are_well_formed() -> None:
    images = json.loads((DATA / "images.json").read_text())
    for ref, digest in images.get("digests", {}).items():
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), ref
        assert images["digest_sources"].get(ref), f"{ref}: a digest needs its source"


def test_base_image_given_by_digest_is_kept(make_plan: PlanFactory) -> None:
    pinned = f"{TAG}@{FAKE_DIGEST}"
    text = render_dockerfile(make_plan(_res(), profiles=_profiles(), base_image=pinned))
    assert f"\nFROM {pinned}\n" in text and "not pinned" not in text


def _sed_expression(block: str) -> str:
    m = re.search(r"sed -i -E '([^']+)'", block)
    assert m, block
    return m.group(1)


def _apply(expr: str, sources: str, tmp_path: Path) -> str:
    path = tmp_path / "sources.list"
    path.write_text(sources)
    subprocess.run(["sed", "-i", "-E", expr, str(path)], check=True)
    return path.read_text()


def test_apt_snapshot_on_ubuntu(make_plan: PlanFactory, tmp_path: Path) -> None:
    plan = make_plan(_res(), profiles=_profiles(apt_snapshot="2023-06-01"))
    text = render_dockerfile(plan)
    snap = text.index("snapshot.ubuntu.com/ubuntu/20230601T000000Z")
    assert snap < text.index("apt-get update") and 'Acquire::Check-Valid-Until "false";' in text
    assert "# apt from the ubuntu archive as it was on 2023-06-01 (env.profiles.modern.apt_snapshot)" in text
    block = apt_snapshot_block(plan)
    assert block is not None
    got = _apply(
        _sed_expression(block),
        "deb http://archive.ubuntu.com/ubuntu/ jammy main restricted\n"
        "deb http://security.ubuntu.com/ubuntu/ jammy-security main\n",
        tmp_path,
    )
    assert got == (
        "deb http://snapshot.ubuntu.com/ubuntu/20230601T000000Z/ jammy main restricted\n"
        "deb http://snapshot.ubuntu.com/ubuntu/20230601T000000Z/ jammy-security main\n"
    )


def test_apt_snapshot_on_debian(make_plan: PlanFactory, tmp_path: Path) -> None:
    plan = make_plan(_res(), profiles=_profiles(apt_snapshot="2021-06-01"), base_image="debian:bullseye")
    block = apt_snapshot_block(plan)
    assert block is not None
    got = _apply(
        _sed_expression(block),
        "deb http://deb.debian.org/debian bullseye main\n"
        "deb http://security.debian.org/debian-security bullseye-security main\n",
        tmp_path,
    )
    assert got == (
        "deb http://snapshot.debian.org/archive/debian/20210601T000000Z/ bullseye main\n"
        "deb http://snapshot.debian.org/archive/debian-security/20210601T000000Z/ bullseye-security main\n"
    )


def test_apt_snapshot_before_the_ubuntu_service_is_refused(make_plan: PlanFactory) -> None:
    plan = make_plan(_res(), profiles=_profiles(apt_snapshot="2021-06-01"))
    with pytest.raises(UsageError, match=r"env\.profiles\.modern\.apt_snapshot: 2021-06-01: snapshot\.ubuntu\.com"):
        render_dockerfile(plan)


def test_no_apt_snapshot_renders_no_snapshot(make_plan: PlanFactory) -> None:
    text = render_dockerfile(make_plan(_res(), profiles=_profiles()))
    assert "snapshot.ubuntu.com" not in text and "Check-Valid-Until" not in text
