"""Trust: a recipe from anywhere but the built-in set runs commands only after its user has seen them.

The commands are the tasks' argv, the datasets' post `run` steps and the profiles' build steps, with the
environment each sets. Consent is recorded per recipe name in config_dir()/trust.json together with the recipe's
content hash (recipe_hash: formatting and comments do not matter, any content change does, including a new
source commit, since that changes the code the same command runs). A recipe whose hash differs from the recorded
one is untrusted again, and the commands are shown again.

The record also holds a hash over every file the recipe brings beside its YAML (the diffs and any other file
under patches/<name>/, which a bundle carries too): a diff changes the code the trusted commands run, so an edited
or added diff asks for trust again. `recipe trust --show` lists those files with their sha256.

Callers (fetch, build, run, up) call ensure_trusted() before the first command of a recipe runs.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from legacyrun.errors import TrustError
from legacyrun.fsutil import atomic_write_text, sha256_file, sha256_text
from legacyrun.invocation import command
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.recipe.refs import builtin_dir
from legacyrun.userdirs import config_dir

TRUST_VERSION = 1


def trust_file() -> Path:
    return config_dir() / "trust.json"


def _argv(argv: list[str]) -> str:
    return shlex.join(argv)


def _env(env: dict[str, str]) -> str:
    return "".join(f"{k}={shlex.quote(v)} " for k, v in sorted(env.items()))


def commands_of(loaded: LoadedRecipe) -> list[str]:
    """Every command the recipe can run, one human line each, in a stable order."""
    r = loaded.recipe
    lines: list[str] = []
    for pname in sorted(r.env.profiles):
        profile = r.env.profiles[pname]
        if profile.env:
            lines.append(f"profile {pname}: environment for every task: {_env(profile.env).strip()}")
        for step in profile.build:
            where = f"src/{step.source}" + (f"/{step.cwd}" if step.cwd != "." else "")
            lines.append(f"profile {pname} build {step.name} (in {where}): {_env(step.env)}{_argv(step.argv)}")
    for ds in r.datasets:
        for i, post in enumerate(ds.post):
            if post.run is not None:
                where = ds.dest + (f"/{post.run.cwd}" if post.run.cwd != "." else "")
                lines.append(f"dataset {ds.name} post[{i}] (in {where}): {_argv(post.run.argv)}")
    for tname in sorted(r.tasks):
        task = r.tasks[tname]
        where = f"src/{task.source}" + (f"/{task.cwd}" if task.cwd != "." else "")
        lines.append(f"task {tname} (in {where}): {_env(task.env)}{_argv(task.argv)}")
    return lines


def code_of(loaded: LoadedRecipe) -> list[str]:
    """The code those commands run: each source at its commit (shown beside the commands)."""
    return [
        f"source {s.name}: {s.url} @ {s.commit}"
        if s.is_git
        else f"source {s.name}: {s.origin} sha256 {s.pypi.sha256 if s.pypi else ''}"
        for s in loaded.recipe.sources
    ]


def files_of(loaded: LoadedRecipe) -> list[str]:
    """`sha256  patches/<name>/<file>` for every file the recipe brings (links and odd files are listed too, by
    their target text, so that nothing under the folder escapes the hash)."""
    root = loaded.patches_dir
    if not root.is_dir():
        return []
    out: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = f"patches/{loaded.recipe.name}/{path.relative_to(root).as_posix()}"
        if path.is_symlink():
            out.append(f"{sha256_text('symlink:' + os.readlink(path))}  {rel}")
        elif path.is_file():
            out.append(f"{sha256_file(path)}  {rel}")
    return out


def files_hash(loaded: LoadedRecipe) -> str:
    return sha256_text("\n".join(files_of(loaded)))


_NO_FILES_HASH = sha256_text("")  # what records made before files were hashed stand for


def commands_hash(loaded: LoadedRecipe) -> str:
    return sha256_text("\n".join(commands_of(loaded)))


def is_builtin(loaded: LoadedRecipe) -> bool:
    """Built-in recipes ship with legacyrun and were reviewed with it; a path into that folder counts too."""
    if loaded.origin == "builtin":
        return True
    try:
        return loaded.path.resolve().parent == builtin_dir().resolve()
    except OSError:
        return False


def _read() -> dict[str, Any]:
    try:
        data = json.loads(trust_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": TRUST_VERSION, "recipes": {}}
    except (OSError, ValueError):
        # A damaged trust file only means asking again; it never grants anything.
        return {"version": TRUST_VERSION, "recipes": {}}
    if not isinstance(data, dict) or not isinstance(data.get("recipes"), dict):
        return {"version": TRUST_VERSION, "recipes": {}}
    return data


def trust_record(name: str) -> dict[str, Any] | None:
    rec = _read()["recipes"].get(name)
    return rec if isinstance(rec, dict) else None


def is_trusted(loaded: LoadedRecipe) -> bool:
    """Built-in, without any command, or approved by the user at exactly this content."""
    if is_builtin(loaded) or not commands_of(loaded):
        return True
    rec = trust_record(loaded.recipe.name)
    return rec is not None and rec.get("recipe_hash") == loaded.hash and _files_match(rec, loaded)


def _files_match(rec: dict[str, Any], loaded: LoadedRecipe) -> bool:
    return bool(rec.get("files_hash", _NO_FILES_HASH) == files_hash(loaded))


def record_trust(loaded: LoadedRecipe) -> None:
    """Remember that the user approved this recipe's commands at this content."""
    from filelock import FileLock

    config_dir().mkdir(parents=True, exist_ok=True)
    with FileLock(str(config_dir() / ".trust.lock")):
        data = _read()
        data["recipes"][loaded.recipe.name] = {
            "recipe_hash": loaded.hash,
            "commands_hash": commands_hash(loaded),
            "files_hash": files_hash(loaded),
            "origin": loaded.origin,
            "path": str(loaded.path),
            "trusted_at": int(time.time()),
        }
        atomic_write_text(trust_file(), json.dumps(data, indent=2, sort_keys=True) + "\n")


def revoke_trust(name: str) -> bool:
    """Forget the approval of a recipe; True when there was one."""
    from filelock import FileLock

    config_dir().mkdir(parents=True, exist_ok=True)
    with FileLock(str(config_dir() / ".trust.lock")):
        data = _read()
        if data["recipes"].pop(name, None) is None:
            return False
        atomic_write_text(trust_file(), json.dumps(data, indent=2, sort_keys=True) + "\n")
    return True


@dataclass(frozen=True)
class TrustStatus:
    """What `recipe trust` shows."""

    recipe: str
    origin: str
    recipe_hash: str
    builtin: bool
    trusted: bool
    changed_since_trust: bool
    commands: list[str]
    code: list[str]
    files: list[str]

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def trust_status(loaded: LoadedRecipe) -> TrustStatus:
    rec = trust_record(loaded.recipe.name)
    return TrustStatus(
        recipe=loaded.recipe.name,
        origin=loaded.origin,
        recipe_hash=loaded.hash,
        builtin=is_builtin(loaded),
        trusted=is_trusted(loaded),
        changed_since_trust=rec is not None
        and (rec.get("recipe_hash") != loaded.hash or not _files_match(rec, loaded)),
        commands=commands_of(loaded),
        code=code_of(loaded),
        files=files_of(loaded),
    )


def _untrusted_error(loaded: LoadedRecipe, commands: list[str], *, declined: bool) -> TrustError:
    name = loaded.recipe.name
    rec = trust_record(name)
    why = "changed since you trusted it" if rec is not None else "not approved yet"
    head = (
        f"recipe {name!r} ({loaded.origin}, {loaded.path}) runs commands you have "
        f"{'declined' if declined else 'not seen'} ({why}):"
    )
    body = [f"  {c}" for c in commands] + [f"  {c}" for c in code_of(loaded)]
    body += [f"  file {f}" for f in files_of(loaded)]
    return TrustError(
        "\n".join([head, *body]),
        hint=f"read them, then re-run with --trust (or `{command('recipe trust', name)}`)",
    )


def ensure_trusted(
    loaded: LoadedRecipe,
    *,
    trust_flag: bool,
    interactive: bool,
    confirm: Callable[[list[str]], bool] | None,
) -> None:
    """Return when the recipe may run its commands; otherwise raise TrustError (exit 10) listing them.

    `trust_flag` (--trust) approves and records. `interactive` with a `confirm` callback shows the commands and
    asks; a yes is recorded, a no raises. Without either, nothing runs until the user says so.
    """
    if is_trusted(loaded):
        return
    commands = commands_of(loaded)
    if trust_flag:
        record_trust(loaded)
        return
    if interactive and confirm is not None:
        if confirm([*commands, *code_of(loaded)]):
            record_trust(loaded)
            return
        raise _untrusted_error(loaded, commands, declined=True)
    raise _untrusted_error(loaded, commands, declined=False)


__all__ = [
    "TrustStatus",
    "code_of",
    "commands_hash",
    "commands_of",
    "ensure_trusted",
    "files_hash",
    "files_of",
    "is_builtin",
    "is_trusted",
    "record_trust",
    "revoke_trust",
    "trust_file",
    "trust_record",
    "trust_status",
]
