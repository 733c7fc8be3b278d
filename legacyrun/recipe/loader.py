"""YAML -> Recipe, with every problem reported as `FILE:LINE:COL: field.path: message`.

PyYAML's composer gives nodes with positions; we keep a map from field path to (line, col) while constructing
plain Python data, so that a pydantic error location can be pointed at the line that caused it. Duplicate keys,
which YAML silently merges, are errors here: in a shared recipe they are always a mistake.

A recipe may come from anyone, so the loader is bounded: the text's size, the nesting depth and the number of
nodes after alias expansion (an alias bomb is a few lines that expand to billions of nodes) are limited before or
while building, a recursive alias is refused, and a scalar that its tag's constructor rejects (`2020-13-45`,
`!!timestamp foo`, a 100,000-digit integer) is a located problem like any other, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from legacyrun import memo
from legacyrun.errors import RecipeError
from legacyrun.recipe.models import (
    SCHEMA_VERSION,
    LocatedValueError,
    Location,
    Recipe,
    cross_reference_problems,
)
from legacyrun.recipe.refs import patches_dir_for

Positions = dict[Location, tuple[int, int]]

# Real recipes are a few KiB, nest under 10 levels and hold a few hundred nodes; these leave ample room and keep
# the worst input well under a second and a few MiB.
MAX_TEXT_CHARS = 1_000_000
MAX_DEPTH = 64
MAX_NODES = 100_000


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
        return patches_dir_for(self.path, self.recipe.name)


def recipe_hash(recipe: Recipe) -> str:
    """sha256 of the recipe's canonical JSON: formatting and comments do not change it, content does."""
    canonical = json.dumps(recipe.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)


class _Construct:
    """Build plain data from a YAML node tree, remembering each path's position (and each key's, and each
    scalar's source text, so messages can quote `3.10` rather than the float 3.1 it became)."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.positions: Positions = {}
        self.key_positions: Positions = {}
        self.raw: dict[Location, str] = {}
        self.problems: list[str] = []
        self._scalar = yaml.SafeLoader("")
        self._nodes = 0
        self._open: set[int] = set()  # collections being built: meeting one again is a recursive alias

    def build(self, node: yaml.Node, path: Location) -> Any:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            # Counted after alias expansion: each use of an alias costs its whole subtree.
            line, col = _mark(node)
            raise RecipeError(
                [f"{self.display}:{line}:{col}: {dotted(path)}: more than {MAX_NODES} values (after expanding aliases)"]
            )
        if len(path) > MAX_DEPTH:
            line, col = _mark(node)
            raise RecipeError([f"{self.display}:{line}:{col}: {dotted(path)}: nested deeper than {MAX_DEPTH} levels"])
        if id(node) in self._open:
            self._problem(node, path, "recursive alias (a value that contains itself)")
            return None
        self.positions[path] = _mark(node)
        if node.tag not in _PLAIN_TAGS:
            # Python object tags and the like: a shared recipe must be plain data (and never run code).
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self._problem(node, path, f"YAML tag {tag} is not allowed in a recipe (plain data only)")
            return None
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self._open.add(id(node))
            try:
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node, path)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self._open.discard(id(node))
        assert isinstance(node, yaml.ScalarNode)
        self.raw[path] = node.value
        if "\x00" in node.value:
            self._problem(node, path, "NUL character is not allowed in a recipe")
            return None
        try:
            value = self._scalar.construct_object(node, deep=True)
            if isinstance(value, str):
                value.encode("utf-8")  # a lone surrogate from a "\ud800" escape is not text
        except UnicodeEncodeError:
            self._problem(node, path, "invalid unicode escape (a lone surrogate) in a string")
            return None
        except Exception as exc:  # PyYAML's constructors raise ValueError, KeyError, AttributeError...
            self._problem(node, path, _constructor_message(node, exc))
            return None
        return value

    def _mapping(self, node: yaml.MappingNode, path: Location) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._problem(key_node, path, "YAML merge keys (<<) are not supported in a recipe")
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                self._problem(key_node, path, "mapping keys must be plain strings")
                continue
            # The key's own text, not its YAML 1.1 meaning: `on:` stays "on", `1:` stays "1".
            key = key_node.value
            if key in out:
                self._problem(key_node, (*path, key), f"duplicate key {key!r}")
                continue
            self.key_positions[(*path, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*path, key))
        return out

    def _problem(self, node: yaml.Node, path: Location, message: str) -> None:
        line, col = _mark(node)
        self.problems.append(f"{self.display}:{line}:{col}: {dotted(path)}: {message}")


def _constructor_message(node: yaml.ScalarNode, exc: Exception) -> str:
    """Why a scalar's tag could not make a value of it, in words (PyYAML's own exception text can be empty)."""
    tag = node.tag.replace("tag:yaml.org,2002:", "")
    kind = {"timestamp": "date", "int": "integer", "float": "number", "bool": "boolean", "null": "null"}.get(tag, tag)
    text = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    detail = str(exc).split("\n")[0][:120] if str(exc) and not isinstance(exc, KeyError | AttributeError) else ""
    why = f": {detail}" if detail else ""
    return f"{text!r} is not a valid {kind}{why} (quote it if it is meant as text)"


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\-]+")


def dotted(path: Location) -> str:
    """`sources[0].commit` style path for messages; a key with spaces or odd characters is quoted, without
    spaces, so that the path stays one word of the `FILE:LINE:COL: path: message` line."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += ("." if out else "") + part
        else:
            out += "[" + repr(part).replace(" ", "\\x20") + "]"
    return out or "(top level)"


def _position(positions: Positions, loc: Location) -> tuple[int, int]:
    """The position of the longest prefix of `loc` that the document has (missing keys point at their parent)."""
    for end in range(len(loc), -1, -1):
        hit = positions.get(loc[:end])
        if hit:
            return hit
    return (1, 1)


_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _clean_loc(loc: tuple[Any, ...], data: Any) -> Location:
    """Map a pydantic error location onto the document: drop union-branch tags ('regex', 'float', ...) and
    validator tags, which are not keys of the data, by walking the data along the location."""
    cleaned: list[str | int] = []
    current: Any = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        in_dict = isinstance(current, dict) and isinstance(part, str) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            cleaned.append(part)
            current = current[part]
        elif last and isinstance(current, dict) and isinstance(part, str) and part != "[key]":
            cleaned.append(part)  # a missing required key
            current = None
        else:
            continue
    return tuple(cleaned)


def _describe(raw: str | None, value: Any) -> str:
    """What the user wrote, in words: 'the number 3.10', 'a list', ..."""
    if isinstance(value, bool):
        return f"the boolean {raw or str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {raw if raw is not None else repr(value)}"
    if value is None:
        return "an empty value (null)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"the date {raw}" if raw is not None else type(value).__name__


def _message(err: dict[str, Any], raw: str | None) -> str:
    msg = str(err.get("msg", "invalid"))
    kind = str(err.get("type", ""))
    value = err.get("input")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        return "unknown key (not part of schema_version 1; check the spelling)"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        return "must be one of: regex, diff, catalog"
    if kind == "union_tag_not_found":
        return "a patch needs `kind: regex`, `kind: diff` or `kind: catalog`"
    if kind in _TYPE_WORDS:
        got = _describe(raw, value)
        if kind == "string_type" and raw and value is not None and not isinstance(value, list | dict):
            return f'expected a string, got {got} (quote it: "{raw}")'
        return f"expected {_TYPE_WORDS[kind]}, got {got}"
    return msg


def _validation_lines(exc: ValidationError, data: Any, builder: _Construct, display: str) -> list[str]:
    """One line per problem; several type errors on one spot (a union such as number-or-string) become one."""
    by_loc: dict[Location, list[dict[str, Any]]] = {}
    for err in exc.errors():
        loc = _clean_loc(tuple(err["loc"]), data)
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, LocatedValueError):
            loc = loc + cause.loc
        elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "kind")
        by_loc.setdefault(loc, []).append(dict(err))
    lines: list[str] = []
    for loc, errs in by_loc.items():
        raw = builder.raw.get(loc)
        if len(errs) > 1 and all(e["type"] in _TYPE_WORDS for e in errs):
            wanted = {_TYPE_WORDS[e["type"]] for e in errs}
            if "a number" in wanted:
                wanted.discard("an integer")
            got = _describe(raw, errs[0].get("input"))
            messages = [f"expected {' or '.join(sorted(wanted))}, got {got}"]
        else:
            messages = [_message(e, raw) for e in errs]
        if any("[key]" in e["loc"] for e in errs) and loc:
            messages = [f"invalid name {loc[-1]!r}: {m}" for m in messages]
        at_key = any(e["type"] == "extra_forbidden" for e in errs) or any("[key]" in e["loc"] for e in errs)
        line, col = _position(builder.key_positions if at_key else builder.positions, loc)
        if at_key and (line, col) == (1, 1):
            line, col = _position(builder.positions, loc)
        lines.extend(f"{display}:{line}:{col}: {dotted(loc)}: {m}" for m in messages)
    return sorted(set(lines), key=_line_key)


def _check_events(text: str, display: str, loader: type[Any]) -> None:
    """Depth and size limits before composing: the parsers are iterative, the composers recursive (1,000 nested
    brackets are a RecursionError in PyYAML's), so the event stream is where depth can be refused safely. The
    size counted is after alias expansion (each alias costs its anchor's whole subtree), so an alias bomb is
    refused here, before anything is built."""
    sizes: dict[str, int] = {}  # anchor -> its subtree's expanded size
    frames: list[list[Any]] = [[None, 0]]  # open collections: [anchor, expanded size so far]
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            if len(frames) > MAX_DEPTH:
                line, col = _event_mark(event)
                raise RecipeError([f"{display}:{line}:{col}: (yaml): nested deeper than {MAX_DEPTH} levels"])
            frames.append([event.anchor, 1])
            continue
        if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            anchor, size = frames.pop()
            if anchor is not None:
                sizes[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            size = sizes.get(event.anchor or "", 1)  # an anchor still open is a recursive alias: the builder says so
        else:
            continue
        frames[-1][1] += size
        if sum(frame[1] for frame in frames) > MAX_NODES:
            line, col = _event_mark(event)
            raise RecipeError(
                [f"{display}:{line}:{col}: (yaml): more than {MAX_NODES} values (after expanding aliases)"]
            )


def _flow_depth(text: str) -> int:
    """The deepest run of unclosed brackets, quotes and comments ignored: a cheap upper bound of flow nesting."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    return deepest


def _event_mark(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


def _compose(text: str, display: str) -> yaml.Node | None:
    if len(text) > MAX_TEXT_CHARS:
        raise RecipeError([f"{display}:1:1: (file): larger than {MAX_TEXT_CHARS} characters; not a recipe"])
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # text decoded with surrogateescape, or built in memory
        line, col = _offset_position(text, exc.start)
        raise RecipeError([f"{display}:{line}:{col}: (file): not valid unicode text (a lone surrogate)"]) from None
    if yaml.__with_libyaml__:
        # libyaml is ten times faster; its messages are terser, so a document it rejects is read again below
        # by PyYAML's parser, whose messages (and their positions) are the ones users see.
        try:
            _check_events(text, display, yaml.CSafeLoader)
            return yaml.compose(text, Loader=yaml.CSafeLoader)
        except yaml.MarkedYAMLError as exc:
            # PyYAML's scanner is quadratic in flow nesting (1,000 brackets take seconds): deep text keeps
            # libyaml's message.
            if _flow_depth(text) > 2 * MAX_DEPTH:
                raise RecipeError([_yaml_line(exc, display)]) from None
        except yaml.YAMLError:
            pass
    try:
        _check_events(text, display, yaml.SafeLoader)
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise RecipeError([_yaml_line(exc, display)]) from None
    except yaml.reader.ReaderError as exc:
        line, col = _offset_position(text, exc.position)
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else f"byte {exc.character!r}"
        raise RecipeError([f"{display}:{line}:{col}: (yaml): {exc.reason} ({char})"]) from None
    except yaml.YAMLError as exc:
        raise RecipeError([f"{display}:1:1: (yaml): {' '.join(str(exc).split())}"]) from None
    except RecursionError:  # a limit above should have refused first; never a traceback
        raise RecipeError([f"{display}:1:1: (yaml): nested too deeply"]) from None


def _offset_position(text: str, offset: int) -> tuple[int, int]:
    before = text[: max(0, offset)]
    return (before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)


def _yaml_line(exc: yaml.MarkedYAMLError, display: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    what = exc.problem or exc.context or "invalid YAML"
    if ("<stream end>" in what or "end of stream" in what) and exc.context and exc.context_mark:
        # An unclosed bracket or quote: the end of the file says nothing, where it opened does.
        mark = exc.context_mark
        opened = exc.context.removeprefix("while parsing ").removeprefix("while scanning ")
        what = f"{opened} that starts here is never closed"
    elif "\\t" in what or "\t" in what:
        what = "tab character: YAML indentation must use spaces"
    elif exc.context and exc.problem:
        what = f"{what} ({exc.context})"
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return f"{display}:{line}:{col}: (yaml): {what}"


def _remembered(text: str) -> Recipe | None:
    """The recipe from a text that was parsed before (the data it gave, kept in the user cache by the text's hash,
    validated again here); None when it is new or no longer valid, and the full parse finds out why."""
    data = memo.get("recipe-data", _memo_key(text))
    if not isinstance(data, dict):
        return None
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError:
        return None
    return None if cross_reference_problems(recipe) else recipe


def _memo_key(text: str) -> str:
    # Composing YAML with positions (pure Python, for located messages) is most of a recipe's load time.
    # surrogatepass: text with a lone surrogate still gets a key; the parse then refuses it with its position.
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return memo.key_of(digest, memo.code_identity(__file__))


def _remember(text: str, data: dict[str, Any]) -> None:
    try:
        same = json.loads(json.dumps(data)) == data  # only data that JSON keeps as it is (no int keys, no dates)
    except (TypeError, ValueError):
        same = False
    if same:
        memo.put("recipe-data", _memo_key(text), data)


def parse_text(text: str, display: str) -> Recipe:
    """Validate recipe YAML text; raise RecipeError with one `FILE:LINE:COL: path: message` per problem."""
    known = _remembered(text)
    if known is not None:
        return known
    root = _compose(text, display)
    if root is None:
        raise RecipeError([f"{display}:1:1: (top level): the file is empty"])
    builder = _Construct(display)
    try:
        data = builder.build(root, ())
    except yaml.MarkedYAMLError as exc:
        raise RecipeError([_yaml_line(exc, display)]) from None
    except yaml.YAMLError as exc:
        raise RecipeError([f"{display}:1:1: (yaml): {' '.join(str(exc).split())}"]) from None
    except RecursionError:
        raise RecipeError([f"{display}:1:1: (yaml): nested too deeply"]) from None
    if builder.problems:
        raise RecipeError(builder.problems)
    if not isinstance(data, dict):
        raise RecipeError([f"{display}:1:1: (top level): a recipe is a mapping of keys, not {_describe(None, data)}"])
    version = data.get("schema_version")
    if version is not None and (isinstance(version, bool) or version != SCHEMA_VERSION):
        line, col = _position(builder.positions, ("schema_version",))
        got = _describe(builder.raw.get(("schema_version",)), version)
        raise RecipeError(
            [f"{display}:{line}:{col}: schema_version: {got} is not a supported version (this legacyrun reads 1)"]
        )
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(_validation_lines(exc, data, builder, display)) from None
    problems = cross_reference_problems(recipe)
    if problems:
        lines = []
        for loc, msg in problems:
            line, col = _position(builder.positions, loc)
            lines.append(f"{display}:{line}:{col}: {dotted(loc)}: {msg}")
        raise RecipeError(sorted(lines, key=_line_key))
    _remember(text, data)
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
