"""The excerpt test: each file of excerpts/ (collected by conftest.py) is an error excerpt as users see it
(tracebacks, compiler and launcher output) with the signature id that `legacyrun explain` must report FIRST; plus
the consistency checks on signatures.yaml.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.excerpts import Excerpt

from legacyrun.diagnose import explain_text, load_signatures
from legacyrun.diagnose.docs import render_docs


def test_excerpt_maps_to_signature_first(excerpt: Excerpt) -> None:
    expected, text = excerpt.signature, excerpt.text
    matches = explain_text(text)
    assert matches, f"nothing matched; expected {expected}"
    assert matches[0].signature_id == expected, [m.signature_id for m in matches]
    first = matches[0]
    # The reported line is a real line of the excerpt, and the excerpt shown is that line.
    lines = text.splitlines()
    assert 1 <= first.line <= len(lines)
    shown = first.excerpt.removeprefix("...").removesuffix("...")
    assert shown and shown in lines[first.line - 1]


def test_table_is_large_enough(excerpts: list[Excerpt]) -> None:
    # 150 when the excerpts became files (127 from the old inline table, 23 from the FAQ's): none is lost.
    assert len(excerpts) >= 150
    assert len([e for e in excerpts if e.faq is None]) >= 45
    assert len({e.signature for e in excerpts}) >= 50


def test_every_signature_has_cause_fix_and_an_excerpt(excerpts: list[Excerpt]) -> None:
    sigset = load_signatures()
    covered = {e.signature for e in excerpts}
    assert len(sigset.signatures) >= 50
    for sig in sigset.signatures:
        assert sig.cause.strip() and sig.fix.strip() and sig.title.strip(), sig.id
        assert sig.sources, sig.id
        assert sig.id in covered, f"signature {sig.id} has no test excerpt"
    unknown = covered - {s.id for s in sigset.signatures}
    assert not unknown, f"excerpts name unknown signatures: {sorted(unknown)}"


def test_fixes_are_concrete() -> None:
    # A fix names a legacyrun command, a catalog rule, or a recipe/profile change, not just "check your setup".
    for sig in load_signatures().signatures:
        fix = sig.fix
        assert "legacyrun " in fix or "catalog rule" in fix or "recipe" in fix or "profile" in fix, sig.id


def test_required_failures_are_covered() -> None:
    required = {
        "no kernel image is available": "RuntimeError: CUDA error: no kernel image is available for execution on "
        "the device",
        "invalid device function": "RuntimeError: CUDA error: invalid device function",
        "undefined symbol": "ImportError: /x/_C.so: undefined symbol: _ZN3c104cuda20getCurrentCUDAStreamEa",
        "unsupported GNU version": "#error -- unsupported GNU version! gcc versions later than 6 are not supported!",
        "compute_86": "nvcc fatal   : Unsupported gpu architecture 'compute_86'",
        "mmcv._ext": "ModuleNotFoundError: No module named 'mmcv._ext'",
        "THC/THC.h": "x.cu:3:10: fatal error: THC/THC.h: No such file or directory",
        "process group": "AssertionError: Default process group is not initialized",
        "open files": "OSError: [Errno 24] Too many open files",
        "OOM": "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB",
        "reduction": "RuntimeError: Expected to have finished reduction in the prior iteration before starting a "
        "new one.",
        "0-dim": "IndexError: invalid index of a 0-dim tensor. Use tensor.item() to convert a 0-dim tensor",
        "torch.bool": "AttributeError: module 'torch' has no attribute 'bool'",
        "GLIBCXX": "ImportError: /usr/lib/libstdc++.so.6: version `GLIBCXX_3.4.30' not found (required by x.so)",
        "NaN": "Epoch [3][200/500] lr: 2.0e-02, loss_cls: nan, loss_bbox: nan, loss: nan",
        "driver": "RuntimeError: CUDA driver version is insufficient for CUDA runtime version",
        "nvcc fatal": "nvcc fatal   : A single input file is required for a non-link phase when an outputfile is "
        "specified",
        "AT_CHECK": "x.cpp:12:3: error: 'AT_CHECK' was not declared in this scope",
    }
    for name, line in required.items():
        assert explain_text(line + "\n"), f"{name}: no signature matched {line!r}"


def _catalogue_path() -> Path | None:
    # The forward-port catalogue lives in the shared reference folder next to the checkout (not in the package).
    here = Path(__file__).resolve()
    for base in here.parents:
        candidate = base / "shared" / "reference" / "forward_port_catalogue.yaml"
        if candidate.is_file():
            return candidate
    return None


def test_catalog_rule_ids_exist_in_the_catalogue() -> None:
    path = _catalogue_path()
    if path is None:
        pytest.skip("shared/reference/forward_port_catalogue.yaml is not next to this checkout")
    import yaml

    ids = {e["id"] for e in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]}
    for sig in load_signatures().signatures:
        missing = set(sig.catalog_rules) - ids
        assert not missing, f"{sig.id}: unknown catalog rules {sorted(missing)}"


def test_docs_are_generated_from_the_signatures(repo_root: Path) -> None:
    doc = repo_root / "docs" / "explain.md"
    assert doc.read_text(encoding="utf-8") == render_docs(), (
        'docs/explain.md is stale; regenerate: python -c "from legacyrun.diagnose.docs import write_docs; write_docs()"'
    )
