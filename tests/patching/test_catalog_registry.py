"""Catalog rules are declared once: each rule in rules.yaml names its transform and parameters, transforms are
registered once through @transform, and the name tables the transforms read are package data."""

from __future__ import annotations

import dataclasses
import inspect
from collections import Counter
from importlib import resources

import pytest
import yaml

from legacyrun.errors import PatchError
from legacyrun.patching.catalog import get_rules
from legacyrun.patching.catalog.engine import transform_of, transforms
from legacyrun.patching.catalog.registry import transform
from legacyrun.patching.catalog.tables import table

# The rules whose transform can leave some detected sites alone; scan reports those sites as manual.
SITE_CHECKED = {
    "py-torch-six",
    "py-scipy-misc-math",
    "py-scalar-first-overloads",
    "py-loss-size-average-reduce",
    "cpp-thcstate",
    "cuda-atomicadd-double",
}


def _raw_rules() -> list[dict[str, object]]:
    text = resources.files("legacyrun.patching.catalog").joinpath("rules.yaml").read_text(encoding="utf-8")
    rules: list[dict[str, object]] = yaml.safe_load(text)["rules"]
    return rules


def test_rule_ids_are_unique() -> None:
    # Read from the file itself: a mapping by id would hide a duplicate.
    counts = Counter(raw["id"] for raw in _raw_rules())
    assert [rid for rid, n in counts.items() if n > 1] == []


def test_every_rule_resolves_to_exactly_one_registered_transform() -> None:
    registered = transforms()
    for rule in get_rules():
        if not rule.auto_fixable:
            # Detect-only rules: scan reports them with the fix to make by hand; nothing is registered for them.
            assert rule.transform is None and not rule.params, rule.id
            assert transform_of(rule) is None
            continue
        assert isinstance(rule.transform, str), f"{rule.id}: an auto-fixable rule names one transform"
        spec = transform_of(rule)
        assert spec is not None and spec is registered[rule.transform], rule.id
        # The rule's params are exactly keyword arguments the transform accepts (required ones included).
        inspect.signature(spec.fn).bind("", None, **rule.params)


def test_every_registered_transform_is_used_by_a_rule() -> None:
    used = Counter(r.transform for r in get_rules() if r.transform is not None)
    assert sorted(set(transforms()) - set(used)) == []
    # Shared transforms take their differences as params; the others belong to one rule each.
    assert {name for name, n in used.items() if n > 1} == {"regex", "add_kwarg", "remove_kwarg"}


def test_site_checks_ride_with_their_transform() -> None:
    checked = {r.id for r in get_rules() if (spec := transform_of(r)) is not None and spec.site_check is not None}
    assert checked == SITE_CHECKED


def test_a_transform_name_registers_once() -> None:
    with pytest.raises(PatchError, match="registered twice"):
        transform("regex")(lambda text, target: text)


def test_unknown_transform_name_is_an_error() -> None:
    rule = dataclasses.replace(get_rules()[0], transform="no-such-transform")
    with pytest.raises(PatchError, match="no-such-transform"):
        transform_of(rule)


def test_name_tables_are_package_data_loaded_once() -> None:
    data = resources.files("legacyrun.patching.catalog").joinpath("data")
    names = sorted(p.name.removesuffix(".yaml") for p in data.iterdir() if p.name.endswith(".yaml"))
    assert names, "the catalog's name tables"
    for name in names:
        assert table(name) is table(name), name
    assert table("numpy2_members")["replacements"]["NaN"] == "{mod}.nan"
    assert table("tv_pretrained")["weights"]["resnet50"] == "ResNet50_Weights"
