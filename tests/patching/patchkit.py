"""Helpers for the patch engine tests: a workspace whose source is a real git repository made here, and a recipe
file beside it (recipes/<name>.yaml with patches/<name>/ for diffs)."""

from __future__ import annotations

import os
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

from legacyrun.recipe.loader import LoadedRecipe, load_path
from legacyrun.workspace import Workspace

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Legacy Author",
    "GIT_AUTHOR_EMAIL": "author@example.org",
    "GIT_COMMITTER_NAME": "Legacy Author",
    "GIT_COMMITTER_EMAIL": "author@example.org",
    "GIT_AUTHOR_DATE": "1509840000 +0000",
    "GIT_COMMITTER_DATE": "1509840000 +0000",
    "GIT_CONFIG_NOSYSTEM": "1",
}

LEGACY_FILES = {
    "train.py": textwrap.dedent(
        """\
        import torch
        from torch.autograd import Variable

        def train(model, loader, criterion):
            for x, y in loader:
                x = Variable(x.cuda(), volatile=False)
                loss = criterion(model(x), y)
                print('loss', loss.data[0])  # 2017 style
                print('acc', loss.data[0])
        """
    ),
    "models/net.py": "import torch.nn as nn\n\nnet = nn.Sequential()\nnet.cuda(device_id=0)\n",
    "configs/base.yaml": textwrap.dedent(
        """\
        # Detectron-style config written for 8 GPUs
        MODEL:
          RESNETS:
            NORM: "SyncBN"  # cross-GPU batch norm
        SOLVER:
          IMS_PER_BATCH: 16   # 2 images per GPU
          BASE_LR: 0.02
        DATALOADER:
          NUM_WORKERS: 4
        """
    ),
    "train.sh": (
        "#!/bin/sh\npython -m torch.distributed.launch --nproc_per_node=8 train.py --config configs/base.yaml\n"
    ),
    "tools/train_net.py": textwrap.dedent(
        """\
        import argparse
        import torch

        parser = argparse.ArgumentParser()
        parser.add_argument("--local_rank", type=int, default=0)
        NUM_WORKERS = 4  # loader threads
        """
    ),
    "README.md": "legacy project\n",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(path: Path, files: dict[str, str]) -> str:
    """A git repository with `files` committed once (the 'pinned' commit), HEAD detached at it like fetch does."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "master")
    for rel, text in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (path / "train.sh").chmod(0o755) if (path / "train.sh").exists() else None
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "legacy release")
    sha = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-q", "--detach", sha)
    return sha


@dataclass
class Project:
    root: Path
    ws: Workspace
    src: Path
    pinned: str
    recipe_path: Path

    def load(self) -> LoadedRecipe:
        return load_path(self.recipe_path)

    def write_recipe(self, patches: str = "", adapt: str = "", tasks: str = "") -> LoadedRecipe:
        text = RECIPE.format(commit=self.pinned, patches=patches or "patches: []", adapt=adapt, tasks=tasks)
        self.recipe_path.write_text(text, encoding="utf-8")
        return self.load()

    def write_diff(self, name: str, text: str) -> None:
        d = self.root / "patches" / "legacy"
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text, encoding="utf-8")


RECIPE = """\
schema_version: 1
name: legacy
title: A legacy project made by the tests
sources:
  - name: proj
    url: file:///nonexistent/proj.git
    commit: {commit}
env:
  profiles:
    faithful: {{python: "3.6", torch: "0.4.1", cuda: "9.0"}}
    modern: {{python: "3.11", torch: ">=2.1", cuda: ">=12.1"}}
{patches}
{adapt}
tasks:
  train:
    source: proj
    argv: [python, train_net.py, --num-gpus, "8"]
{tasks}
"""
