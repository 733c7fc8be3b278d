"""The step runner behind `up`: each step hashes its inputs, and a step whose inputs are unchanged and whose
outputs still exist is skipped. That makes a second `up` instant and a half-finished one resumable."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from legacyrun.workspace import Workspace

Status = Literal["done", "skipped", "planned", "failed"]


@dataclass
class Step:
    """One step of the chain: `inputs()` must be cheap and make no network request."""

    name: str
    inputs: Callable[[], Any]
    run: Callable[[], dict[str, Any]]
    outputs_ok: Callable[[dict[str, Any]], bool] = lambda _outputs: True
    always: bool = False  # run even when unchanged (the task itself)
    describe: Callable[[], str] | None = None  # what it would do, for --dry-run (cheap, no network)


@dataclass
class StepOutcome:
    name: str
    status: Status
    seconds: float
    detail: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


def inputs_hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_steps(
    ws: Workspace,
    steps: list[Step],
    *,
    dry_run: bool = False,
    on_step: Callable[[StepOutcome], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    record_prefix: str = "",
) -> list[StepOutcome]:
    """Run the chain in order; an exception stops it (the step's record is not written, so it reruns next time)."""
    outcomes: list[StepOutcome] = []
    for step in steps:
        started = time.monotonic()
        digest = inputs_hash(step.inputs())
        record = ws.step_record(record_prefix + step.name)
        unchanged = (
            not step.always
            and record is not None
            and record.get("inputs_hash") == digest
            and step.outputs_ok(record.get("outputs") or {})
        )
        if unchanged and record is not None:
            outcome = StepOutcome(
                step.name, "skipped", time.monotonic() - started, "unchanged", record.get("outputs") or {}
            )
        elif dry_run:
            why = "would run" if record is None else "inputs changed"
            outcome = StepOutcome(step.name, "planned", 0.0, f"{why}: {step.describe()}" if step.describe else why)
        else:
            if on_start is not None:
                on_start(step.name)
            outputs = step.run()
            if not step.always:
                ws.record_step(record_prefix + step.name, digest, outputs)
            outcome = StepOutcome(
                step.name, "done", time.monotonic() - started, str(outputs.get("summary", "")), outputs
            )
        outcomes.append(outcome)
        if on_step is not None:
            on_step(outcome)
    return outcomes


__all__ = ["Step", "StepOutcome", "inputs_hash", "run_steps"]
