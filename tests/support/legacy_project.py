"""A small legacy-style project (2017 PyTorch idioms, an 8-GPU launch script) in a real git repository, a dataset
tarball on the tests' HTTP server, and a recipe pointing at both: what `legacyrun up` must take to a trained model.

    project = make_legacy_project(git_factory, http_server, tmp_path)
    project.recipe_path, project.commit, project.dataset_url
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

TRAIN_PY = """\
# A 2017-era training script: legacyrun has to forward-port it for today's PyTorch.
import argparse
import csv
import os

import torch
from torch.autograd import Variable

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--iters", type=int, default=2)
parser.add_argument("--local_rank", type=int, default=0)
args = parser.parse_args()

with open(os.path.join(args.data, "toy.csv")) as fh:
    rows = [r for r in csv.reader(fh)]
x = torch.tensor([[float(v) for v in r[:2]] for r in rows])
y = torch.tensor([[float(r[2])] for r in rows])
model = torch.nn.Linear(2, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for it in range(args.iters):
    pred = model(Variable(x))
    loss = torch.nn.functional.mse_loss(pred, Variable(y))
    opt.zero_grad()
    loss.backward()
    opt.step()
    print("iter %d loss %.4f" % (it, loss.data[0]))
val = model(Variable(x, volatile=True))
print("world size %s, visible devices %r" % (os.environ.get("WORLD_SIZE"), os.environ.get("CUDA_VISIBLE_DEVICES")))
torch.save(model.state_dict(), "checkpoint.pth")
print("TRAINED", len(rows), "rows")
"""

TRAIN_SH = """\
#!/bin/bash
# Written for an 8-GPU server.
set -e
python -m torch.distributed.launch --nproc_per_node=8 train.py --data "$1" --iters 2
"""

RECIPE = """\
schema_version: 1
name: toyproj
title: A legacy-style toy project
sources:
  - {{name: toy, url: "{git_url}", commit: "{commit}"}}
env:
  profiles:
    faithful: {{python: "3.6", torch: "0.3.1"}}
    modern: {{python: "3.11", torch: "2.13.0", torchvision: none}}
datasets:
  - {{name: toy, kind: http, urls: ["{data_url}"], dest: data/toy}}
patches:
  - {{id: forward, kind: catalog, source: toy, rules: [py-data0-item, py-variable-volatile],
     when: {{profiles: [modern]}}}}
adapt:
  reference_gpus: 8
  keys:
    - {{key: --nproc_per_node, format: shell, files: [train.sh], rule: launcher, why: one process per GPU}}
tasks:
  train: {{source: toy, argv: [bash, train.sh, "{{data_root}}/toy"], datasets: [toy]}}
default_task: train
"""


@dataclass(frozen=True)
class LegacyProject:
    recipe_path: Path
    commit: str
    git_url: str
    dataset_url: str


def dataset_tarball() -> bytes:
    rows = "\n".join(f"{i % 7},{i % 5},{(i % 7) * 2 + (i % 5)}" for i in range(32)) + "\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = rows.encode()
        info = tarfile.TarInfo("toy.csv")
        info.size = len(data)
        info.mtime = 1_500_000_000
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_legacy_project(
    git_factory: object, http_server: object, tmp_path: Path, *, git_url: str | None = None
) -> LegacyProject:
    """The repository (via the git_factory fixture), the dataset (on http_server) and the recipe file."""
    factory = git_factory  # typed loosely: the fixtures live in support.gitrepos / support.http_server
    factory.work("toyproj", init=True)  # type: ignore[attr-defined]
    commit = factory.commit("toyproj", "legacy code", {"train.py": TRAIN_PY, "train.sh": TRAIN_SH})  # type: ignore[attr-defined]
    factory.push("toyproj")  # type: ignore[attr-defined]
    url = git_url or factory.bare("toyproj").as_uri()  # type: ignore[attr-defined]
    data_url = http_server.put("toy.tar.gz", dataset_tarball())  # type: ignore[attr-defined]
    recipe_path = tmp_path / "toyproj.yaml"
    recipe_path.write_text(RECIPE.format(git_url=url, commit=commit, data_url=data_url), encoding="utf-8")
    return LegacyProject(recipe_path, commit, url, data_url)
