"""The resolve table: three recipes (faithful pins of mask2former, masktextspotter, pix2pix) x hosts.

Each row is (recipe, gpu or None for --cpu, driver, expected profile, expected torch, expected CUDA). The invariants
every resolution must satisfy (gcc within nvcc's limit, arch list covering the GPU, existing image or stated
fallback, CPU builds without CUDA) are checked for every row.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from legacyrun.errors import ResolveError, UsageError
from legacyrun.host import assumed_host
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import cc_key, version_key
from legacyrun.recipe.loader import LoadedRecipe, load_path
from legacyrun.recipe.refs import builtin_dir
from legacyrun.resolution import Resolution
from legacyrun.resolve.engine import resolve

RECIPES = Path(__file__).resolve().parent / "recipes"
M2F, MTS, P2P = "mask2former", "masktextspotter", "pix2pix"
MODERN = ">=2.1"

# (recipe, gpu, driver, profile, torch, cuda) - torch/cuda: exact value, or a '>=' bound for modern picks
TABLE = [
    # mask2former: torch 1.9.0 + cu111 wheels carry sm_37..sm_86 -> faithful everywhere but Hopper
    (M2F, "K80", "470.82.01", "faithful", "1.9.0", "11.1"),
    (M2F, "P100", "450.80.02", "faithful", "1.9.0", "11.1"),  # under 11.x minor-version compatibility
    (M2F, "V100", "470.57.02", "faithful", "1.9.0", "11.1"),  # the example
    (M2F, "T4", "535.104.05", "faithful", "1.9.0", "11.1"),
    (M2F, "A100", "535.129.03", "faithful", "1.9.0", "11.1"),
    (M2F, "RTX 3090", "525.85.12", "faithful", "1.9.0", "11.1"),
    (M2F, "RTX 3090", "460.32.03", "faithful", "1.9.0", "11.1"),
    (M2F, "RTX 4090", "550.54.15", "faithful", "1.9.0", "11.1"),  # sm_89 runs the sm_86 cubin
    (M2F, "L4", "550.90.07", "faithful", "1.9.0", "11.1"),
    (M2F, "H100", "550.54.15", "modern", MODERN, ">=11.8"),  # the example
    (M2F, "2xH100", "535.104.05", "modern", MODERN, ">=11.8"),
    (M2F, "H100", None, "modern", MODERN, ">=11.8"),
    (M2F, "B200", "570.124.06", "modern", MODERN, ">=12.8"),
    (M2F, None, None, "faithful", "1.9.0", None),
    # masktextspotter: torch 1.2.0 + CUDA 10.0 stops at sm_75
    (MTS, "K80", "470.82.01", "faithful", "1.2.0", "10.0"),
    (MTS, "P100", "450.80.02", "faithful", "1.2.0", "10.0"),
    (MTS, "V100", "470.57.02", "faithful", "1.2.0", "10.0"),
    (MTS, "T4", "535.104.05", "faithful", "1.2.0", "10.0"),
    (MTS, "A100", "535.129.03", "modern", MODERN, ">=11.8"),
    (MTS, "RTX 3090", "525.85.12", "modern", MODERN, ">=11.8"),
    (MTS, "RTX 3090", "460.32.03", "modern", "2.7.1", "11.8"),  # 12.x wheels need >= 525
    (MTS, "RTX 4090", "550.54.15", "modern", MODERN, ">=11.8"),
    (MTS, "L4", "550.90.07", "modern", MODERN, ">=11.8"),
    (MTS, "H100", "550.54.15", "modern", MODERN, ">=11.8"),
    (MTS, None, None, "faithful", "1.2.0", None),
    (MTS, "V100", "410.48", "faithful", "1.2.0", "10.0"),  # exactly CUDA 10.0's minimum
    # pix2pix: torch 0.2.0 + CUDA 8.0 stops at sm_61; no CPU-only build of 0.2.0
    (P2P, "K80", "470.82.01", "faithful", "0.2.0", "8.0"),
    (P2P, "P100", "450.80.02", "faithful", "0.2.0", "8.0"),
    (P2P, "P100", "384.81", "faithful", "0.2.0", "8.0"),
    (P2P, "GTX 1080 Ti", "430.64", "faithful", "0.2.0", "8.0"),
    (P2P, "V100", "470.57.02", "modern", "2.7.1", "11.8"),
    (P2P, "T4", "535.104.05", "modern", MODERN, ">=11.8"),
    (P2P, "A100", "535.129.03", "modern", MODERN, ">=11.8"),
    (P2P, "RTX 3090", "525.85.12", "modern", MODERN, ">=11.8"),  # the example
    (P2P, "RTX 4090", "550.54.15", "modern", MODERN, ">=11.8"),
    (P2P, "L4", "550.90.07", "modern", MODERN, ">=11.8"),
    (P2P, "H100", "550.54.15", "modern", MODERN, ">=11.8"),
    (P2P, "RTX 5090", "575.57.08", "modern", MODERN, ">=12.8"),
    (P2P, None, None, "modern", MODERN, None),
    (P2P, "Tesla P40", "418.87.01", "faithful", "0.2.0", "8.0"),
    (M2F, "A100", "450.80.02", "faithful", "1.9.0", "11.1"),
    (MTS, "Quadro RTX 6000", "440.33", "faithful", "1.2.0", "10.0"),
]


def _load(name: str) -> LoadedRecipe:
    return load_path(RECIPES / f"{name}.yaml")


def _host(gpu: str | None, driver: str | None):  # type: ignore[no-untyped-def]
    return assumed_host(gpu, driver, cpu=gpu is None)


def _ok(value: str | None, want: str | None) -> bool:
    if want is None or value is None:
        return value == want
    if want.startswith(">="):
        return version_key(value) >= version_key(want[2:])
    return value == want


def check_invariants(res: Resolution) -> None:
    knowledge = kb()
    assert res.reasons and res.reasons[0]
    assert res.python and res.torch and res.torchvision
    if res.cuda is None:
        assert res.cudnn is None and res.torch_cuda_arch_list is None
        assert res.base_image and res.base_image.startswith("ubuntu:")
        cpu_marked = (res.pip_index_url or "").endswith("/cpu") or any("+cpu" in s for s in res.pip_specs)
        if res.installer == "pip" and knowledge.cpu_from_pypi(res.torch):
            # PyPI's default wheel runs without a GPU: plain specs, no PyTorch index or variant suffix
            assert res.pip_index_url is None and res.pip_find_links is None
            assert res.pip_specs[0] == f"torch=={res.torch}"
            return
        assert cpu_marked or "cpuonly" in res.conda_specs or any("-cpu=" in s for s in res.conda_specs)
        return
    assert res.cudnn
    assert res.gcc is not None and int(res.gcc) <= (knowledge.gcc_max(res.cuda) or 0)
    assert res.base_image
    if res.base_image.startswith("nvidia/cuda:"):
        assert res.base_image.startswith(f"nvidia/cuda:{res.cuda}.")
        assert res.base_image_note is None
    else:
        assert res.base_image.startswith("ubuntu:") and res.base_image_note and "deleted" in res.base_image_note
    arch = res.torch_cuda_arch_list
    assert arch and arch.endswith("+PTX")
    listed = [cc_key(a.removesuffix("+PTX")) for a in arch.split(";")]
    toolkit = knowledge.toolkit_ccs(res.cuda)
    for gpu in res.host.gpus:
        cc = cc_key(gpu.compute_capability or "0.0")
        assert any(x[0] == cc[0] and x <= cc for x in listed), (gpu, arch)
    assert all(x in toolkit for x in listed)
    binary = knowledge.arch_list(res.torch, res.cuda, res.installer)
    assert binary is not None
    assert all(binary.has_cubin_for(cc_key(g.compute_capability or "0.0")) for g in res.host.gpus)
    if res.installer == "pip":
        assert res.pip_specs[0].startswith(f"torch=={res.torch}")
        assert res.pip_index_url or res.pip_find_links
    else:
        assert res.conda_channels and any(s.startswith(("pytorch=", "pytorch-cpu=")) for s in res.conda_specs)


@pytest.mark.parametrize(("recipe", "gpu", "driver", "profile", "torch", "cuda"), TABLE)
def test_resolve_table(
    recipe: str, gpu: str | None, driver: str | None, profile: str, torch: str, cuda: str | None
) -> None:
    res = resolve(_load(recipe), _host(gpu, driver))
    assert res.profile == profile, res.reasons[0]
    if torch == MODERN:
        assert version_key(res.torch) >= (2, 1)
    else:
        assert res.torch == torch
    assert _ok(res.cuda, cuda), (res.cuda, cuda)
    check_invariants(res)
    assert res == resolve(_load(recipe), _host(gpu, driver)), "resolution must be deterministic"


def test_table_is_big_enough() -> None:
    assert len(TABLE) >= 40


def test_mask2former_v100_driver_470_is_faithful_with_an_accepted_gcc() -> None:
    res = resolve(_load(M2F), _host("V100", "470"))
    assert (res.profile, res.torch, res.torchvision, res.cuda, res.python) == (
        "faithful",
        "1.9.0",
        "0.10.0",
        "11.1",
        "3.8",
    )
    assert int(res.gcc or 99) <= 10
    assert res.cudnn == "8.0.5"
    assert res.torch_cuda_arch_list == "7.0+PTX"
    assert res.pip_specs[:2] == ["torch==1.9.0+cu111", "torchvision==0.10.0+cu111"]
    assert res.pip_find_links == "https://download.pytorch.org/whl/torch_stable.html"
    assert res.base_image == "nvidia/cuda:11.1.1-cudnn8-devel-ubuntu20.04"


def test_mask2former_h100_driver_550_is_modern_with_sm90() -> None:
    res = resolve(_load(M2F), _host("H100", "550.54.15"))
    assert res.profile == "modern"
    assert version_key(res.cuda or "0") >= (11, 8)
    assert "9.0" in (res.torch_cuda_arch_list or "")
    first = res.reasons[0]
    assert first.startswith("H100 is sm_90; torch 1.9.0 builds stop at CUDA 11.1 (sm_86); using profile modern")
    assert "forward-port patches" in first


def test_pix2pix_rtx3090_is_modern_because_no_torch02_build_has_sm86() -> None:
    res = resolve(_load(P2P), _host("RTX 3090", "525.85.12"))
    assert res.profile == "modern"
    assert res.reasons[0].startswith("RTX 3090 is sm_86; torch 0.2.0 builds stop at CUDA 8.0 (sm_61)")


def test_pix2pix_faithful_uses_the_soumith_channel_and_a_stated_image_fallback() -> None:
    res = resolve(_load(P2P), _host("K80", "470.82.01"))
    assert res.installer == "conda" and res.conda_channels == ["soumith"]
    assert res.conda_specs[:4] == ["python=3.6", "pytorch=0.2.0", "torchvision=0.1.9", "cuda80"]
    assert res.base_image == "ubuntu:16.04" and "deleted" in (res.base_image_note or "")
    assert res.gcc == "5"


def test_masktextspotter_faithful_gcc_and_fallback_image() -> None:
    res = resolve(_load(MTS), _host("T4", "535.104.05"))
    assert res.gcc == "7" and res.base_image == "ubuntu:18.04"
    assert "10.0" in (res.base_image_note or "")
    assert res.pip_specs[:2] == ["torch==1.2.0", "torchvision==0.4.0"]  # cu100 is 1.2.0's PyPI default


@pytest.mark.parametrize("recipe", [M2F, MTS, P2P])
def test_cpu_gives_a_cpu_build(recipe: str) -> None:
    res = resolve(_load(recipe), _host(None, None))
    assert res.cuda is None and res.cudnn is None and res.torch_cuda_arch_list is None
    check_invariants(res)


@pytest.mark.parametrize("recipe", [M2F, MTS, P2P])
def test_driver_too_old_for_every_profile_names_the_driver(recipe: str) -> None:
    with pytest.raises(ResolveError) as info:
        resolve(_load(recipe), _host("A100", "418.87.01"))
    err = info.value
    assert "418.87.01" in err.message and "450.80.02" in (err.hint or "")
    assert err.message.startswith(f"no profile of {recipe} can run on")


def test_forced_profile() -> None:
    res = resolve(_load(M2F), _host("V100", "470.57.02"), profile="modern")
    assert res.profile == "modern" and "requested with --profile" in " ".join(res.reasons)
    assert "7.0" in (res.torch_cuda_arch_list or "")
    with pytest.raises(ResolveError, match=r"profile faithful of mask2former cannot run on H100.*sm_90.*CUDA 11.1"):
        resolve(_load(M2F), _host("H100", "550.54.15"), profile="faithful")
    with pytest.raises(UsageError, match="no profile 'legacy'"):
        resolve(_load(M2F), _host("V100", None), profile="legacy")


def test_unknown_compute_capability_is_an_error() -> None:
    from legacyrun.resolution import GpuInfo, HostInfo

    host = HostInfo(gpus=[GpuInfo(name="Mystery Accelerator")], driver="550.54.15")
    with pytest.raises(ResolveError, match="compute capability"):
        resolve(_load(M2F), host)


def test_builtin_recipes_resolve_everywhere() -> None:
    # Every built-in recipe either resolves to consistent pins or fails with a one-line ResolveError.
    resolved = 0
    for path in sorted(builtin_dir().glob("*.yaml")):
        loaded = load_path(path)
        for gpu, driver in (("V100", "470.82.01"), ("H100", "550.54.15"), (None, None), ("RTX 3090", "535.104.05")):
            try:
                res = resolve(loaded, _host(gpu, driver))
            except ResolveError as exc:
                assert "\n" not in exc.message
                continue
            check_invariants(res)
            resolved += 1
    assert resolved >= 4
