"""Whole legacy-style repositories built by the tests: every auto-fixable rule fires, the result compiles, a
second pass is a no-op and `scan --target` finds nothing auto-fixable left."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from patching.catalog_fixtures.fixtures import build_repos
from support.cli import run_inproc

from legacyrun.patching.catalog import TargetVersions, apply_rules, get_rules, scan

# A 2017-style training script where many rules meet in one file (their edits must compose).
TRAIN_2017 = textwrap.dedent(
    """\
    import os, time
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.autograd import Variable
    from torch.nn import init
    from collections import OrderedDict, Iterable
    import yaml


    def build(cfg_path):
        cfg = yaml.load(open(cfg_path))
        net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                init.xavier_normal(m.weight.data)
        return net.cuda(device_id=0), nn.CrossEntropyLoss(size_average=False), cfg


    def validate(net, loader):
        total = 0.0
        for x, y in loader:
            x = Variable(x.cuda(async=True), volatile=True)
            out = F.upsample(net(x), scale_factor=2, mode='bilinear')
            total += F.sigmoid(out).mean().data[0]
        return total


    def train(net, crit, opt, loader):
        t0 = time.clock()
        for x, y in loader:
            loss = crit(net(Variable(x)), Variable(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            print('loss %.3f' % loss.data[0], np.float(time.clock() - t0))
        weights = np.zeros(4, dtype=np.int)
        return isinstance(weights, Iterable)
    """
)


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("legacy")
    out = build_repos(base)
    modern = "torch=2.6,python=3.12,cuda=12.4"
    (out[modern] / "legacy_train.py").write_text(TRAIN_2017, encoding="utf-8")
    return out


def _patch(root: Path, target: TargetVersions) -> dict[str, tuple[str, str]]:
    changes = apply_rules(root, ["set:all"], [], [], target)
    for rel, (_old, new) in changes.items():
        (root / rel).write_text(new, encoding="utf-8")
    return changes


def test_legacy_repositories_are_fully_forward_ported(repos: dict[str, Path]) -> None:
    fired: set[str] = set()
    for text, root in repos.items():
        target = TargetVersions.parse(text)
        before = scan(root, target)
        fired |= {f.rule_id for f in before if f.auto_fixable}
        changes = _patch(root, target)
        assert bool(changes) == any(f.auto_fixable for f in before)
        for path in root.rglob("*.py"):
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        left = [f"{f.path}:{f.line} {f.rule_id}" for f in scan(root, target) if f.auto_fixable]
        assert left == [], left
        res = run_inproc("scan", root, "--target", text, "--json")
        assert res.exit_code == 0, res.stderr
        assert json.loads(res.stdout)["summary"]["auto_fixable"] == 0
        assert apply_rules(root, ["set:all"], [], [], target) == {}, "a second pass must change nothing"
    # every forward/reverse rule fires; device rules (set:cpu-plan) never do unless named, though the fixtures
    # hold their sites (`.cuda()` is everywhere in GPU code)
    device = {r.id for r in get_rules() if r.direction == "device"}
    assert device and not device & fired
    assert {r.id for r in get_rules() if r.auto_fixable} - device <= fired


def test_composed_legacy_script(repos: dict[str, Path]) -> None:
    text = (repos["torch=2.6,python=3.12,cuda=12.4"] / "legacy_train.py").read_text(encoding="utf-8")
    for new in (
        "x.cuda(non_blocking=True)",
        "@torch.no_grad()\ndef validate",
        "F.interpolate(net(x), scale_factor=2, mode='bilinear')",
        "torch.sigmoid(out).mean().item()",
        "loss.item()",
        "nn.CrossEntropyLoss(reduction='sum')",
        "init.xavier_normal_(",
        "net.cuda(device=0)",
        "yaml.load(open(cfg_path), Loader=yaml.FullLoader)",
        "time.perf_counter()",
        "dtype=int)",
        "from collections.abc import Iterable",
    ):
        assert new in text, new
    assert "volatile" not in text


def test_apply_rules_reads_only_and_is_deterministic(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import numpy as np\nx = np.float(1)\n", encoding="utf-8")
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "b.py").write_text("y = np.int(2)\n", encoding="utf-8")
    target = TargetVersions("2.1")
    first = apply_rules(tmp_path, ["py-numpy-builtin-aliases"], [], [], target)
    assert first == apply_rules(tmp_path, ["py-numpy-builtin-aliases"], [], [], target)
    assert sorted(first) == ["a.py", "skip/b.py"]
    assert (tmp_path / "a.py").read_text(encoding="utf-8") == "import numpy as np\nx = np.float(1)\n"
    assert list(apply_rules(tmp_path, ["set:numpy-forward"], [], ["skip/**"], target)) == ["a.py"]
    assert list(apply_rules(tmp_path, ["set:python-forward"], ["skip/*.py"], [], target)) == ["skip/b.py"]
    assert apply_rules(tmp_path, ["set:reverse"], [], [], target) == {}


def test_unparseable_python_gets_text_rules_only(tmp_path: Path) -> None:
    # Python 2 syntax: libcst cannot parse it, so codemods skip the file; regex rules still apply.
    (tmp_path / "py2.py").write_text("print 'loss', loss.data[0]\nx = np.float(1)\n", encoding="utf-8")
    (tmp_path / "bytes.py").write_bytes(b"x = np.float(1)  # \xff\xfe not utf-8\n")
    changes = apply_rules(tmp_path, ["set:python-forward"], [], [], TargetVersions("2.1"))
    assert changes == {
        "py2.py": ("print 'loss', loss.data[0]\nx = np.float(1)\n", "print 'loss', loss.data[0]\nx = float(1)\n")
    }


LAYOUT_BEFORE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

crit = nn.CrossEntropyLoss(
    weight=w,  # class weights
    size_average=False,
)
grid = F.grid_sample(
    img,
    flow,  # optical flow
)
parser.add_argument(
    "--local_rank",
    type=int,
    default=-1,
)
meter.add(output, target)  # torchnet meter: not the scalar-first overload
d = pickle.load(fh, **kw)
"""
LAYOUT_AFTER = """\
import os
import torch
import torch.nn as nn
import torch.nn.functional as F

crit = nn.CrossEntropyLoss(
    weight=w,  # class weights
    reduction='sum',
)
grid = F.grid_sample(
    img,
    flow,  # optical flow
    align_corners=True,
)
parser.add_argument(
    "--local_rank",
    "--local-rank",
    type=int,
    default=int(os.environ.get("LOCAL_RANK", -1)),
)
meter.add(output, target)  # torchnet meter: not the scalar-first overload
d = pickle.load(fh, **kw)
"""


def test_codemods_keep_layout_and_comments(tmp_path: Path) -> None:
    (tmp_path / "layout.py").write_text(LAYOUT_BEFORE, encoding="utf-8")
    target = TargetVersions("2.6", python="3.12")
    changes = apply_rules(tmp_path, ["set:all"], [], [], target)
    assert changes["layout.py"][1] == LAYOUT_AFTER
    (tmp_path / "layout.py").write_text(LAYOUT_AFTER, encoding="utf-8")
    manual = {(f.rule_id, f.line) for f in scan(tmp_path, target)}
    assert manual == {("py-scalar-first-overloads", 21), ("py-pickle-py2-encoding", 22)}
    assert not [f for f in scan(tmp_path, target) if f.auto_fixable]
