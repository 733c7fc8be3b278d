"""Rendering of `legacyrun patch` results (human text or JSON); kept apart so cli/patch.py stays a thin shell."""

from __future__ import annotations

from legacyrun.cli import render
from legacyrun.usecases.patch import PatchOutcome


def show_outcome(outcome: PatchOutcome, *, json: bool) -> None:
    if json:
        render.emit_json(outcome.to_json())
        return
    target = outcome.target
    if target is not None:
        gpus = "" if target.gpus is None else f", {target.gpus} GPU(s)"
        render.note(f"target: profile {target.profile}, torch {target.torch}{gpus} (from the {outcome.target_from})")
    if outcome.action == "list":
        rows = [[r["id"], r["kind"], r["source"], r["applies"], r["why"]] for r in outcome.rows]
        render.show(render.table(None, ["patch", "kind", "source", "applies", "why"], rows))
        return
    result = outcome.result
    assert result is not None
    for src in result.sources:
        if outcome.action == "dry-run" and src.diff:
            render.line(src.diff.rstrip("\n"))
        parts = []
        if src.applied:
            verb = "would apply" if result.dry_run else "applied"
            parts.append(f"{verb} {', '.join(src.applied)}")
        if src.already:
            parts.append(f"{len(src.already)} already applied")
        if src.skipped:
            parts.append(f"{len(src.skipped)} not for this target ({', '.join(i for i, _ in src.skipped)})")
        if src.dirty and result.dry_run:
            parts.append(f"uncommitted edits in {', '.join(src.dirty)} (a real run needs --force)")
        if parts:
            render.line(f"{src.source}: " + "; ".join(parts))
        for note in src.notes:
            render.note(f"{src.source}: {note}")
    adapt = outcome.adapt
    if adapt is not None and adapt.rows:
        rows = [[r.key, r.where, r.old, r.new, r.rule] for r in adapt.rows]
        title = f"GPU-count adaptation: {adapt.reference_gpus} -> {adapt.gpus} GPU(s)"
        render.show(render.table(title, ["key", "where", "old", "new", "rule"], rows))
        for task, extra in sorted(adapt.overrides.items()):
            render.line(f"task {task}: adds {' '.join(extra)}")
    render.line(result.summary())


__all__ = ["show_outcome"]
