"""The catalog's public API: rule data integrity, sets, targets, errors."""

from __future__ import annotations

import re

import pytest

from legacyrun.errors import PatchError, UsageError
from legacyrun.patching.catalog import TargetVersions, expand_rule_ids, get_rules, rule_sets
from legacyrun.patching.catalog.engine import transforms

REQUIRED_SETS = (
    "set:python-forward",
    "set:cpp-forward",
    "set:thc",
    "set:numpy-forward",
    "set:shell-forward",
    "set:reverse",
)
RECIPE_IDS = [
    "py-data0-item",
    "py-variable-volatile",
    "py-cuda-device-id",
    "py-tv-transforms-scale",
    "py-numpy-builtin-aliases",
    "py-torch-bool-reverse",
    "py-distributed-local-rank",
    "cpp-thc-headers",
    "cpp-at-check",
    "cpp-type-accessors",
    "cpp-tensor-data-template",
    "cpp-dispatch-type",
    "cpp-thcstate",
    "cpp-thcudacheck",
    "cuda-thcceildiv",
]


def test_rule_data_is_complete_and_consistent() -> None:
    rules = get_rules()
    assert len(rules) >= 60
    assert len({r.id for r in rules}) == len(rules)
    for r in rules:
        assert r.lang in ("python", "cpp", "cuda", "shell", "config"), r.id
        assert r.direction in ("forward", "reverse", "device"), r.id
        assert r.keywords and r.files and r.what_breaks and r.fix and r.broke_in, r.id
        assert set(r.applies) <= {"torch", "python", "cuda"}, r.id
        if r.auto_fixable:
            assert r.transform in transforms(), f"{r.id} is auto-fixable but names no registered transform"
        else:
            assert r.transform is None and not r.params, r.id
        for find, _ in r.params.get("rewrites", ()):
            re.compile(find)
    assert sum(r.auto_fixable for r in rules) >= 60


def test_required_ids_and_sets_exist() -> None:
    sets = rule_sets()
    for name in REQUIRED_SETS:
        assert sets[name], name
    assert {r.id for r in expand_rule_ids(list(RECIPE_IDS))} == set(RECIPE_IDS)
    assert {r.id for r in expand_rule_ids(["set:thc"])} >= {"cpp-thc-headers", "cpp-thcstate", "cuda-thcceildiv"}
    assert all(r.direction == "reverse" for r in expand_rule_ids(["set:reverse"]))
    assert all(r.lang in ("cpp", "cuda") for r in expand_rule_ids(["set:cpp-forward"]))


def test_expand_keeps_catalog_order_and_dedupes() -> None:
    ids = [r.id for r in expand_rule_ids(["py-time-clock", "set:python-forward", "py-cuda-async-kwarg"])]
    assert ids == [r.id for r in get_rules() if r.id in set(ids)]
    assert len(ids) == len(set(ids))
    assert ids[0] == "py-cuda-async-kwarg", "the text pass that makes files parse runs first"


def test_unknown_rule_id_names_it() -> None:
    with pytest.raises(PatchError, match="py-no-such-rule"):
        expand_rule_ids(["py-data0-item", "py-no-such-rule"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("torch=1.4", TargetVersions("1.4")),
        ("1.4", TargetVersions("1.4")),
        ("torch=2.1.2+cu121,python=3.10,cuda=12.1", TargetVersions("2.1.2+cu121", "3.10", "12.1")),
    ],
)
def test_target_parse(text: str, expected: TargetVersions) -> None:
    assert TargetVersions.parse(text) == expected


@pytest.mark.parametrize("text", ["", "python=3.8", "torch=abc", "tensorflow=1.0"])
def test_target_parse_errors(text: str) -> None:
    with pytest.raises(UsageError):
        TargetVersions.parse(text)


def test_applies_to_version_ranges() -> None:
    by_id = {r.id: r for r in get_rules()}
    assert by_id["py-torch-bool-reverse"].applies_to(TargetVersions("1.1.0"))
    assert not by_id["py-torch-bool-reverse"].applies_to(TargetVersions("1.2"))
    assert not by_id["py-torch-bool-reverse"].applies_to(None), "no target: forward rules only"
    assert by_id["cpp-thc-headers"].applies_to(TargetVersions("1.11.0"))
    assert not by_id["cpp-thc-headers"].applies_to(TargetVersions("1.10.2"))
    assert by_id["py-time-clock"].applies_to(TargetVersions("1.0", python=None))
    assert not by_id["py-collections-abc"].applies_to(TargetVersions("1.0", python="2.7"))
    assert by_id["cuda-shfl-sync"].applies_to(TargetVersions("1.0", cuda="9.0"))
    assert not by_id["cuda-shfl-sync"].applies_to(TargetVersions("1.0", cuda="8.0"))
    assert TargetVersions("1.0") == TargetVersions(torch="1.0", python=None, cuda=None)
    with pytest.raises(AttributeError):
        TargetVersions("1.0").torch = "2.0"  # type: ignore[misc]
