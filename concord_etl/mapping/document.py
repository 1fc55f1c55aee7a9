"""A YAML document read safely, remembering the line of every key (for error messages).

Used for mapping files and usable for any other YAML configuration (report files).

Scalars follow the YAML 1.2 core schema, not PyYAML's YAML 1.1 defaults, so that spreadsheet
words survive: ``yes``/``no``/``on``/``off``/``y``/``n`` stay strings (``true_values: [yes, y]``,
a country ``NO``), ``01234`` stays a string (zip codes), ``2024-01-31`` stays a string, and
``1:20`` is not a sexagesimal number. Only ``true``/``false`` are booleans and only
``~``/``null``/empty are null. Duplicate keys are an error (PyYAML silently keeps the last).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from concord_etl.errors import MappingError

KeyPath = tuple[str | int, ...]

_MAX_NODES = 100_000          # guards against alias bombs ("billion laughs")
_MAX_DEPTH = 64
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _CoreSchemaLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema implicit types (see module docstring)."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


for _tag, _regex, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
):
    _CoreSchemaLoader.add_implicit_resolver(_tag, re.compile(_regex), list(_first))


def format_key(key: KeyPath) -> str:
    """``("columns", "E-mail", "lookup", "by")`` → ``columns."E-mail".lookup.by``."""
    out = ""
    for part in key:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = part if _PLAIN_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
        out += f".{text}" if out else text
    return out


@dataclass(frozen=True)
class Document:
    """Parsed YAML data plus the 1-based line of each key path and the source text of scalars."""

    data: Any
    path: str | None = None
    lines: AbcMapping[KeyPath, int] = field(default_factory=lambda: MappingProxyType({}))
    raws: AbcMapping[KeyPath, str] = field(default_factory=lambda: MappingProxyType({}))

    def line(self, key: KeyPath) -> int | None:
        """The line of ``key``, or of its nearest ancestor that has one."""
        for end in range(len(key), -1, -1):
            found = self.lines.get(key[:end])
            if found is not None:
                return found
        return None

    def raw(self, key: KeyPath) -> str | None:
        """The scalar at ``key`` as written in the file (``yes``, ``01``), if known."""
        return self.raws.get(key)

    def error(self, key: KeyPath, message: str) -> MappingError:
        return MappingError(
            message, path=self.path, key=format_key(key) or None, line=self.line(key)
        )


def read_document(path: str | Path) -> Document:
    """Read a YAML file safely; every problem is a ``MappingError`` naming the file and line."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MappingError("file not found", path=shown) from None
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        raise MappingError(message, path=shown) from None
    except OSError as exc:
        raise MappingError(f"cannot read the file: {exc.strerror}", path=shown) from None
    return parse_document(text, path=shown)


def parse_document(text: str, path: str | None = None) -> Document:
    """Parse YAML text (one document) into a ``Document``."""
    loader = _CoreSchemaLoader(text)
    builder = _Builder(loader, path)
    try:
        root = loader.get_single_node()
        data = None if root is None else builder.build(root, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        start = exc.context_mark
        if start is not None and mark is not None and start.line != mark.line:
            problem += f" (started on line {start.line + 1})"
        raise MappingError(f"invalid YAML: {problem}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise MappingError(f"invalid YAML: {exc}", path=path) from None
    finally:
        loader.dispose()
    return Document(
        data=data,
        path=path,
        lines=MappingProxyType(builder.lines),
        raws=MappingProxyType(builder.raws),
    )


class _Builder:
    """Node tree → plain Python data, recording lines and raw scalar text per key path."""

    def __init__(self, loader: _CoreSchemaLoader, path: str | None) -> None:
        self.loader = loader
        self.path = path
        self.lines: dict[KeyPath, int] = {}
        self.raws: dict[KeyPath, str] = {}
        self.count = 0

    def build(self, node: Node, key: KeyPath) -> Any:
        self.count += 1
        if self.count > _MAX_NODES or len(key) > _MAX_DEPTH:
            message = "document too large or too deeply nested (aliases expanding?)"
            raise MappingError(message, path=self.path, line=node.start_mark.line + 1)
        self.lines.setdefault(key, node.start_mark.line + 1)
        if not isinstance(node, ScalarNode) and node.tag not in _COLLECTION_TAGS:
            message = f"invalid YAML: unsupported tag {node.tag!r} (only plain YAML is read)"
            raise MappingError(
                message, path=self.path, key=format_key(key) or None,
                line=node.start_mark.line + 1,
            )
        if isinstance(node, MappingNode):
            return self._mapping(node, key)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*key, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        self.raws[key] = node.value
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: MappingNode, key: KeyPath) -> dict[str, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            name = self._key_text(key_node, key)
            line = key_node.start_mark.line + 1
            if name in seen:
                where = format_key((*key, name))
                message = (
                    f"duplicate key {name!r} (first on line {seen[name]}); "
                    "each key may appear once"
                )
                raise MappingError(message, path=self.path, key=where, line=line)
            seen[name] = line
        self.loader.flatten_mapping(node)     # resolves "<<" merge keys
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            name = self._key_text(key_node, key)
            child = (*key, name)
            self.lines[child] = key_node.start_mark.line + 1
            out[name] = self.build(value_node, child)
        return out

    def _key_text(self, key_node: Node, parent: KeyPath) -> str:
        """Keys are taken as written: ``No:`` is the header "No", ``123:`` the header "123"."""
        if not isinstance(key_node, ScalarNode):
            message = "a key must be plain text, not a list or mapping"
            raise MappingError(
                message, path=self.path, key=format_key(parent) or None,
                line=key_node.start_mark.line + 1,
            )
        return str(key_node.value)


class DocumentChecker:
    """Typed reads from a ``Document``; each failure is a ``MappingError`` at its key and line."""

    def __init__(self, document: Document) -> None:
        self.document = document

    def error(self, key: KeyPath, message: str) -> MappingError:
        return self.document.error(key, message)

    def shown(self, value: Any, key: KeyPath) -> str:
        """How a wrong value is quoted back to the user."""
        if isinstance(value, dict):
            return "a mapping"
        if isinstance(value, (list, tuple)):
            return "a list"
        if value is None:
            return "an empty value"
        raw = self.document.raw(key)
        if isinstance(value, bool):
            return raw or str(value).lower()
        if isinstance(value, str):
            return repr(value)
        return raw if raw is not None else repr(value)

    def mapping(self, value: Any, key: KeyPath, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, f"expected {what}, got {self.shown(value, key)}")
        for name in value:
            if not isinstance(name, str):
                raise self.error(key, f"keys must be text, got {name!r}")
        return value

    def keys(
        self,
        obj: dict[str, Any],
        key: KeyPath,
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
    ) -> None:
        for name in obj:
            if name not in allowed:
                message = (
                    f"unknown key {name!r}{suggest(name, allowed)} "
                    f"Allowed keys: {', '.join(allowed)}"
                )
                raise self.error((*key, name), message)
        for name in required:
            if name not in obj:
                raise self.error(key, f"missing required key {name!r}")

    def text(self, value: Any, key: KeyPath, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected {what}, got {self.shown(value, key)}")
        return value

    def flag(self, value: Any, key: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {self.shown(value, key)}")
        return value

    def choice(
        self,
        value: Any,
        key: KeyPath,
        allowed: tuple[str, ...],
        what: str = "value",
        aliases: AbcMapping[str, str] | None = None,
    ) -> str:
        if isinstance(value, str) and value in allowed:
            return value
        hint = suggest(value, allowed, aliases) if isinstance(value, str) else "."
        message = (
            f"unknown {what} {self.shown(value, key)}{hint} Expected one of: {', '.join(allowed)}"
        )
        raise self.error(key, message)

    def labels(self, value: Any, key: KeyPath, what: str) -> tuple[str, ...]:
        """A scalar or a list of scalars, each taken as written (``yes`` → "yes", ``01`` → "01")."""
        items = value if isinstance(value, (list, tuple)) else [value]
        out: list[str] = []
        for i, item in enumerate(items):
            item_key = (*key, i) if isinstance(value, (list, tuple)) else key
            if item is None or isinstance(item, (dict, list)):
                message = f"expected {what}, got {self.shown(item, item_key)}"
                raise self.error(item_key, message)
            raw = self.document.raw(item_key)
            label = raw if raw is not None else _label_text(item)
            if not label.strip():
                raise self.error(item_key, f"expected {what}, got an empty text")
            out.append(label)
        if not out:
            raise self.error(key, f"expected {what}, got an empty list")
        return tuple(out)


def _label_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def suggest(word: str, allowed: tuple[str, ...], aliases: AbcMapping[str, str] | None = None) -> str:
    """``"; did you mean 'field'?"`` for a near miss, else ``"."``."""
    lowered = {a.lower(): a for a in allowed}
    key = word.strip().lower()
    if aliases and key in aliases:
        return f"; did you mean {aliases[key]!r}?"
    if key in lowered:
        return f"; did you mean {lowered[key]!r}?"
    close = difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else "."
