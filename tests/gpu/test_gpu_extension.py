"""On a real NVIDIA GPU: a THC-era CUDA extension fails to build on modern PyTorch, `explain` names the cause,
the catalog's forward-port rules fix it, and it builds for the arch list legacyrun resolves for this GPU and
computes the right numbers. Skipped where there is no GPU (CI); run with `pytest tests/gpu` on a GPU machine."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.slow]

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "legacy_cuda_ext"


def _gpu_ready() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return "no nvidia-smi"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "torch sees no GPU"
    from torch.utils.cpp_extension import CUDA_HOME

    if CUDA_HOME is None:
        return "no CUDA toolkit (nvcc) for extension builds"
    return None


@pytest.fixture(scope="module")
def gpu() -> None:
    why = _gpu_ready()
    if why:
        pytest.skip(why)


def _build(tree: Path, arch_list: str) -> tuple[int, str]:
    from legacyrun import proc

    done = proc.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=tree,
        env={"TORCH_CUDA_ARCH_LIST": arch_list, "FORCE_CUDA": "1", "MAX_JOBS": "4"},
        timeout=900,
    )
    return done.returncode, done.stdout + done.stderr


def test_legacy_extension_forward_ported_runs_on_this_gpu(gpu: None, tmp_path: Path) -> None:
    import torch

    from legacyrun.diagnose import explain_text
    from legacyrun.host import probe_host
    from legacyrun.patching.catalog import TargetVersions, apply_rules, scan
    from legacyrun.recipe.loader import LoadedRecipe, parse_text
    from legacyrun.resolve.engine import resolve

    tree = tmp_path / "ext"
    shutil.copytree(FIXTURE, tree)

    # 1. As the authors left it, modern PyTorch cannot build it; explain says why.
    host = probe_host()
    assert host.gpus, "nvidia-smi answered but the probe found no GPU"
    text = (
        "schema_version: 1\nname: ext\ntitle: t\n"
        "sources: [{name: ext, url: 'file:///x', commit: '" + "0" * 40 + "'}]\n"
        "env: {profiles: {faithful: {python: '3.6', torch: '1.4.0', cuda: '10.1'},\n"
        "                 modern: {python: '3.11', torch: '>=2.1'}}}\n"
    )
    loaded = LoadedRecipe(parse_text(text, "ext.yaml"), Path("ext.yaml"), text)
    res = resolve(loaded, host)
    assert res.profile == "modern", res.reasons
    arch_list = res.torch_cuda_arch_list
    assert arch_list, res
    cc = host.gpus[0].compute_capability
    assert cc is not None and cc in arch_list.replace("+PTX", "").split(";"), (cc, arch_list)

    code, log = _build(tree, arch_list)
    assert code != 0, "the THC-era extension unexpectedly built on modern torch"
    ids = [m.signature_id for m in explain_text(log)]
    assert any("thc" in i for i in ids), (ids, log[-3000:])

    # 2. The catalog's C++/CUDA forward ports fix it.
    target = TargetVersions(torch=torch.__version__.split("+")[0])
    changes = apply_rules(tree, ["set:cpp-forward"], ["**/*"], [], target)
    assert changes, "no catalog rule applied"
    for rel, (_old, new) in changes.items():
        (tree / rel).write_text(new, encoding="utf-8")
    left = [f for f in scan(tree, target) if f.auto_fixable]
    assert not left, left

    # 3. Built for the resolved arch list, it runs on this GPU and computes a * alpha + b.
    for stale in ("build",):
        shutil.rmtree(tree / stale, ignore_errors=True)
    code, log = _build(tree, arch_list)
    assert code == 0, log[-4000:]
    sys.path.insert(0, str(tree))
    try:
        import legacy_scale_add  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tree))
    a = torch.randn(100_003, device="cuda")
    b = torch.randn(100_003, device="cuda")
    out = legacy_scale_add.scale_add(a, b, 2.5)
    torch.testing.assert_close(out, a * 2.5 + b)
    print(
        f"GPU {host.gpus[0].name} sm_{cc.replace('.', '')}: built for {arch_list}; "
        f"forward-ported files: {sorted(changes)}; result matches",
        file=sys.stderr,
    )
    os.environ.pop("TORCH_CUDA_ARCH_LIST", None)
