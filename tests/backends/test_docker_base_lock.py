"""The lock records the ID of the docker base image the first build used, and a later build whose base tag now
resolves to another image is refused (issue 15, item 6); a real dockerd."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fetch.fetch_helpers import make_lock
from support.backend_plans import PlanFactory, resolution
from support.dockerd import DockerDaemon

from legacyrun import lock as lockmod
from legacyrun.backends.docker import DockerBackend
from legacyrun.errors import LockError
from legacyrun.usecases.build import record_environment

pytestmark = [pytest.mark.slow, pytest.mark.docker]

BASE = "legacyrun-test/basepin:1"  # a private tag, so the session's shared base image is never moved


def test_base_id_recorded_then_a_moved_tag_is_refused(
    docker_host: DockerDaemon, make_plan: PlanFactory, tmp_path: Path
) -> None:
    client = docker_host.client
    original = client.images.get(docker_host.base_image)
    original.tag(BASE)
    plan = make_plan(
        resolution(pip_specs=[]),
        profiles={"modern": {"python": "3.11", "torch": "2.13.0"}},
        workspace=tmp_path / "ws",
        base_image=BASE,
    )
    make_lock(plan.workspace.root, plan.recipe)
    backend = DockerBackend()
    ref = backend.build(plan)
    assert ref.base_id == original.id
    record_environment(plan, "docker", ref)
    env = lockmod.read(plan.workspace.lockfile).environment
    assert env is not None and env.base == original.id

    # The tag moves (a registry re-push, a local retag): the build is refused, naming both IDs.
    moved, _ = client.images.build(fileobj=io.BytesIO(f"FROM {BASE}\nLABEL moved=1\n".encode()), tag=BASE)
    assert moved.id != original.id
    with pytest.raises(LockError) as info:
        backend.build(plan)
    assert f"{BASE} is now {moved.id}" in info.value.message and original.id in info.value.message
    assert info.value.hint is not None and f"docker tag {original.id} {BASE}" in info.value.hint

    # Put back as the hint says: the image is up to date again and the lock unchanged.
    client.images.get(original.id).tag(BASE)
    assert not backend.build(plan).built
    assert lockmod.read(plan.workspace.lockfile).environment == env
    client.images.remove(moved.id, force=True)
