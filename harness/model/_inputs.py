"""Every file the CLI reads goes through here: scenarios, the pipelines file, and the reports given to
`diff`, `merge` and `run --baseline`.

Each file must be a regular file (a FIFO or a device is refused before anything is read: a read
would block or never end), at most a size said in the error, UTF-8, nested at most `MAX_DEPTH`
levels, parsed strictly (YAML: no key twice, no alias bomb; JSON: RFC 8259, no key twice), and
what it holds checked against its schema. Anything else is one `InputError` line naming the file,
what is wrong and where (a field path; `$.cells[3].verdict` in JSON): exit 2, never a traceback,
a hang, or memory that grows with a hostile file.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from . import _jsonio as jsonio
from ._errors import InputError

MAX_DEPTH = 64  # levels of nesting: a scenario needs about 10, a report about 12
MAX_YAML_VALUES = 2_000_000  # values after YAML aliases are expanded (an "alias bomb" is billions)
MAX_REPORT_BYTES = 128 * 1024 * 1024  # a matrix.json: far above the biggest catalog's (every variant, storage)
_READ_CHUNK = 1 << 20
# libyaml's parser when PyYAML has it (the pure-Python one is ~10× slower on big files).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FLOAT_TAG = "tag:yaml.org,2002:float"


def field_path(parts: Iterable[Any]) -> str:
    """`traces[1].spans[0]` from ["traces", 1, "spans", 0]."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def json_path(parts: Iterable[Any]) -> str:
    """`$.cells[3].verdict`: where in a JSON document."""
    path = field_path(parts)
    return "$" + ("" if not path else path if path.startswith("[") else f".{path}")


# --- bytes and text ---------------------------------------------------------------------------

def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def read_bytes(path: Path, *, limit: int, kind: str, hint: str = "") -> bytes:
    """The whole file, refused before it is read when it is not a regular file of at most `limit`
    bytes. `kind` names such files in the error ("scenario files"); `hint` says what to do instead."""
    shown = str(path)
    try:
        # Non-blocking: opening a FIFO nobody writes to would otherwise wait forever.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise InputError(shown, "", f"cannot read the file: {error.strerror or error}") from None
    with os.fdopen(descriptor, "rb", buffering=0) as file:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(shown, "", f"is not a regular file ({_kind_of(info.st_mode)}); name a file")
        if info.st_size > limit:
            raise InputError(shown, "", _too_big(info.st_size, limit, kind, hint))
        data = bytearray()
        try:
            while len(data) <= limit:  # a file that grows while it is read is cut at the limit too
                chunk = file.read(_READ_CHUNK)
                if not chunk:
                    break
                data += chunk
        except OSError as error:
            raise InputError(shown, "", f"cannot read the file: {error.strerror or error}") from None
    if len(data) > limit:
        raise InputError(shown, "", _too_big(len(data), limit, kind, hint))
    return bytes(data)


def _too_big(size: int, limit: int, kind: str, hint: str) -> str:
    return f"is {size:,} bytes; {kind} are at most {limit:,} bytes" + (f" ({hint})" if hint else "")


def read_text(path: Path, *, limit: int, kind: str, hint: str = "") -> str:
    """The file as UTF-8 text (see `read_bytes`); text that is not UTF-8 is named by byte and line."""
    data = read_bytes(path, limit=limit, kind=kind, hint=hint)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise InputError(str(path), "", f"is not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
                         f"{error.start}); save it as UTF-8", line) from None


# --- YAML ---------------------------------------------------------------------------------------

class _RecursiveAliasError(Exception):
    pass


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _expanded_size(root: yaml.Node) -> int:
    """How many values the document holds once its aliases are expanded (shared nodes counted once
    per use), computed without expanding anything: a post-order walk, each node sized once. An
    alias that contains itself raises _RecursiveAliasError."""
    size: dict[int, int] = {}
    expanding: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_sized = stack.pop()
        if children_sized:
            size[id(node)] = min(1 + sum(size[id(child)] for child in _children(node)), MAX_YAML_VALUES + 1)
            expanding.discard(id(node))
            continue
        if id(node) in size:
            continue
        if id(node) in expanding:  # met again inside its own expansion
            raise _RecursiveAliasError
        expanding.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in expanding:
                raise _RecursiveAliasError
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)]


def _overflows(text: str) -> bool:
    spelled = text.strip().lower().lstrip("+-")
    if spelled in (".inf",):
        return False
    try:
        return math.isinf(float(text.replace("_", "")))
    except ValueError:
        return False


def _check_nodes(root: yaml.Node, shown: str) -> None:
    """What YAML lets through silently: a key written twice in one mapping (the last would win), a
    number too big for a double (it would become infinity), and nesting deeper than any file of ours
    needs (building it would recurse). Each node is looked at once."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]  # each node with its field path
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if len(where) > MAX_DEPTH:
            raise InputError(shown, field_path(where[:3]) + "…", f"is nested more than {MAX_DEPTH} levels deep",
                             node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        raise InputError(shown, field_path([*where, key.value]), "is written twice in the same "
                                         "mapping; keep one (YAML would silently keep the last)",
                                         key.start_mark.line + 1)
                    keys.add(key.value)
                stack += [(key, where), (value, (*where, key.value if isinstance(key, yaml.ScalarNode) else "?"))]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, (*where, index)) for index, item in enumerate(node.value)]
        elif node.tag == _FLOAT_TAG and _overflows(node.value):
            raise InputError(shown, field_path(where) or node.value, f"{node.value} is beyond the largest double "
                             "(it would become infinity); write .inf if you mean infinity", node.start_mark.line + 1)


def parse_yaml(text: str, shown: str) -> tuple[yaml.Node | None, Any]:
    """(the document's root node, for line numbers; its value), or one InputError line."""
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
        if root is not None and _expanded_size(root) > MAX_YAML_VALUES:
            raise InputError(shown, "", f"its YAML aliases expand to more than {MAX_YAML_VALUES:,} values; "
                             "write the values out, or use repeat:/count:")
        if root is not None:
            _check_nodes(root, shown)
        return root, loader.construct_document(root) if root is not None else None
    except _RecursiveAliasError:
        raise InputError(shown, "", "a YAML alias refers to a value that contains it (a recursive alias); "
                         "write the value out") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        # At the end of the file, the line the unfinished value is on (not the empty one after it)
        last = max(1, len(text.rstrip().splitlines()))
        raise InputError(shown, "", f"not valid YAML: {problem}", min(mark.line + 1, last) if mark else None) \
            from None
    except RecursionError:  # kept as a net: _check_nodes bounds the depth first
        raise InputError(shown, "", f"is nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()


def load_yaml(path: Path, *, limit: int, kind: str, hint: str = "") -> tuple[yaml.Node | None, Any]:
    return parse_yaml(read_text(path, limit=limit, kind=kind, hint=hint), str(path))


# --- JSON ---------------------------------------------------------------------------------------

# What is not structure: strings (brackets inside them do not nest) and everything between brackets.
_NOT_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[^\[\]{}"]+|"', re.DOTALL)
_INNERMOST = re.compile(r"\[\]|\{\}")


def _too_deep(text: str) -> bool:
    """Whether the JSON text nests deeper than MAX_DEPTH, found before parsing (the parser recurses
    once per level): each pass removes the innermost pairs of brackets, in C, so it costs at most
    MAX_DEPTH passes over the brackets alone. Unbalanced brackets are left to the parser's message."""
    shape = _NOT_STRUCTURE.sub("", text)
    for _ in range(MAX_DEPTH):
        if not shape:
            return False
        shorter = _INNERMOST.sub("", shape)
        if len(shorter) == len(shape):  # unbalanced: not JSON, and the parser says where, unless it
            return len(shape) - len(shape.lstrip("[{")) > MAX_DEPTH  # would first recurse that deep
        shape = shorter
    return bool(_INNERMOST.search(shape))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"the key {_short(key)} is written twice in one object (readers differ on which to keep)")
        document[key] = value
    return document


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON (RFC 8259); write it as the string \"{token}\"")


def parse_json(text: str, shown: str) -> Any:
    """RFC 8259 JSON, or one InputError line (with its line and column)."""
    if _too_deep(text):
        raise InputError(shown, "", f"is nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text, parse_int=jsonio.parse_int, parse_constant=_no_constant,
                          object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise InputError(shown, "", f"not valid JSON: {error.msg} (column {error.colno})", error.lineno) from None
    except ValueError as error:
        raise InputError(shown, "", f"not valid JSON: {error}") from None
    except RecursionError:  # kept as a net: _too_deep bounds the depth first
        raise InputError(shown, "", f"is nested more than {MAX_DEPTH} levels deep") from None


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _schema_problem(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """(where, what) of a schema error, in a few words (jsonschema's own message quotes whole values)."""
    parts = list(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return [*parts, missing], "is required"
    if error.validator == "enum" and isinstance(error.validator_value, list):
        return parts, f"{_short(error.instance)} is not one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "const":
        return parts, f"{_short(error.instance)}; this linkmatrix reads {error.validator_value!r}"
    if error.validator == "type":
        return parts, f"{_short(error.instance)} is not of type {error.validator_value}"
    return parts, error.message if len(error.message) <= 200 else error.message[:200] + "…"


def schema_problem(document: Any, schema: Mapping[str, Any], shown: str) -> tuple[list[Any], str] | None:
    """(where, what) of the first (best) place `document` breaks `schema`; None when it does not."""
    validator = jsonschema.Draft202012Validator(schema)
    try:
        # A hostile file can break the schema millions of times: the best of the first few is enough.
        errors = list(itertools.islice(validator.iter_errors(document), 50))
    except RecursionError:
        raise InputError(shown, "", f"is nested more than {MAX_DEPTH} levels deep") from None
    return _schema_problem(jsonschema.exceptions.best_match(errors)) if errors else None


def line_of(node: yaml.Node | None, parts: Iterable[Any]) -> int | None:
    """1-based line of the YAML node at `parts`, or of the deepest ancestor that exists."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in parts:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def check_schema(document: Any, schema: Mapping[str, Any], shown: str) -> None:
    """The first (best) place `document` breaks `schema`, as one InputError line."""
    validator = jsonschema.Draft202012Validator(schema)
    try:
        # A hostile file can break the schema millions of times: the best of the first few is enough.
        errors = list(itertools.islice(validator.iter_errors(document), 50))
    except RecursionError:
        raise InputError(shown, "", f"is nested more than {MAX_DEPTH} levels deep") from None
    if errors:
        parts, message = _schema_problem(jsonschema.exceptions.best_match(errors))
        raise InputError(shown, json_path(parts), message)


def load_json(path: Path, *, limit: int, kind: str, schema: Mapping[str, Any] | None = None) -> Any:
    """A JSON file through every guard above, checked against `schema` when given."""
    shown = str(path)
    document = parse_json(read_text(path, limit=limit, kind=kind), shown)
    if schema is not None:
        if not isinstance(document, dict) and schema.get("type") == "object":  # before the schema quotes all of it
            raise InputError(shown, "$", f"{_short(document)} where a JSON object is expected")
        check_schema(document, schema, shown)
    return document




def load_json_documents(path: Path, *, limit: int, kind: str, hint: str = "") -> list[tuple[int | None, Any]]:
    """A file of JSON lines (one document per line, as the collector's `file` exporter writes), or
    one JSON document over any number of lines (an API's answer, saved): [(its line, document)],
    each through every JSON guard above. The line is None for a document that is the whole file."""
    shown = str(path)
    text = read_text(path, limit=limit, kind=kind, hint=hint)
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if len(lines) > 1 and _is_json(lines[0][1]):
        return [(number, _parse_line(line, shown, number)) for number, line in lines]
    return [(None, parse_json(text, shown))]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _parse_line(line: str, shown: str, number: int) -> Any:
    """One JSON line, its errors said at its line of the file."""
    try:
        return parse_json(line, shown)
    except InputError as error:
        raise InputError(shown, error.field, error.message, number) from None
