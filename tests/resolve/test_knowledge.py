"""Internal consistency of the knowledge base: every fact has a known source and the tables agree with each other."""

from __future__ import annotations

import json
import re

import pytest

from legacyrun.knowledge import kb
from legacyrun.knowledge.base import DATA, cc_key, minor, version_key


def _source_keys(text: str) -> list[str]:
    return [re.match(r"[A-Z0-9]+", part.strip()).group(0) for part in text.split(",")]  # type: ignore[union-attr]


def _all_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "source" in node and isinstance(node["source"], str):
                rows.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in DATA.glob("*.json"):
        if path.name != "sources.json":
            walk(json.loads(path.read_text(encoding="utf-8")))
    return rows


def test_every_fact_names_a_known_source() -> None:
    rows = _all_rows()
    assert len(rows) > 200
    for row in rows:
        for key in _source_keys(str(row["source"])):
            assert key in kb().sources, f"unknown source {key!r} in {row}"


def test_every_torch_row_is_complete() -> None:
    knowledge = kb()
    releases = knowledge.torch_releases
    assert releases[0].torch == "0.1.12" and releases[-1].key >= (2, 0)
    assert len({r.key for r in releases}) == len(releases)
    for r in releases:
        assert r.torchvision, r.torch
        assert r.python and all(re.fullmatch(r"\d\.\d+", p) for p in r.python), r.torch
        assert r.cudas(), f"torch {r.torch} has no CUDA build"
        if r.pip_default:
            assert r.pip_default in r.pip, r.torch
        for cuda in r.cudas():
            assert r.cudnn(cuda, "pip"), f"{r.torch} cu{cuda}: no cuDNN"
            installer = "pip" if cuda in r.pip else "conda"
            assert knowledge.arch_list(r.torch, cuda, installer), f"{r.torch} cu{cuda}: no arch list"
            assert knowledge.driver_min(cuda), f"CUDA {cuda} (torch {r.torch}) has no driver minimum"
            assert knowledge.gcc_max(cuda), f"CUDA {cuda} has no gcc limit"
            assert knowledge.sm_targets(cuda), f"CUDA {cuda} has no arch range"
        if version_key(r.torch) >= (1, 2):
            assert knowledge.pip_rule(r.torch), r.torch
        if r.conda:
            assert knowledge.conda_rule(r.torch), r.torch


def test_binary_arch_lists_are_targetable_by_their_toolkit() -> None:
    knowledge = kb()
    for r in knowledge.torch_releases:
        for cuda in r.cudas():
            for channel in ("pip", "conda"):
                arch = knowledge.arch_list(r.torch, cuda, channel)
                assert arch is not None
                toolkit = knowledge.toolkit_ccs(cuda)
                for cc, _ in arch.entries:
                    assert cc in toolkit, f"{r.torch} cu{cuda}: sm_{cc[0]}{cc[1]} not targetable by nvcc {cuda}"


def test_driver_table_is_monotonic() -> None:
    knowledge = kb()
    cudas = knowledge.cudas_with_driver_facts()
    drivers = [version_key(knowledge.driver_min(c) or "0") for c in cudas]
    assert drivers == sorted(drivers)
    assert knowledge.driver_min("11.1") == "455.23"
    assert knowledge.driver_min("11.1.1") == "455.32"
    assert knowledge.minor_compat_floor("11.8") == "450.80.02"
    assert knowledge.minor_compat_floor("10.2") is None
    assert knowledge.max_cuda_for_driver("470.82.01") == "11.4"
    assert knowledge.max_cuda_for_driver("300.1") is None


def test_gcc_limits_follow_the_matrix() -> None:
    knowledge = kb()
    assert [
        knowledge.gcc_max(c)
        for c in ("8.0", "9.0", "10.0", "10.2", "11.0", "11.1", "11.4.3", "11.8", "12.1", "12.6", "12.8", "13.0")
    ] == [5, 6, 7, 8, 9, 10, 11, 11, 12, 13, 14, 15]
    limits = [knowledge.gcc_max(c) or 0 for c in knowledge.cudas_with_driver_facts()]
    assert limits == sorted(limits)


def test_every_image_cuda_and_ubuntu_is_known() -> None:
    knowledge = kb()
    for tag in knowledge.image_tags:
        assert knowledge.driver_min(tag.cuda), tag.tag
        assert knowledge.gcc_max(tag.cuda), tag.tag
        assert knowledge.ubuntu(tag.ubuntu), tag.tag
        assert tag.status in ("supported", "eol")
        assert not knowledge.deleted_images(tag.cuda) or minor(tag.cuda) in (
            "11.2",
            "11.3",
            "11.4",
            "11.5",
            "11.6",
            "11.7",
        )
    for row in knowledge._images["deleted"]:
        assert all(knowledge.ubuntu(u) for u in row["ubuntu"])
        assert not [t for t in knowledge.image_tags if t.cuda == row["cuda"]], f"{row['cuda']} is both deleted and live"


def test_gpu_table() -> None:
    knowledge = kb()
    for row in knowledge.gpus:
        cc_key(row.cc)
    cases = {
        "Tesla K80": "3.7",
        "Tesla P100-PCIE-16GB": "6.0",
        "Tesla V100-SXM2-32GB": "7.0",
        "Tesla T4": "7.5",
        "NVIDIA A100-SXM4-80GB": "8.0",
        "NVIDIA A10G": "8.6",
        "NVIDIA GeForce RTX 3090": "8.6",
        "NVIDIA GeForce RTX 4090": "8.9",
        "NVIDIA L4": "8.9",
        "NVIDIA L40S": "8.9",
        "NVIDIA H100 80GB HBM3": "9.0",
        "NVIDIA H200": "9.0",
        "NVIDIA B200": "10.0",
        "NVIDIA GeForce RTX 5090": "12.0",
        "NVIDIA RTX 6000 Ada Generation": "8.9",
        "Quadro RTX 6000": "7.5",
        "NVIDIA RTX A6000": "8.6",
        "Tesla P4": "6.1",
        "NVIDIA GeForce GTX 1080 Ti": "6.1",
    }
    for name, cc in cases.items():
        assert knowledge.gpu_cc(name) == cc, name
    assert knowledge.gpu_cc("Voodoo 5") is None


@pytest.mark.parametrize(
    ("cuda", "first"),
    [("8.6", "11.0"), ("9.0", "11.8"), ("8.0", "11.0"), ("8.9", "11.0"), ("7.5", "9.0"), ("12.0", "12.8")],
)
def test_first_toolkit_per_arch(cuda: str, first: str) -> None:
    assert kb().first_cuda_for(cc_key(cuda)) == first


def test_conda_channel_facts() -> None:
    knowledge = kb()
    assert knowledge.conda_rule("0.2.0").channels == ("soumith",)  # type: ignore[union-attr]
    assert knowledge.conda_rule("1.9.0").cuda_spec == "cudatoolkit={cuda}"  # type: ignore[union-attr]
    assert knowledge.conda_rule("2.0.1").channels == ("pytorch", "nvidia")  # type: ignore[union-attr]
    assert knowledge.conda_rule("2.6.0") is None
    assert knowledge.last_pytorch_channel_release == "2.5.1"
    assert knowledge.conda_forge_needed("1.8.0", "11.1")


# -- releases on the package index (issue 11): torch up to 2.15, CUDA 13.x wheels, Blackwell archs ---------------

# torch, its torchvision, Python range, PyPI's default CUDA (None: left out, see the row's note) - read from PyPI
INDEX = [
    ("2.10.0", "0.25.0", "3.10", "3.14", "12.8"),
    ("2.11.0", "0.26.0", "3.10", "3.14", "13.0"),
    ("2.12.0", "0.27.0", "3.10", "3.14", "13.0"),
    ("2.12.1", "0.27.1", "3.10", "3.14", "13.0"),
    ("2.13.0", "0.28.0", "3.10", "3.14", "13.0"),
    ("2.14.0", "0.29.0", "3.10", "3.14", "13.0"),
    ("2.14.1", "0.29.1", "3.10", "3.14", "13.0"),
    ("2.15.0", "0.29.2", "3.11", "3.15", None),
]


@pytest.mark.parametrize(("torch", "torchvision", "py_min", "py_max", "default"), INDEX)
def test_releases_on_the_package_index(
    torch: str, torchvision: str, py_min: str, py_max: str, default: str | None
) -> None:
    release = kb().torch_release(torch)
    assert release is not None
    assert release.torchvision == torchvision
    assert (release.python[0], release.python[-1]) == (py_min, py_max)
    assert release.pip_default == default
    assert {"12.8", "13.0"} <= set(release.pip)
    assert "PYPI" in release.source
    assert kb().torch_releases[-1].torch == "2.15.0"


def test_torchvision_lower_bounds_pair_with_newer_torch() -> None:
    # 0.29.1 and 0.29.2 declare torch>=2.14.0; 0.29.0 pins torch==2.14.0
    assert kb().torch_release("2.14.1").torchvisions() == ("0.29.1", "0.29.2")  # type: ignore[union-attr]
    assert "0.29.0" not in kb().torch_release("2.15.0").torchvisions()  # type: ignore[union-attr]
    for release in kb().torch_releases:
        assert len(set(release.torchvisions())) == len(release.torchvisions())


def test_read_arch_list_of_the_cuda13_wheel() -> None:
    arch = kb().arch_list("2.14.1", "13.0")
    assert arch is not None and arch.source == "LOCAL"
    assert arch.sm_list() == "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120"
    assert kb().arch_list("2.13.0", "13.0").source == "ASSUMED"  # type: ignore[union-attr]


def test_cpu_plans_take_pypi_from_the_first_cuda13_default() -> None:
    knowledge = kb()
    assert not knowledge.cpu_from_pypi("2.10.0")
    assert all(knowledge.cpu_from_pypi(v) for v in ("2.11.0", "2.14.1", "2.15.0", "2.16.0"))
    first = min((r for r in knowledge.torch_releases if knowledge.cpu_from_pypi(r.torch)), key=lambda r: r.key)
    assert first.pip_default == "13.0"


def test_blackwell_archs_agree_with_the_toolkit_table() -> None:
    knowledge = kb()
    toolkits = sorted({r["cuda"] for r in knowledge._cuda["sm_targets"]}, key=version_key)
    assert {r.sm for r in knowledge.arch_rows} >= {"sm_100", "sm_103", "sm_120", "sm_121"}
    for row in knowledge.arch_rows:
        having = [c for c in toolkits if row.sm in knowledge.sm_targets(c)]
        assert having and having[0] == row.first_cuda, row
        assert knowledge.first_cuda_for(cc_key(row.cc)) is not None
        if row.last_cuda:
            assert having[-1] == row.last_cuda, row
        assert knowledge.arch_row(cc_key(row.cc)) == row
    assert knowledge.arch_row((10, 3)).first_cuda == "12.9"  # type: ignore[union-attr]


def test_cuda13_dropped_maxwell_pascal_volta() -> None:
    knowledge = kb()
    toolkits = sorted({r["cuda"] for r in knowledge._cuda["sm_targets"]}, key=version_key)
    for row in knowledge.dropped_archs:
        before = toolkits[toolkits.index(row.cuda) - 1]
        for sm in row.sms:
            assert sm not in knowledge.sm_targets(row.cuda) and sm in knowledge.sm_targets(before), (row, sm)
    volta = knowledge.dropped_for("13.0", (7, 0))
    assert volta is not None and volta.span() == "sm_50-sm_72" and "Volta" in volta.family
    assert knowledge.dropped_for("12.9", (7, 0)) is None
    assert knowledge.dropped_for("13.2", (6, 1)) is not None
    assert knowledge.dropped_for("13.0", (7, 5)) is None
    assert knowledge.driver_min("13.0") == "580.65.06" and knowledge.gcc_max("13.0") == 15


def test_unread_facts_are_marked() -> None:
    for row in _all_rows():
        if "ASSUMED" in _source_keys(str(row["source"])):
            note = str(row.get("note") or "")
            assert "assumed" in note or "to verify" in note, row
