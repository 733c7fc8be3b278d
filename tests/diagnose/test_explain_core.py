# ruff: noqa: E501  (log excerpts are quoted line for line, as long as real logs have them)
"""explain's matcher: no false alarms on healthy logs, streaming across block boundaries, ordering, the loader."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.excerpts import Excerpt

from legacyrun.diagnose import (
    SignatureFileError,
    SignatureSet,
    explain_chunks,
    explain_file,
    explain_text,
    iter_blocks,
    load_signatures,
)
from legacyrun.diagnose import scanner as ex
from legacyrun.diagnose.signatures import load_gates, pattern_anchor
from legacyrun.errors import UsageError

HEALTHY_LOGS = {
    "maskrcnn-benchmark training": """
        2020-06-01 09:12:30,101 maskrcnn_benchmark INFO: Using 1 GPUs
        2020-06-01 09:12:30,102 maskrcnn_benchmark INFO: Namespace(config_file='configs/pretrain.yaml', local_rank=0, opts=[])
        2020-06-01 09:12:30,250 maskrcnn_benchmark INFO: Collecting env info (might take some time)
        PyTorch version: 1.4.0
        Is debug build: No
        CUDA used to build PyTorch: 10.1
        OS: Ubuntu 18.04.5 LTS
        GCC version: (Ubuntu 7.5.0-3ubuntu1~18.04) 7.5.0
        Is CUDA available: Yes
        CUDA runtime version: 10.1.243
        GPU models and configuration: GPU 0: GeForce GTX 1080 Ti
        Nvidia driver version: 470.82.01
        cuDNN version: /usr/lib/x86_64-linux-gnu/libcudnn.so.7.6.5
        2020-06-01 09:12:33,402 maskrcnn_benchmark.trainer INFO: Start training
        2020-06-01 09:12:45,011 maskrcnn_benchmark.trainer INFO: eta: 6 days, 1:10:02  iter: 20  loss: 3.1012 (3.4567)  loss_classifier: 0.6012 (0.6345)  loss_box_reg: 0.0123 (0.0111)  time: 0.4512 (0.5123)  data: 0.0051 (0.0213)  lr: 0.000500  max mem: 3456
        2020-06-01 09:12:54,117 maskrcnn_benchmark.trainer INFO: eta: 5 days, 23:01:12  iter: 40  loss: 2.9012 (3.1567)  loss_classifier: 0.5012 (0.5345)  loss_box_reg: 0.0223 (0.0151)  time: 0.4412 (0.4823)  data: 0.0041 (0.0113)  lr: 0.000700  max mem: 3456
        2020-06-01 09:13:10,000 maskrcnn_benchmark.utils.checkpoint INFO: Saving checkpoint to ./outputs/pretrain/model_0000040.pth
        """,
    "mmdetection training": """
        2022-07-25 09:20:00,001 - mmdet - INFO - Environment info:
        ------------------------------------------------------------
        sys.platform: linux
        Python: 3.7.11 (default, Jul 27 2021, 14:32:16) [GCC 7.5.0]
        CUDA available: True
        GPU 0: NVIDIA GeForce RTX 3090
        CUDA_HOME: /usr/local/cuda
        NVCC: Cuda compilation tools, release 11.1, V11.1.105
        PyTorch: 1.9.0+cu111
        TorchVision: 0.10.0+cu111
        MMCV: 1.4.0
        MMCV Compiler: GCC 7.3
        MMCV CUDA Compiler: 11.1
        ------------------------------------------------------------
        2022-07-25 09:20:01,300 - mmdet - INFO - Distributed training: False
        model = dict(type='FasterRCNN', backbone=dict(type='ResNet', depth=50, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch'))
        optimizer = dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001)
        optimizer_config = dict(grad_clip=None)
        lr_config = dict(policy='step', warmup='linear', warmup_iters=500, warmup_ratio=0.001, step=[8, 11])
        2022-07-25 09:22:00,101 - mmdet - INFO - Epoch [1][50/7330]	lr: 1.988e-02, eta: 1 day, 1:23:45, time: 0.612, data_time: 0.051, memory: 4210, loss_rpn_cls: 0.6012, loss_rpn_bbox: 0.1023, loss_cls: 1.2345, acc: 80.1230, loss_bbox: 0.4321, loss: 2.3701
        2022-07-25 09:22:31,442 - mmdet - INFO - Epoch [1][100/7330]	lr: 1.998e-02, eta: 1 day, 1:20:11, time: 0.598, data_time: 0.012, memory: 4210, loss_rpn_cls: 0.3012, loss_rpn_bbox: 0.0823, loss_cls: 0.8345, acc: 84.1230, loss_bbox: 0.3321, loss: 1.5501
        2022-07-25 10:40:00,000 - mmdet - INFO - Epoch(val) [1][625]	bbox_mAP: 0.2130, bbox_mAP_50: 0.3920, bbox_mAP_copypaste: 0.213 0.392 0.211 0.120 0.238 0.276
        """,
    "pix2pix training": """
        ----------------- Options ---------------
                       batch_size: 1
                          dataroot: ./datasets/facades
                       display_id: 0
                          gpu_ids: 0
                            model: pix2pix
        ----------------- End -------------------
        dataset [AlignedDataset] was created
        The number of training images = 400
        initialize network with normal
        model [Pix2PixModel] was created
        ---------- Networks initialized -------------
        [Network G] Total number of parameters : 54.414 M
        [Network D] Total number of parameters : 2.769 M
        -----------------------------------------------
        create web directory ./checkpoints/facades_pix2pix/web...
        (epoch: 1, iters: 100, time: 0.041, data: 0.158) G_GAN: 1.817 G_L1: 29.187 D_real: 0.357 D_fake: 0.445
        (epoch: 1, iters: 200, time: 0.040, data: 0.002) G_GAN: 1.234 G_L1: 25.010 D_real: 0.512 D_fake: 0.398
        saving the model at the end of epoch 1, iters 400
        End of epoch 1 / 200 	 Time Taken: 18 sec
        learning rate 0.0002000 -> 0.0002000
        """,
    "pip and build output": """
        Collecting torch==2.4.1
          Downloading torch-2.4.1-cp311-cp311-manylinux1_x86_64.whl (797.1 MB)
        Requirement already satisfied: numpy<2 in ./env/lib/python3.11/site-packages (1.26.4)
        Building wheels for collected packages: maskrcnn-benchmark
          Building wheel for maskrcnn-benchmark (setup.py) ... done
        running build_ext
        building 'maskrcnn_benchmark._C' extension
        /usr/local/cuda/bin/nvcc -I/src/maskrcnn_benchmark/csrc -c /src/maskrcnn_benchmark/csrc/cuda/nms.cu -o build/nms.o -gencode=arch=compute_90,code=sm_90 -std=c++17
        Successfully installed maskrcnn-benchmark-0.1 torch-2.4.1
        +-----------------------------------------------------------------------------------------+
        | NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
        |-----------------------------------------+------------------------+----------------------+
        |   0  NVIDIA H100 80GB HBM3          On  |   00000000:18:00.0 Off |                    0 |
        +-----------------------------------------------------------------------------------------+
        """,
    # torch prints this warning on every build on a GPU-less host (CI, login nodes); the build goes on and works.
    "extension build on a GPU-less host": """
        No CUDA runtime is found, using CUDA_HOME='/usr/local/cuda'
        running build_ext
        building 'maskrcnn_benchmark._C' extension
        g++ -pthread -fPIC -I/ws/env/lib/python3.11/site-packages/torch/include -c /ws/src/masktextspotter/maskrcnn_benchmark/csrc/vision.cpp -o build/vision.o -std=c++17
        Successfully installed maskrcnn-benchmark-0.1
        """,
    "detectron2 evaluation": """
        [05/20 12:00:00 d2.evaluation.evaluator]: Start inference on 500 batches
        [05/20 12:00:30 d2.evaluation.evaluator]: Inference done 11/500. Dataloading: 0.0012 s/iter. Inference: 0.0823 s/iter. ETA=0:00:41
        [05/20 12:01:20 d2.evaluation.sem_seg_evaluation]: OrderedDict([('sem_seg', {'mIoU': 47.2, 'fwIoU': 71.3, 'mACC': 59.8, 'pACC': 82.4})])
        [05/20 12:01:20 d2.engine.defaults]: Evaluation results for ade20k_sem_seg_val in csv format:
        """,
}


@pytest.mark.parametrize("name", sorted(HEALTHY_LOGS))
def test_healthy_logs_match_nothing(name: str) -> None:
    text = dedent(HEALTHY_LOGS[name])
    assert explain_text(text, include_generic=True) == []


def test_unrelated_text_matches_nothing() -> None:
    assert explain_text("") == []
    assert explain_text("hello world\n" * 1000) == []
    assert explain_text("Les journaux sont propres. 日志一切正常。\n") == []


def test_line_number_count_and_first_occurrence() -> None:
    text = "ok\n" * 9 + "OSError: [Errno 24] Too many open files\n" + "ok\n" * 5
    text += "OSError: [Errno 24] Too many open files\n" * 3
    (m,) = explain_text(text)
    assert m.signature_id == "too-many-open-files"
    assert m.line == 10
    assert m.count == 4
    assert m.excerpt == "OSError: [Errno 24] Too many open files"


def test_priority_orders_specific_before_generic_and_generic_is_hidden() -> None:
    text = dedent(
        """\
        /src/x.cu(5): error: identifier "THCudaCheck" is undefined
        error: command '/usr/local/cuda/bin/nvcc' failed with exit status 1
        RuntimeError: CUDA out of memory. Tried to allocate 2.00 MiB
        """
    )
    ids = [m.signature_id for m in explain_text(text)]
    assert ids == ["thc-cuda-check", "cuda-oom"]
    all_ids = [m.signature_id for m in explain_text(text, include_generic=True)]
    assert all_ids == ["thc-cuda-check", "cuda-oom", "compile-failed-nvcc"]
    assert [m.signature_id for m in explain_text(text, limit=1)] == ["thc-cuda-check"]
    assert explain_text(text, limit=0) == []


def test_generic_alone_is_reported() -> None:
    (m,) = explain_text("error: command '/usr/bin/nvcc' failed with exit status 1\n")
    assert m.signature_id == "compile-failed-nvcc"
    assert m.generic


def test_excerpt_strips_colours_and_carriage_return_segments() -> None:
    line = "Epoch 1:  10%|#  | 10/100 [00:01<00:09]\rEpoch 1:  11%|#  | 11/100\r\x1b[31mloss: nan\x1b[0m\n"
    (m,) = explain_text(line)
    assert m.signature_id == "loss-nan"
    assert m.excerpt == "loss: nan"


def test_long_excerpt_is_shortened_around_the_match() -> None:
    line = "x" * 1000 + " RuntimeError: CUDA out of memory. " + "y" * 1000 + "\n"
    (m,) = explain_text(line)
    assert len(m.excerpt) <= 310
    assert "CUDA out of memory" in m.excerpt


def test_crlf_logs() -> None:
    text = "line\r\n    ModuleNotFoundError: No module named 'torch'\r\nmore\r\n"
    (m,) = explain_text(text)
    assert m.signature_id == "torch-missing-in-build"
    assert m.line == 2


LOG = dedent(
    """\
    [1] start
    THCudaCheck FAIL file=/pytorch/torch/lib/THC/THCGeneral.c line=70 error=35 : CUDA driver version is insufficient for CUDA runtime version
    [3] retry
    IndexError: invalid index of a 0-dim tensor. Use tensor.item() to convert a 0-dim tensor to a Python number
    AttributeError: module 'torch' has no attribute 'bool'
    plain line
    RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB
    no newline at the end: OSError: [Errno 24] Too many open files"""
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(LOG)), max_size=12))
def test_any_split_into_chunks_gives_the_same_result(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [LOG[a:b] for a, b in zip([0, *points], [*points, len(LOG)], strict=True)]
    assert explain_chunks(pieces) == explain_text(LOG)


def test_one_character_chunks() -> None:
    expected = explain_text(LOG)
    assert [m.line for m in expected] == sorted(m.line for m in expected) or expected
    assert explain_chunks(iter(LOG)) == expected
    assert {m.signature_id: m.line for m in expected} == {
        "cuda-driver-too-old": 2,
        "data0-zero-dim-index": 4,
        "torch-bool-missing": 5,
        "cuda-oom": 7,
        "too-many-open-files": 8,
    }


def test_explain_file_streams_in_blocks(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    filler = "iter: 1  loss: 0.5  lr: 0.01\n" * 5000
    log.write_bytes((filler + LOG + "\n" + filler).encode() + b"\xff\xfe invalid utf-8\n")
    got = explain_file(log)
    assert {m.signature_id: m.line for m in got}["cuda-oom"] == 5000 + 7
    with log.open(encoding="utf-8", errors="replace", newline="") as fh:
        assert explain_chunks(iter_blocks(fh, 997)) == got


def test_overlong_line_without_newline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ex, "_MAX_PENDING", 64)
    text = "." * 200 + "RuntimeError: CUDA out of memory" + "." * 200
    chunks = [text[i : i + 50] for i in range(0, len(text), 50)]
    ids = [m.signature_id for m in explain_chunks(chunks)]
    # A match cut by the forced split can be lost; what matters is no crash and a sane line number.
    assert ids in ([], ["cuda-oom"])
    (m,) = explain_chunks([text])
    assert m.line == 1


def test_explain_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such log file"):
        explain_file(tmp_path / "missing.log")
    with pytest.raises(UsageError, match="is a directory"):
        explain_file(tmp_path)


def test_match_to_dict_is_json_ready() -> None:
    import json

    (m,) = explain_text("AttributeError: module 'torch' has no attribute 'bool'\n")
    data = json.loads(json.dumps(m.to_dict()))
    assert data["signature"] == "torch-bool-missing"
    assert data["line"] == 1
    assert data["catalog_rules"] == ["py-torch-bool-reverse"]
    assert set(data) >= {"cause", "fix", "excerpt", "priority", "count", "generic", "sources", "title"}


def test_pattern_anchor() -> None:
    assert pattern_anchor(r"invalid index of a 0-dim tensor") == "invalid index of a 0-dim tensor"
    assert pattern_anchor(r"undefined symbol: \S+") == "undefined symbol: "
    assert pattern_anchor(r"cuda\(\) got an unexpected") == "cuda() got an unexpected"
    assert pattern_anchor(r"(a|b)cd?") == "c"


def test_every_pattern_match_contains_an_anchor() -> None:
    # The gate prefilter is only correct if each line a pattern matches holds one of that pattern's gates.
    sigset = load_signatures()
    gates_of: dict[int, set[str]] = {}
    for gate, entries in sigset.gates:
        for idx, _ in entries:
            gates_of.setdefault(idx, set()).add(gate)
    for idx, sig in enumerate(sigset.signatures):
        assert gates_of.get(idx), sig.id
        for pat in sig.patterns:
            anchor = pattern_anchor(pat)
            assert sig.anchors or len(anchor) >= 4, (sig.id, pat)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sigs.yaml"
    path.write_text(body, encoding="utf-8")
    return path


_GOOD = """\
signatures:
- id: demo
  title: Demo
  patterns: ['demo failure happened']
  priority: 50
  cause: c
  fix: f
  sources: [test]
"""


def test_custom_signature_file(tmp_path: Path) -> None:
    sigset = load_signatures(_write(tmp_path, _GOOD))
    (m,) = explain_text("x\nthe demo failure happened\n", signatures=sigset)
    assert (m.signature_id, m.line) == ("demo", 2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("- a\n", "expected a mapping with a 'signatures' list"),
        (_GOOD.replace("  fix: f\n", ""), "signature 'demo': missing field(s) fix"),
        (_GOOD.replace("priority: 50", "priority: 500"), "priority must be an integer 0-100"),
        (_GOOD.replace("'demo failure happened'", "'demo (failure'"), "patterns[0]: invalid regex"),
        (_GOOD.replace("'demo failure happened'", "'(a|b)+'"), "no literal of 4+ characters"),
        (_GOOD.replace("'demo failure happened'", "'x*'"), "matches the empty string"),
        (_GOOD.replace("id: demo", "id: Demo Sig"), "id must be a lower-case slug"),
        (_GOOD + "  extra: 1\n", "unknown field(s) extra"),
        (_GOOD + _GOOD.replace("signatures:\n", ""), "duplicate id 'demo'"),
        ("signatures: [\n", "cannot read signatures"),
    ],
)
def test_bad_signature_files(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(SignatureFileError, match=r"sigs\.yaml") as info:
        load_signatures(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_gates_are_data(tmp_path: Path) -> None:
    # The scan's gates come from data/gates.yaml, in their order (the first gate an anchor holds files it).
    gates = load_gates()
    assert gates[:3] == ("rror", "not ", "No module named")
    assert len(set(gates)) == len(gates)
    assert {gate for gate, _ in load_signatures().gates} >= {"rror", "not "}
    for body in ("gates: []\n", "gates: [rror, '']\n", "- rror\n", "gates: [\n"):
        path = tmp_path / "gates.yaml"
        path.write_text(body, encoding="utf-8")
        with pytest.raises(SignatureFileError, match=r"gates\.yaml: ") as info:
            load_gates(path)
        assert "\n" not in str(info.value)


def _big_log(tmp_path: Path, excerpts: list[Excerpt]) -> Path:
    # All excerpts in one log, with progress-bar lines (lone \r), colour codes and bad UTF-8 between them.
    parts = []
    for i, text in enumerate(e.text for e in excerpts):
        parts.append(f"iter {i}: 10%|#  |\r20%|##  |\r\x1b[32mok\x1b[0m\n".encode())
        parts.append(text.encode())
        parts.append(b"\xff\xfe not utf-8\r\n")
    log = tmp_path / "all.log"
    log.write_bytes(b"".join(parts))
    return log


def test_grep_path_equals_python_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, excerpts: list[Excerpt]) -> None:
    if ex._grep_binary() is None:
        pytest.skip("grep is not installed")
    log = _big_log(tmp_path, excerpts)
    with log.open(encoding="utf-8", errors="replace", newline="") as fh:
        python_path = explain_chunks(iter_blocks(fh), include_generic=True)
    monkeypatch.setattr(ex, "_GREP_MIN_BYTES", 1)
    calls: list[Path] = []
    real = ex._grep_scan

    def spy(path: Path, sigset: SignatureSet) -> object:
        calls.append(path)
        return real(path, sigset)

    monkeypatch.setattr(ex, "_grep_scan", spy)
    grep_path = explain_file(log, include_generic=True)
    assert calls == [log]
    assert len(grep_path) >= 100
    assert grep_path == python_path


def test_grep_path_no_match_and_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, excerpts: list[Excerpt]
) -> None:
    monkeypatch.setattr(ex, "_GREP_MIN_BYTES", 1)
    clean = tmp_path / "clean.log"
    clean.write_text("iter: 1 loss: 0.5\n" * 100, encoding="utf-8")
    assert explain_file(clean) == []
    # Without grep the pure-Python path gives the same answer.
    log = _big_log(tmp_path, excerpts)
    with_grep = explain_file(log)
    monkeypatch.setattr(ex, "_grep_binary", lambda: None)
    assert explain_file(log) == with_grep
    # A grep that fails (exit status 2: bad option, unreadable file) also falls back.
    broken = tmp_path / "grep"
    broken.write_text("#!/bin/sh\necho 'grep: broken' >&2\nexit 2\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setattr(ex, "_grep_binary", lambda: str(broken))
    assert explain_file(log) == with_grep
