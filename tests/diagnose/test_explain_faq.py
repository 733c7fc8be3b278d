"""Every entry of the MMDetection FAQ (../shared/seeds/001_*) is an `explain` signature with a log excerpt and a fix
that names a legacyrun command. The excerpts are data (excerpts/*.yaml with a `faq:` key), one per entry or variant;
test_excerpts.py checks that each gives its signature first."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.excerpts import Excerpt

from legacyrun.diagnose import explain_text, load_signatures

# The FAQ's own error texts (quoted from the post) and the signature each one must give first. Where the FAQ quotes
# only part of the message, the full line a log holds is in LOG_LINES.
FAQ_ERRORS: dict[str, str] = {
    "ConvWS is already registered in conv layer": "mmcv-version-incompatible",
    "AssertionError: MMCV==xxx is used but incompatible. Please install mmcv>=xxx, <=xxx.": "mmcv-version-incompatible",
    "No module named 'mmcv.ops'": "mmcv-ext-missing",
    "No module named 'mmcv._ext'": "mmcv-ext-missing",
    "nvcc fatal : Unsupported gpu architecture 'compute_86'": "nvcc-arch-too-new",
    "invalid device function": "cuda-invalid-device-function",
    "no kernel image is available for execution": "cuda-no-kernel-image",
    "undefined symbol": "ext-undefined-symbol",
    "DistutilsSetupError(\"each element of 'ext_modules' option must be an Extension instance or 2-tuple\")": (
        "setuptools-ext-modules"
    ),
    "Segmentation fault": "segfault",
    "RuntimeError: Expected to have finished reduction in the prior iteration before starting a new one": (
        "ddp-unused-parameters"
    ),
}
LOG_LINES: dict[str, str] = {
    "no kernel image is available for execution": "RuntimeError: CUDA error: no kernel image is available for "
    "execution on the device",
    "undefined symbol": "ImportError: /usr/lib/python3.8/site-packages/mmcv/_ext.cpython-38-x86_64-linux-gnu.so: "
    "undefined symbol: _ZN3c1015SmallVectorBaseIjE8grow_podEPKvmm",
}
# FAQ entries without a quoted error text: the signature that stands for each (excerpts in the YAML).
FAQ_TOPICS: dict[str, str] = {
    "cannot open xxx.so": "shared-object-missing",
    "Loss goes Nan": "loss-nan",
    "GPU out of memory": "cuda-oom",
    "save_best": "mmcv-save-best-rule",
    "ExpMomentumEMAHook": "mmdet-ema-resume",
    "AP 或者 AR = -1": "coco-ap-minus-one",
    "ResNet style": "mmdet-resnet-style",
    "ResNeXt": "mmdet-resnext-args",
    "norm_eval=True": "bn-batch-of-one",
    "SyncBN": "syncbn-single-process",
}


def test_faq_excerpts_are_there(excerpts: list[Excerpt]) -> None:
    # The FAQ's excerpts (23 when they became files) are checked with all others by test_excerpts.py; each names
    # the FAQ entry it stands for.
    faq = [e for e in excerpts if e.faq is not None]
    assert len(faq) >= 23
    assert all(e.faq and e.faq.strip() for e in faq)


@pytest.mark.parametrize(("text", "expected"), sorted(FAQ_ERRORS.items()))
def test_faq_error_text_is_recognised(text: str, expected: str) -> None:
    matches = explain_text(LOG_LINES.get(text, text) + "\n")
    assert [m.signature_id for m in matches][:1] == [expected], [m.signature_id for m in matches]


def test_every_faq_entry_has_an_excerpt_and_a_legacyrun_fix(excerpts: list[Excerpt]) -> None:
    covered = {e.signature for e in excerpts if e.faq is not None}
    wanted = set(FAQ_ERRORS.values()) | set(FAQ_TOPICS.values())
    assert wanted <= covered, sorted(wanted - covered)
    sigset = load_signatures()
    for sig_id in sorted(wanted):
        sig = sigset.by_id(sig_id)
        assert "legacyrun " in sig.fix, f"{sig_id}: the fix names no legacyrun command"
        assert any("MMDetection FAQ" in s for s in sig.sources), f"{sig_id}: the FAQ is not among its sources"


def test_the_faq_texts_are_the_seed_posts(repo_root: Path) -> None:
    # Keeps the lists above tied to the post itself (read at run time, never copied here).
    seeds = sorted((repo_root.parent / "shared" / "seeds").glob("001_*"))
    if not seeds:
        pytest.skip("../shared/seeds/001_* (the MMDetection FAQ) is not beside this checkout")
    text = " ".join(seeds[0].read_text(encoding="utf-8").split())
    for quoted in [*FAQ_ERRORS, *FAQ_TOPICS]:
        assert " ".join(quoted.split()) in text, quoted
