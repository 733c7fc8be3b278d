"""`legacyrun explain` against `grep -F` on a large training log (default 100 MB), with peak memory.

The log mixes the lines real training runs print (detectron2/mmdetection/pix2pix iteration lines, tqdm bars
rewritten with \\r, a config dump, the warnings torch repeats every iteration, evaluation tables) with a few error
excerpts (an import error early, a NaN loss, a CUDA OOM traceback at the end). Timed, each in a fresh process:

- `grep -F -c -f needles.txt LOG`: grep with the same literals explain prefilters with (one per signature
  anchor); `-c` so that grep reads the whole file (grep stops at the first match when its output is /dev/null);
- `explain_file(LOG)` in a fresh Python (imports and loading the signatures included);
- the CLI, `legacyrun explain LOG --json`;
- the pure-Python path (`explain_chunks` over the file read in blocks: standard input takes it, and files when
  grep is missing).

Peak memory is each process's maximum resident set (getrusage). Goals: explain_file <= 1.5x grep, < 100 MB.

    python bench/explain_speed.py [MEGABYTES] [-n RUNS]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_ITER = (
    "[11/27 10:{m:02d}:{s:02d} d2.utils.events]:  eta: 1 day, 2:03:04  iter: {i}  total_loss: 2.345  loss_ce: 0.5012  "
    "loss_mask: 0.3121  loss_dice: 0.8034  time: 0.5012  data_time: 0.0123  lr: 0.0001  max_mem: 3456M\n",
    "2026-11-27 10:{m:02d}:{s:02d} maskrcnn_benchmark.trainer INFO: eta: 1 day, 2:03:04  iter: {i}  loss: 1.2345 "
    "(1.3456)  loss_classifier: 0.2345 (0.2456)  loss_box_reg: 0.1234  time: 0.5012  data: 0.0123  lr: 0.002500  "
    "max mem: 3456\n",
    "Epoch [{i}][100/5000]\tlr: 2.000e-02, eta: 12:34:56, time: 0.612, data_time: 0.021, memory: 4321, "
    "loss_rpn_cls: 0.0456, loss_rpn_bbox: 0.0234, loss_cls: 0.3456, acc: 91.2345, loss_bbox: 0.2345\n",
    "(epoch: {i}, iters: 400, time: 0.051, data: 0.002) G_GAN: 1.234 G_L1: 12.345 D_real: 0.456 D_fake: 0.567\n",
)
# Printed by torch or the code every iteration or epoch in real runs; several hold a gate word of explain's
# pure-Python path ("argument", "default", "deprecated", "device") without being a failure.
_NOISE = (
    "/usr/lib/python3.8/site-packages/torch/functional.py:445: UserWarning: torch.meshgrid: in an upcoming release, "
    "it will be required to pass the indexing argument. (Triggered internally at "
    "../aten/src/ATen/native/TensorShape.cpp:2228.)\n",
    "/usr/lib/python3.8/site-packages/torch/nn/functional.py:3631: UserWarning: Default upsampling behavior when "
    "mode=bilinear is changed to align_corners=False since 0.4.0. Please specify align_corners=True if the old "
    "behavior is desired. See the documentation of nn.Upsample for details.\n",
    '  warnings.warn("The default behavior for interpolate/upsample with float scale_factor changed "\n',
    "/opt/conda/lib/python3.8/site-packages/torch/optim/lr_scheduler.py:134: UserWarning: Detected call of "
    "`lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and later, you should call them in the "
    "opposite order.\n",
    "[11/27 10:00:01 d2.data.common]: Serializing 118287 elements to byte tensors and concatenating them all ...\n",
    "Loading and preparing results...\nDONE (t=0.52s)\ncreating index...\nindex created!\n",
    "|   AP   |  AP50  |  AP75  |  APs   |  APm   |  APl   |\n|:------:|:------:|:------:|:------:|:------:|:------:|\n"
    "| 38.123 | 59.456 | 41.789 | 21.012 | 41.345 | 50.678 |\n",
    " 45%|"
    + "\u2588" * 20
    + "      | 450/1000 [00:12<00:15, 36.12it/s]\r 46%|"
    + "\u2588" * 21
    + "     | 460/1000 [00:12<00:14, 36.30it/s]\r 47%|"
    + "\u2588" * 22
    + "    | 470/1000 [00:13<00:14, 36.4it/s]\n",
    "[11/27 10:00:00 d2.engine.hooks]: Overall training speed: 5 iterations in 0:00:02 (0.5012 s / it)\n",
)
_HEAD = (
    "Namespace(batch_size=16, config_file='configs/coco/instance-segmentation/maskformer2_R50_bs16_50ep.yaml', "
    "device='cuda', dist_url='tcp://127.0.0.1:50152', eval_only=False, machine_rank=0, num_gpus=8, "
    "num_machines=1, opts=[], resume=False)\n"
    "[11/27 09:59:58 detectron2]: Environment info:\nsys.platform            linux\nPython                  3.8.10\n"
    "numpy                   1.19.5\ndetectron2              0.6 @/workspace/detectron2/detectron2\n"
    "Compiler                GCC 9.4\nCUDA compiler           CUDA 11.1\nDETECTRON2_ENV_MODULE   <not set>\n"
    "PyTorch                 1.9.0+cu111 @/usr/lib/python3.8/site-packages/torch\nPyTorch debug build     False\n"
    "GPU available           Yes\nGPU 0,1,2,3,4,5,6,7     NVIDIA A100-SXM4-40GB (arch=8.0)\n"
    "MODEL:\n  DEVICE: cuda\n  WEIGHTS: detectron2://ImageNetPretrained/torchvision/R-50.pkl\n"
    "SOLVER:\n  BASE_LR: 0.0001\n  IMS_PER_BATCH: 16\n  MAX_ITER: 368750\n"
)
# The failures (explain must find each of these, whatever the size around them).
ERRORS_EARLY = (
    "Traceback (most recent call last):\n"
    '  File "/workspace/Mask2Former/train_net.py", line 23, in <module>\n'
    "    from apex import amp\n"
    "ModuleNotFoundError: No module named 'apex'\n"
)
ERRORS_MIDDLE = "FloatingPointError: Loss became infinite or NaN at iteration=88201!\n"
ERRORS_END = (
    "Traceback (most recent call last):\n"
    '  File "/usr/lib/python3.8/site-packages/torch/nn/modules/module.py", line 889, in _call_impl\n'
    "    result = self.forward(*input, **kwargs)\n"
    "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 3.95 GiB total capacity; 3.12 GiB "
    "already allocated; 13.44 MiB free; 3.21 GiB reserved in total by PyTorch)\n"
    "Segmentation fault (core dumped)\n"
)


def training_lines(target_bytes: int, seed: int = 0) -> Iterator[str]:
    """Real-looking training output of about target_bytes (UTF-8), without the error excerpts."""
    rnd = random.Random(seed)
    yield _HEAD
    size = len(_HEAD.encode())
    i = 0
    while size < target_bytes:
        m, s = (i // 60) % 60, i % 60
        if i % 20 == 19:
            line = _NOISE[rnd.randrange(len(_NOISE))]
        else:
            line = _ITER[(i // 5000) % len(_ITER)].format(i=i, m=m, s=s)
        yield line
        size += len(line.encode())
        i += 1


def make_log(path: Path, megabytes: float) -> None:
    """A log of about `megabytes` MiB: training output with the three error excerpts placed in it (at 2%, 50% and
    the end), written as it is made (the bench's own memory stays small)."""
    target = int(megabytes * (1 << 20))
    with path.open("w", encoding="utf-8", newline="") as fh:
        for i, part in enumerate((target // 50, target // 2 - target // 50, target - target // 2)):
            fh.writelines(training_lines(part, seed=i))
            fh.write((ERRORS_EARLY, ERRORS_MIDDLE, ERRORS_END)[i])


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS in KiB) of one fresh process (CPU and RSS include its children, e.g. grep)."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE); "  # not /dev/null: grep would stop at a match
        "dt = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(dt, u.ru_utime + u.ru_stime, u.ru_maxrss); sys.exit(p.returncode if p.returncode > 1 else 0)"
    )
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, env=env, check=True)
    wall, cpu, rss = done.stdout.split()
    return float(wall), float(cpu), int(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("megabytes", nargs="?", type=float, default=100)
    parser.add_argument("-n", type=int, default=3, help="runs per command (median reported)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from legacyrun.diagnose import load_signatures

    sigset = load_signatures()
    env = dict(os.environ, PYTHONPATH=str(ROOT), LC_ALL="C")  # explain runs its grep in the C locale too
    grep = shutil.which("grep")
    if grep is None:
        raise SystemExit("grep is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "train.log"
        make_log(log, args.megabytes)
        needles = Path(tmp) / "needles.txt"
        needles.write_text("".join(n + "\n" for n in sigset.needles), encoding="utf-8")
        mib = log.stat().st_size / 2**20
        py = sys.executable
        commands = {
            "grep": [grep, "-F", "-c", "-f", str(needles), str(log)],
            "explain_file": [py, "-c", f"from legacyrun.diagnose import explain_file; explain_file({str(log)!r})"],
            "cli": [py, "-m", "legacyrun", "explain", str(log), "--json"],
            "pure-python": [
                py,
                "-c",
                "import sys; from legacyrun.diagnose import explain_chunks, iter_blocks; "
                f"explain_chunks(iter_blocks(open({str(log)!r}, encoding='utf-8', errors='replace', newline='')))",
            ],
        }
        timed(commands["grep"], env)  # the page cache holds the log from here on
        figures: dict[str, tuple[float, float, int]] = {}
        for name, argv in commands.items():
            runs = [timed(argv, env) for _ in range(args.n)]
            figures[name] = (
                statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs),
                max(r[2] for r in runs),
            )
        started = time.perf_counter()
        from legacyrun.diagnose import explain_file

        found = [m.signature_id for m in explain_file(log, include_generic=True)]
        in_process = time.perf_counter() - started
    wall0, cpu0, _ = figures["grep"]
    print(f"log: {mib:.1f} MiB; {len(sigset.signatures)} signatures, grep -F gets {len(sigset.needles)} needles")
    print(f"found: {', '.join(found)}")
    print(f"  {'':<13} {'wall':>7} {'':>6}  {'CPU':>7} {'':>6}  peak RSS")
    for name, (wall, cpu, rss) in figures.items():
        print(f"  {name:<13} {wall:6.2f}s {wall / wall0:5.2f}x  {cpu:6.2f}s {cpu / cpu0:5.2f}x  {rss / 1024:6.1f} MiB")
    print(f"  explain_file in a warm process (signatures loaded): {in_process:.2f} s wall")
    print(f"  (x: against grep; median of {args.n} runs each, fresh processes; goals: explain_file <= 1.5x, < 100 MiB)")
    print(f"grep command: LC_ALL=C grep -F -c -f needles.txt LOG (needles: the {len(sigset.needles)} anchors)")


if __name__ == "__main__":
    main()
