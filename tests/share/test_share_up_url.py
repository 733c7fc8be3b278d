"""`legacyrun up URL|PATH` for a repository without a recipe: the scaffold lands in the workspace as recipe.yaml,
the chain runs from it, and a chain that cannot finish ends with exit 13 and located `FILE:LINE: decision` items."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from support.cli import run_inproc

from legacyrun.errors import TodosRemain
from legacyrun.infer.up import is_repository_ref, recipe_name, repository_url


def _repo(make_git_repo: Callable) -> object:
    repo = make_git_repo("TinyNet")
    repo.write("README.md", "# TinyNet\n\n```\nconda create -n tiny python=3.8\npip install torch==1.9.0\n```\n"
               "Train with\n```\npython train.py --epochs 1\n```\n")  # fmt: skip
    repo.write("train.py", "print('iter 1')\n")
    repo.commit("release")
    return repo


def test_refs(tmp_path: Path, make_git_repo: Callable) -> None:
    repo = _repo(make_git_repo)
    assert is_repository_ref("https://github.com/o/TinyNet.git")
    assert is_repository_ref("git@github.com:o/TinyNet.git")
    assert not is_repository_ref("mask2former") and not is_repository_ref("https://example.org/r.yaml")
    assert not is_repository_ref(str(tmp_path))  # a plain directory is not a repository
    assert recipe_name("https://github.com/o/TinyNet.git") == "tinynet"
    assert repository_url(str(tmp_path)).startswith("file://")
    assert is_repository_ref(repo.url)  # type: ignore[attr-defined]


def test_up_url_scaffolds_and_stops_with_located_decisions(tmp_path: Path, make_git_repo: Callable) -> None:
    repo = _repo(make_git_repo)
    ws = tmp_path / "ws"
    res = run_inproc("up", repo.url, "--cpu", "--smoke", "--dry-run", "--trust", "-w", str(ws))  # type: ignore[attr-defined]
    assert res.exit_code == TodosRemain.exit_code == 13, res.stderr
    recipe = ws / "recipe.yaml"
    text = recipe.read_text()
    assert "      torch: 1.9.0  # README.md:5 (install command)" in text
    assert "      python: '3.8'  # README.md:4 (install command)" in text
    lines = text.splitlines()
    task_line = lines.index("  train:") + 1
    assert f"{recipe}:{task_line}: the chain stopped (usage error, exit 2): task train" in res.stderr
    assert "has no smoke settings" in res.stderr
    assert f"hint: edit {recipe} and run `legacyrun up {recipe}`" in res.stderr


def test_up_url_dry_run_without_smoke_plans(tmp_path: Path, make_git_repo: Callable) -> None:
    repo = _repo(make_git_repo)
    ws = tmp_path / "ws"
    res = run_inproc("up", repo.url, "--cpu", "--dry-run", "--trust", "-w", str(ws))  # type: ignore[attr-defined]
    assert res.exit_code == 0, res.stderr
    assert (ws / "recipe.yaml").is_file()
    assert "scaffolded" in res.stderr


def _scaffolded(tmp_path: Path, make_git_repo: Callable) -> tuple[Path, Path]:
    """A scaffolded recipe.yaml of a repository whose training imports cv2 and its own package (the catalog scan
    finds nothing, so no catalog patch exists yet)."""
    from legacyrun.infer.up import scaffold_into

    repo = make_git_repo("SixNet")
    repo.write("README.md", "# SixNet\n\n```\npip install torch==1.4.0\npython train.py\n```\n")
    repo.write("train.py", "import cv2\nimport sixnet\n")
    repo.write("sixnet/__init__.py", "")
    repo.commit("release")
    path, _res = scaffold_into(repo.url, tmp_path / "ws", None)  # type: ignore[attr-defined]
    src = tmp_path / "ws" / "src" / "sixnet"
    (src / "sixnet").mkdir(parents=True)
    return path, src


def test_known_fixes_are_recipe_edits_with_their_reason(tmp_path: Path, make_git_repo: Callable) -> None:
    from legacyrun.infer.fixes import apply_fix, find_fix
    from legacyrun.recipe.loader import parse_text

    path, src = _scaffolded(tmp_path, make_git_repo)
    log = tmp_path / "log.txt"
    log.write_text("Traceback (most recent call last):\nModuleNotFoundError: No module named 'torch._six'\n")
    fix = find_fix(log, path.read_text(), "modern", src)
    # a dependency's torch._six import: the signature's catalog rules, in a new patch for the profile
    assert "- id: forward-ports" not in path.read_text()
    assert fix is not None and (fix.kind, fix.items) == ("catalog", ("py-torch-six", "py-torch-six-py3"))
    assert fix.evidence == f"{log}:2"
    line = apply_fix(path, fix, 1)
    text = path.read_text()
    assert (
        text.splitlines()[line - 1].strip().startswith("# legacyrun up --smoke, known fix 1: known failure torch-six")
    )
    recipe = parse_text(text, str(path))
    patch = next(p for p in recipe.patches if p.id == "forward-ports")
    assert "py-torch-six" in patch.rules and patch.when is not None and patch.when.profiles == ["modern"]
    assert find_fix(log, text, "modern", src) is None  # applied once; the same failure has no new fix
    # a module the project does not contain is a requirement (its PyPI name); its own package is not
    log.write_text("ModuleNotFoundError: No module named 'sixnet'\nModuleNotFoundError: No module named 'cv2'\n")
    fix = find_fix(log, text, "modern", src)
    assert fix is not None and (fix.kind, fix.items, fix.evidence) == ("requirement", ("opencv-python",), f"{log}:2")
    apply_fix(path, fix, 2)
    recipe = parse_text(path.read_text(), str(path))
    assert "opencv-python" in recipe.env.profiles["modern"].pip
    assert "# legacyrun up --smoke, known fix 2: No module named 'cv2'" in path.read_text()
    assert find_fix(log, path.read_text(), "modern", src) is None


def test_stop_names_the_fixes_tried(tmp_path: Path, make_git_repo: Callable) -> None:
    from legacyrun.infer.up import scaffold_into, stop_with_todos

    repo = _repo(make_git_repo)
    path, res = scaffold_into(repo.url, tmp_path / "ws", None)  # type: ignore[attr-defined]
    err = stop_with_todos(path, res, "tinynet", None, [f"{path}:40: added requirement x"])
    assert (
        err.exit_code == 13
        and "after 1 known fix (" in err.message
        and f"{path}:40: added requirement x" in err.message
    )


def test_a_failure_is_located_in_the_sources(tmp_path: Path) -> None:
    from legacyrun.infer.up import locate_failure

    log = tmp_path / "log.txt"
    log.write_text(
        "Traceback (most recent call last):\n"
        f'  File "{tmp_path}/ws/src/mts/tools/train_net.py", line 20, in <module>\n'
        f'  File "{tmp_path}/ws/env/lib/python3.11/site-packages/torch/nn/modules/module.py", line 5, in f\n'
        f'  File "{tmp_path}/ws/src/mts/maskrcnn_benchmark/layers/roi_align.py", line 31, in backward\n'
        "RuntimeError: Not implemented on the CPU\n"
    )
    assert (
        locate_failure(log)
        == "src/mts/maskrcnn_benchmark/layers/roi_align.py:31: fails with RuntimeError: Not implemented on the CPU"
    )
    log.write_text(f"{tmp_path}/ws/src/mts/csrc/cpu/nms.cpp:12:5: error: 'THC.h' file not found\n")
    assert locate_failure(log) == "src/mts/csrc/cpu/nms.cpp:12: does not compile: 'THC.h' file not found"
    # torchrun's own traceback after the child's: the child's exception at the child's frame
    log.write_text(
        f'  File "{tmp_path}/ws/src/mts/tools/train_net.py", line 8, in <module>\n'
        "ModuleNotFoundError: No module named 'maskrcnn_benchmark'\n"
        f'  File "{tmp_path}/ws/env/lib/python3.11/site-packages/torch/distributed/run.py", line 9, in run\n'
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n"
    )
    assert locate_failure(log) == (
        "src/mts/tools/train_net.py:8: fails with ModuleNotFoundError: No module named 'maskrcnn_benchmark'"
    )
    log.write_text("nothing to see\n")
    assert locate_failure(log) is None


def test_cpu_plan_fix_goes_to_the_failing_file_only(tmp_path: Path, make_git_repo: Callable) -> None:
    """On a CPU plan a hard-coded CUDA device is fixed by a device rule in the one file of the traceback where the
    rule finds a site (not the other files that call .cuda()); a second failure in another file extends the same
    `cpu-plan-<source>` patch; on a GPU plan, or once covered, there is no fix."""
    from legacyrun.infer.fixes import apply_fix, find_fix
    from legacyrun.recipe.loader import parse_text

    path, src = _scaffolded(tmp_path, make_git_repo)
    (src / "sixnet" / "head.py").write_text(
        'import torch\ngpu = torch.device("cuda")\n\ndef f(x):\n    return x.cuda()\n'
    )
    (src / "sixnet" / "other.py").write_text("def g(x):\n    return x.cuda()\n")
    ws_src = src.parent
    log = tmp_path / "log.txt"
    log.write_text(
        "Traceback (most recent call last):\n"
        f'  File "{ws_src}/sixnet/train.py", line 3, in <module>\n'
        f'  File "{ws_src}/sixnet/sixnet/head.py", line 5, in f\n'
        '  File "/env/lib/python3.11/site-packages/torch/cuda/__init__.py", line 591, in _lazy_init\n'
        "RuntimeError: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU\n"
    )
    assert find_fix(log, path.read_text(), "modern", src, cpu=False) is None
    fix = find_fix(log, path.read_text(), "modern", src, cpu=True)
    assert fix is not None and (fix.kind, fix.items, fix.source, fix.files) == (
        "cpu", ("py-cuda-hardcoded-device",), "sixnet", ("sixnet/head.py",)
    )  # fmt: skip
    assert fix.evidence == f"{log}:5" and "no-nvidia-driver" in fix.reason
    line = apply_fix(path, fix, 1)
    text = path.read_text()
    assert "known fix 1: known failure no-nvidia-driver" in text.splitlines()[line - 1]
    patch = next(p for p in parse_text(text, str(path)).patches if p.id == "cpu-plan-sixnet")
    assert patch.kind == "catalog" and patch.rules == ["py-cuda-hardcoded-device"]
    assert patch.files == ["sixnet/head.py"] and patch.when is not None and patch.when.device == "cpu"
    assert find_fix(log, text, "modern", src, cpu=True) is None  # covered: the same failure again is a decision
    log.write_text(log.read_text().replace('sixnet/head.py", line 5', 'sixnet/other.py", line 2'))
    fix = find_fix(log, text, "modern", src, cpu=True)
    assert fix is not None and fix.files == ("sixnet/other.py",)
    apply_fix(path, fix, 2)
    patch = next(p for p in parse_text(path.read_text(), str(path)).patches if p.id == "cpu-plan-sixnet")
    assert patch.files == ["sixnet/head.py", "sixnet/other.py"] and patch.rules == ["py-cuda-hardcoded-device"]


def test_up_url_keeps_the_recipe_it_scaffolded(tmp_path: Path, make_git_repo: Callable) -> None:
    """A second `up URL` into the same workspace keeps recipe.yaml (its known fixes and hand edits) and the
    decisions its scaffold left; without the scaffold's record (.legacyrun/scaffold.json) it is scaffolded again."""
    from legacyrun.infer.up import scaffold_into

    repo = _repo(make_git_repo)
    path, first = scaffold_into(repo.url, tmp_path / "ws", None)  # type: ignore[attr-defined]
    assert not first.reused
    path.write_text(path.read_text() + "# an edit\n")
    again_path, again = scaffold_into(repo.url, tmp_path / "ws", None)  # type: ignore[attr-defined]
    assert again_path == path and again.reused and again.commit == first.commit and again.todos == first.todos
    assert path.read_text().endswith("# an edit\n")
    (tmp_path / "ws" / ".legacyrun" / "scaffold.json").unlink()
    _p, third = scaffold_into(repo.url, tmp_path / "ws", None)  # type: ignore[attr-defined]
    assert not third.reused and path.read_text() == first.text


def test_imports_and_catalog_rules_imply_requirements(tmp_path: Path, make_git_repo: Callable) -> None:
    """`from torch.utils.tensorboard import ...` in the code, or a catalog rule that rewrites to it
    (py-tensorboardx), puts `tensorboard` in the pip lists, with the evidence in the header."""
    from legacyrun.infer.imports import implied_requirements
    from legacyrun.infer.up import scaffold_into

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "log.py").write_text("import os\nfrom torch.utils.tensorboard import SummaryWriter\n")
    found = implied_requirements(tmp_path, [tmp_path / "a" / "log.py"])
    assert [(f.requirement, f.where) for f in found] == [("tensorboard", "a/log.py:2")]

    repo = make_git_repo("BoardNet")
    repo.write("README.md", "# BoardNet\n\n```\npip install torch==1.4.0\npython train.py\n```\n")
    repo.write("train.py", "from tensorboardX import SummaryWriter\nw = SummaryWriter('runs')\n")
    repo.commit("release")
    path, _res = scaffold_into(repo.url, tmp_path / "ws", None)  # type: ignore[attr-defined]
    text = path.read_text()
    assert "# modern.pip tensorboard: catalog rule py-tensorboardx makes the code import it" in text
    from legacyrun.recipe.loader import parse_text

    assert "tensorboard" in parse_text(text, str(path)).env.profiles["modern"].pip


def test_cpu_fix_for_an_op_whose_import_raises_with_a_message(tmp_path: Path, make_git_repo: Callable) -> None:
    """Mask2Former's op import: the exception's message spans lines after the `ModuleNotFoundError:` line, and a
    chained first traceback comes before it; the fix still lands in the file of the last traceback. The missing
    module itself is the project's own extension (a build step of that name), never a PyPI requirement."""
    from legacyrun.infer.fixes import find_fix

    path, src = _scaffolded(tmp_path, make_git_repo)
    func = src / "sixnet" / "ops" / "functions" / "ms_deform_attn_func.py"
    func.parent.mkdir(parents=True)
    func.write_text(
        "try:\n    import MultiScaleDeformableAttention as MSDA\nexcept ModuleNotFoundError as e:\n"
        "    info_string = 'Please compile MultiScaleDeformableAttention CUDA op'\n"
        "    raise ModuleNotFoundError(info_string)\n"
    )
    ws_src = src.parent
    log = tmp_path / "log.txt"
    log.write_text(
        "Traceback (most recent call last):\n"
        f'  File "{ws_src}/sixnet/sixnet/ops/functions/ms_deform_attn_func.py", line 2, in <module>\n'
        "ModuleNotFoundError: No module named 'MultiScaleDeformableAttention'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        f'  File "{ws_src}/sixnet/train.py", line 2, in <module>\n'
        f'  File "{ws_src}/sixnet/sixnet/ops/functions/ms_deform_attn_func.py", line 5, in <module>\n'
        "    raise ModuleNotFoundError(info_string)\n"
        "ModuleNotFoundError: \n\nPlease compile MultiScaleDeformableAttention CUDA op with the following commands:\n"
    )
    fix = find_fix(log, path.read_text(), "modern", src, cpu=True)
    assert fix is not None and (fix.kind, fix.items, fix.files) == (
        "cpu", ("py-msdeformattn-cpu-fallback",), ("sixnet/ops/functions/ms_deform_attn_func.py",)
    )  # fmt: skip
    # on a GPU plan there is no CPU fix; the module is the one a build step builds, so no requirement either
    step = "      build:\n      - {name: multiscaledeformableattention, argv: [sh, make.sh]}\n"
    text = path.read_text().replace("    modern:\n", "    modern:\n" + step, 1)
    assert text != path.read_text() and find_fix(log, text, "modern", src, cpu=False) is None
    guess = find_fix(log, path.read_text(), "modern", src, cpu=False)  # without the step: a requirement, guessed
    assert guess is not None and guess.kind == "requirement"
