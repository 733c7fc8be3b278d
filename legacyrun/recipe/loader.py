"""YAML -> Recipe, with every problem reported as `FILE:LINE:COL: field.path: message`.

PyYAML's composer gives nodes with positions; we keep a map from field path to (line, col) while constructing
plain Python data, so that a pydantic error location can be pointed at the line that caused it. Duplicate keys,
which YAML silently merges, are errors here: in a shared recipe they are always a mistake.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from legacyrun.errors import RecipeError
from legacyrun.recipe.models import SCHEMA_VERSION, Location, Recipe, cross_reference_problems

Positions = dict[Location, tuple[int, int]]


@dataclass(frozen=True)
class LoadedRecipe:
    """A validated recipe plus where it came from."""

    recipe: Recipe
    path: Path
    text: str
    origin: str = "path"

    @property
    def hash(self) -> str:
        return recipe_hash(self.recipe)

    @property
    def patches_dir(self) -> Path:
        """Unified diffs for this recipe: patches/<name>/ beside a recipes/ folder, or beside the file."""
        from legacyrun.recipe.registry import patches_dir_for

        return patches_dir_for(self.path, self.recipe.name)


def recipe_hash(recipe: Recipe) -> str:
    """sha256 of the recipe's canonical JSON: formatting and comments do not change it, content does."""
    canonical = json.dumps(recipe.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Construct:
    """Build plain data from a YAML node tree, remembering each path's position."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.positions: Positions = {}
        self.problems: list[str] = []
        self._scalar = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Location) -> Any:
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"))
                if not isinstance(key, str | int):
                    self._problem(key_node, path, "mapping keys must be strings")
                    continue
                key = str(key) if not isinstance(key, str) else key
                if key in out:
                    self._problem(key_node, (*path, key), f"duplicate key {key!r}")
                    continue
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar.construct_object(node, deep=True)

    def _problem(self, node: yaml.Node, path: Location, message: str) -> None:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        self.problems.append(f"{self.display}:{line}:{col}: {dotted(path)}: {message}")


def dotted(path: Location) -> str:
    """`sources[0].commit` style path for messages."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _position(positions: Positions, loc: Location) -> tuple[int, int]:
    """The position of the longest prefix of `loc` that the document has (missing keys point at their parent)."""
    for end in range(len(loc), -1, -1):
        hit = positions.get(loc[:end])
        if hit:
            return hit
    return (1, 1)


def _clean_loc(loc: tuple[Any, ...]) -> Location:
    """Drop pydantic's union-branch and validator tags from an error location."""
    cleaned: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (part in {"regex", "diff", "catalog"} or part.startswith(("function-", "json-"))):
            continue
        cleaned.append(part)
    return tuple(cleaned)


def _message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    kind = err.get("type", "")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        return "unknown key (not part of schema_version 1; check the spelling)"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_type" and isinstance(err.get("input"), int | float):
        return f"expected a string, got the number {err['input']!r} (quote it: '{err['input']}')"
    if kind == "union_tag_invalid":
        return "kind must be one of: regex, diff, catalog"
    return msg


def parse_text(text: str, display: str) -> Recipe:
    """Validate recipe YAML text; raise RecipeError with one `FILE:LINE:COL: path: message` per problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        raise RecipeError([f"{display}:{line}:{col}: (yaml): {what}"]) from None
    except yaml.YAMLError as exc:
        raise RecipeError([f"{display}:1:1: (yaml): {exc}"]) from None
    if root is None:
        raise RecipeError([f"{display}:1:1: (top level): the file is empty"])
    builder = _Construct(display)
    try:
        data = builder.build(root, ())
    except yaml.YAMLError as exc:
        raise RecipeError([f"{display}:1:1: (yaml): {exc}"]) from None
    if builder.problems:
        raise RecipeError(builder.problems)
    if not isinstance(data, dict):
        raise RecipeError([f"{display}:1:1: (top level): a recipe is a mapping of keys, not {type(data).__name__}"])
    version = data.get("schema_version")
    if version is not None and version != SCHEMA_VERSION:
        line, col = _position(builder.positions, ("schema_version",))
        raise RecipeError(
            [f"{display}:{line}:{col}: schema_version: version {version!r} is not supported (this legacyrun reads 1)"]
        )
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = _clean_loc(tuple(err["loc"]))
            line, col = _position(builder.positions, loc)
            lines.append(f"{display}:{line}:{col}: {dotted(loc)}: {_message(dict(err))}")
        raise RecipeError(sorted(set(lines), key=_line_key)) from None
    problems = cross_reference_problems(recipe)
    if problems:
        lines = []
        for loc, msg in problems:
            line, col = _position(builder.positions, loc)
            lines.append(f"{display}:{line}:{col}: {dotted(loc)}: {msg}")
        raise RecipeError(sorted(lines, key=_line_key))
    return recipe


def _line_key(line: str) -> tuple[int, int, str]:
    parts = line.split(":")
    try:
        return (int(parts[1]), int(parts[2]), line)
    except (IndexError, ValueError):
        return (0, 0, line)


def load_path(path: Path, *, origin: str = "path") -> LoadedRecipe:
    """Read and validate a recipe file."""
    display = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RecipeError([f"{display}:1:1: (file): no such file"]) from None
    except OSError as exc:
        raise RecipeError([f"{display}:1:1: (file): cannot read: {exc.strerror}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError([f"{display}:1:1: (file): not UTF-8 text (byte {exc.start})"]) from None
    recipe = parse_text(text, display)
    return LoadedRecipe(recipe=recipe, path=path, text=text, origin=origin)


__all__ = ["LoadedRecipe", "dotted", "load_path", "parse_text", "recipe_hash"]
