"""legacyrun.infer.frameworks/datasets on small trees: yacs config chains, dataset mentions, smoke and adapt."""

from __future__ import annotations

from pathlib import Path

from legacyrun.infer.datasets import doc_mentions
from legacyrun.infer.frameworks import plan_training, read_config


def _write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")


def test_config_chain_is_read_line_by_line(tmp_path: Path) -> None:
    base = (
        'SOLVER:\n  IMS_PER_BATCH: 16\n  BASE_LR: 0.02\nINPUT:\n  MIN_SIZE_TRAIN: !!python/object/apply:eval ["[1]"]\n'
    )
    _write(tmp_path, "configs/Base.yaml", base + 'DATASETS:\n  TRAIN: ("coco_2017_train",)\n')
    _write(tmp_path, "configs/sub/r50.yaml", '_BASE_: "../Base.yaml"\nSOLVER:\n  BASE_LR: 0.01  # halved\n')
    cfg = read_config(tmp_path, "configs/sub/r50.yaml")
    assert cfg["SOLVER.IMS_PER_BATCH"].value == "16" and cfg["SOLVER.IMS_PER_BATCH"].where == "configs/Base.yaml:2"
    assert (cfg["SOLVER.BASE_LR"].value, cfg["SOLVER.BASE_LR"].where) == ("0.01", "configs/sub/r50.yaml:3")
    assert cfg["DATASETS.TRAIN"].value == '("coco_2017_train",)'


def test_links_belong_to_the_dataset_named_before_them(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", "\nGet ICDAR2013([Drive](https://drive.google.com/a)) and "
           "ICDAR2015([Drive](https://drive.google.com/b), code at https://github.com/x/y).\n")  # fmt: skip
    got = doc_mentions(tmp_path, [tmp_path / "README.md"])
    assert (got["icdar2013"].where, got["icdar2013"].links) == ("README.md:2", ["https://drive.google.com/a"])
    assert got["icdar2015"].links == ["https://drive.google.com/b"]


def test_detectron2_project_gets_data_root_smoke_and_adapt(tmp_path: Path) -> None:
    _write(tmp_path, "configs/ade/Base-ADE.yaml", 'SOLVER:\n  IMS_PER_BATCH: 16\n  BASE_LR: 0.0001\n'
           'DATASETS:\n  TRAIN: ("ade20k_sem_seg_train",)\nDATALOADER:\n  NUM_WORKERS: 4\n')  # fmt: skip
    _write(tmp_path, "configs/ade/r50.yaml", "_BASE_: Base-ADE.yaml\n")
    _write(tmp_path, "train_net.py", "from detectron2.engine import launch\n")
    tasks = {"train": {"source": "p", "argv": ["python", "train_net.py", "--config-file", "configs/ade/r50.yaml"]}}
    plan = plan_training(tmp_path, [], "p", tasks, {"detectron2"}, 8)
    assert plan.framework == "detectron2"
    assert tasks["train"]["env"] == {"DETECTRON2_DATASETS": "{workspace}/data/detectron2"}
    smoke = tasks["train"]["smoke"]
    assert smoke["data"] == [{"generator": "ade20k-semseg", "dest": "detectron2/ADEChallengeData2016",
                              "options": {"images": 4, "size": 64}}]  # fmt: skip
    assert smoke["args"][:2] == ["MODEL.DEVICE", "{device}"] and "SOLVER.MAX_ITER" in smoke["args"]
    keys = {(k["key"], k["rule"], k.get("reference")) for k in plan.adapt_keys}
    assert keys == {("SOLVER.IMS_PER_BATCH", "linear", 16), ("SOLVER.BASE_LR", "linear", 0.0001),
                    ("DATALOADER.NUM_WORKERS", "set", 4)}  # fmt: skip
    assert [d["name"] for d in plan.datasets] == ["ade20k"] and plan.datasets[0]["kind"] == "http"


def test_unknown_dataset_is_a_located_decision(tmp_path: Path) -> None:
    _write(tmp_path, "configs/x.yaml", 'DATASETS:\n  TRAIN: ("my_private_set",)\n')
    _write(tmp_path, "maskrcnn_benchmark/__init__.py", "")
    tasks = {"train": {"source": "p", "argv": ["python", "tools/train_net.py", "--config-file", "configs/x.yaml"]}}
    plan = plan_training(tmp_path, [], "p", tasks, set(), None)
    assert plan.framework == "maskrcnn_benchmark"
    assert (
        plan.todos[0]
        == "configs/x.yaml:2: dataset 'my_private_set' is not in legacyrun's table; add it under datasets:"
    )
