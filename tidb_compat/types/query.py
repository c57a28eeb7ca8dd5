"""Portable JSON and array queries, compiled per dialect with one meaning.

PostgreSQL's semantics are the reference; the other backends are made to follow them:

``json_contains(doc, candidate)`` - PostgreSQL ``doc @> candidate``:
  an object contains an object when every key of the candidate is present and its value is
  contained; an array contains an array when every candidate element is an element of it;
  scalars must be equal (numbers numerically, strings exactly, case-sensitive); a top-level
  array also contains a top-level scalar that is one of its elements.  MySQL/MariaDB's
  ``JSON_CONTAINS`` also says ``{"a": [1, 2]}`` contains ``{"a": 1}``; here it does not,
  anywhere.  Candidates are limited to what every backend can evaluate exactly: arrays in a
  candidate may hold scalars only (a :class:`~tidb_compat.PortableValueError` otherwise).

``json_path_text(doc, *path)`` - PostgreSQL ``doc #>> path`` for scalars: strings unquoted,
  ``true``/``false``, integers as digits, JSON ``null`` and missing paths as SQL ``NULL``;
  compared case-sensitively everywhere.  Non-integer numbers and objects/arrays come back as
  text whose spelling differs per backend: compare those with ``json_contains``.

``array_contains(arr, values)`` / ``array_overlap(arr, values)`` - PostgreSQL ``@>`` / ``&&``
  for :class:`~tidb_compat.PortableArray`: every / at least one of ``values`` is an element.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import String, bindparam, types
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType

from ..errors import PortableValueError
from .json import PortableJSON, _Refusal, encode_json

__all__ = ["array_contains", "array_overlap", "json_contains", "json_path_text"]

_JSON_PATH_FORBIDDEN = ('"', "\\")


def _json_path(path: Sequence[str | int]) -> str:
    """``("a", 0, "b")`` -> ``$."a"[0]."b"`` (MySQL and SQLite path syntax)."""
    parts = ["$"]
    for step in path:
        if isinstance(step, bool) or not isinstance(step, (str, int)):
            raise PortableValueError(f"JSON path steps are keys (str) or indexes (int), got {step!r}")
        if isinstance(step, int):
            if step < 0:
                raise PortableValueError(f"JSON path indexes must not be negative, got {step}")
            parts.append(f"[{step}]")
        else:
            if any(ch in step for ch in _JSON_PATH_FORBIDDEN) or "\x00" in step:
                raise PortableValueError(f"JSON path key {step!r} may not contain quotes, backslashes or NUL")
            parts.append(f'."{step}"')
    return "".join(parts)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


# -- path text -------------------------------------------------------------------------------


class _PathTextType(types.TypeDecorator[str]):
    """Text that MySQL-family servers hand back as a binary string (compared exactly)."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if isinstance(value, (bytes, bytearray)):
            return bytes(value).decode("utf-8")
        return value  # type: ignore[no-any-return]


class JSONPathText(ColumnElement[str]):
    """See :func:`json_path_text`."""

    inherit_cache = True
    type = _PathTextType()
    # The path is part of the cache key: the binds made at compile time carry it.
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012
        ("expr", InternalTraversal.dp_clauseelement),
        ("json_path", InternalTraversal.dp_string),
    ]

    def __init__(self, expr: ColumnElement[Any], path: Sequence[str | int]) -> None:
        self.expr = expr
        self.path = tuple(path)
        self.json_path = _json_path(self.path)


def json_path_text(expr: ColumnElement[Any], *path: str | int) -> ColumnElement[str]:
    """The scalar at ``path`` of a JSON document as text (module docs for the semantics)."""
    return JSONPathText(expr, path)


def _bind_str(value: str) -> Any:
    return bindparam(None, value, type_=String(), unique=True)


@compiles(JSONPathText, "postgresql")
def _path_text_pg(element: JSONPathText, compiler: SQLCompiler, **kw: Any) -> str:
    args = [compiler.process(element.expr, **kw)]
    args += [compiler.process(_bind_str(str(step)), **kw) for step in element.path]
    return f"jsonb_extract_path_text({', '.join(args)})"


@compiles(JSONPathText, "mysql")
def _path_text_mysql(element: JSONPathText, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.expr, **kw)
    path = compiler.process(_bind_str(element.json_path), **kw)
    extracted = f"JSON_EXTRACT({doc}, {path})"
    # BINARY: compared byte for byte; utf8mb4_bin would ignore trailing spaces (PAD SPACE).
    return f"(CASE WHEN JSON_TYPE({extracted}) = 'NULL' THEN NULL ELSE CAST(JSON_UNQUOTE({extracted}) AS BINARY) END)"


@compiles(JSONPathText, "sqlite")
def _path_text_sqlite(element: JSONPathText, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.expr, **kw)
    path = compiler.process(_bind_str(element.json_path), **kw)
    return (
        f"(CASE json_type({doc}, {path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
        f"WHEN 'null' THEN NULL ELSE CAST(json_extract({doc}, {path}) AS TEXT) END)"
    )


# -- containment -----------------------------------------------------------------------------


class JSONContains(ColumnElement[bool]):
    """See :func:`json_contains`."""

    inherit_cache = True
    type = types.Boolean()
    # The whole candidate is part of the cache key: the SQL's shape and the binds made at
    # compile time follow from it.
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012
        ("expr", InternalTraversal.dp_clauseelement),
        ("candidate_key", InternalTraversal.dp_string),
    ]

    def __init__(self, expr: ColumnElement[Any], candidate: Any) -> None:
        self.expr = expr
        try:
            encode_json(candidate)
        except _Refusal as refusal:
            raise PortableValueError(f"containment candidate refused: {refusal}") from None
        _check_candidate_shape(candidate, top=True)
        self.candidate_key = encode_json(candidate)
        self.candidate = json.loads(self.candidate_key)


def _check_candidate_shape(value: Any, *, top: bool) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _check_candidate_shape(item, top=False)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if not _scalar(item):
                raise PortableValueError(
                    "containment candidates may hold only scalars inside arrays: "
                    "nested arrays/objects in arrays are not evaluated the same on every backend"
                )


def json_contains(expr: ColumnElement[Any], candidate: Any) -> ColumnElement[bool]:
    """True where the JSON document contains ``candidate`` (PostgreSQL ``@>``; module docs)."""
    return JSONContains(expr, candidate)


@compiles(JSONContains, "postgresql")
def _contains_pg(element: JSONContains, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.expr, **kw)
    candidate = compiler.process(bindparam(None, element.candidate, type_=PortableJSON(), unique=True), **kw)
    return f"({doc} @> {candidate})"


def _requirements(value: Any, path: tuple[str | int, ...], top: bool) -> Iterable[tuple[str, Any, Any]]:
    """Decompose a candidate into ("type", path, kind) / ("eq", path, scalar) /
    ("member", path, scalar) / ("top_scalar", path, scalar) requirements."""
    if isinstance(value, dict):
        yield ("type", path, "object")
        for key, item in value.items():
            yield from _requirements(item, (*path, key), False)
    elif isinstance(value, list):
        yield ("type", path, "array")
        for item in value:
            yield ("member", path, item)
    elif top:
        yield ("top_scalar", path, value)
    else:
        yield ("eq", path, value)


_SQLITE_TYPES = {
    "object": "'object'",
    "array": "'array'",
}


def _sqlite_scalar_test(type_col: str, value_col: str, value: Any, compiler: SQLCompiler, kw: Any) -> str:
    if value is None:
        return f"{type_col} = 'null'"
    if value is True:
        return f"{type_col} = 'true'"
    if value is False:
        return f"{type_col} = 'false'"
    bound = compiler.process(bindparam(None, value, unique=True), **kw)
    if isinstance(value, str):
        return f"({type_col} = 'text' AND {value_col} = {bound})"
    return f"({type_col} IN ('integer', 'real') AND {value_col} = {bound})"


@compiles(JSONContains, "sqlite")
def _contains_sqlite(element: JSONContains, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.expr, **kw)
    parts: list[str] = []
    for kind, path, value in _requirements(element.candidate, (), True):
        p = compiler.process(_bind_str(_json_path(path)), **kw)
        if kind == "type":
            parts.append(f"json_type({doc}, {p}) = {_SQLITE_TYPES[value]}")
        elif kind == "eq":
            test = _sqlite_scalar_test(f"json_type({doc}, {p})", f"json_extract({doc}, {p})", value, compiler, kw)
            parts.append(test)
        else:
            member = (
                f"EXISTS (SELECT 1 FROM json_each({doc}, {p}) AS je WHERE "
                f"{_sqlite_scalar_test('je.type', 'je.value', value, compiler, kw)})"
            )
            if kind == "member":
                parts.append(member)
            else:  # top-level scalar: equal to the document, or an element of a top-level array
                eq = _sqlite_scalar_test(f"json_type({doc}, {p})", f"json_extract({doc}, {p})", value, compiler, kw)
                parts.append(f"({eq} OR (json_type({doc}, {p}) = 'array' AND {member}))")
    return "(" + " AND ".join(parts) + ")"


@compiles(JSONContains, "mysql")
def _contains_mysql(element: JSONContains, compiler: SQLCompiler, **kw: Any) -> str:
    mariadb = bool(getattr(compiler.dialect, "is_mariadb", False))
    doc = compiler.process(element.expr, **kw)
    parts: list[str] = []

    def json_value(value: Any) -> str:
        bound = compiler.process(_bind_str(json.dumps(value, ensure_ascii=False)), **kw)
        return bound if mariadb else f"JSON_EXTRACT({bound}, '$')"

    def equal(extracted: str, value: Any) -> str:
        if mariadb:
            return f"JSON_EQUALS({extracted}, {json_value(value)})"
        return f"({extracted} = {json_value(value)})"

    def member(array: str, value: Any) -> str:
        if mariadb:  # MariaDB has no MEMBER OF: iterate the direct elements
            return (
                f"EXISTS (SELECT 1 FROM JSON_TABLE({array}, '$[*]' COLUMNS (v JSON PATH '$')) AS jt "
                f"WHERE JSON_EQUALS(jt.v, {json_value(value)}))"
            )
        return f"({json_value(value)} MEMBER OF ({array}))"

    for kind, path, value in _requirements(element.candidate, (), True):
        p = compiler.process(_bind_str(_json_path(path)), **kw)
        extracted = f"JSON_EXTRACT({doc}, {p})"
        if kind == "type":
            parts.append(f"JSON_TYPE({extracted}) = '{value.upper()}'")
        elif kind == "eq":
            parts.append(f"(JSON_TYPE({extracted}) NOT IN ('ARRAY', 'OBJECT') AND {equal(extracted, value)})")
        elif kind == "member":
            parts.append(member(extracted, value))
        else:
            parts.append(
                f"((JSON_TYPE({extracted}) NOT IN ('ARRAY', 'OBJECT') AND {equal(extracted, value)}) "
                f"OR (JSON_TYPE({extracted}) = 'ARRAY' AND {member(extracted, value)}))"
            )
    return "(" + " AND ".join(parts) + ")"


# -- arrays ----------------------------------------------------------------------------------


class _ArrayOp(ColumnElement[bool]):
    inherit_cache = True
    type = types.Boolean()
    all_of: bool
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012
        ("expr", InternalTraversal.dp_clauseelement),
        ("values_key", InternalTraversal.dp_string),
    ]

    def __init__(self, expr: ColumnElement[Any], values: Iterable[Any], array_type: Any) -> None:
        from .array import PortableArray

        if not isinstance(array_type, PortableArray):
            raise TypeError(f"array_contains/array_overlap take a PortableArray column, not {array_type!r}")
        self.expr = expr
        self.array_type = array_type
        self.values = array_type.validate_items(values if isinstance(values, (list, tuple, str)) else list(values))
        self.values_key = encode_json(array_type.json_items(self.values))


class ArrayContains(_ArrayOp):
    inherit_cache = True
    all_of = True


class ArrayOverlap(_ArrayOp):
    inherit_cache = True
    all_of = False


def array_contains(expr: ColumnElement[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """True where the array holds every one of ``values`` (PostgreSQL ``@>``)."""
    return ArrayContains(expr, values, expr.type)


def array_overlap(expr: ColumnElement[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """True where the array holds at least one of ``values`` (PostgreSQL ``&&``)."""
    return ArrayOverlap(expr, values, expr.type)


def _array_bind(element: _ArrayOp, compiler: SQLCompiler, kw: Any) -> str:
    return compiler.process(bindparam(None, element.values, type_=element.array_type, unique=True), **kw)


@compiles(ArrayContains, "postgresql")
@compiles(ArrayOverlap, "postgresql")
def _array_pg(element: _ArrayOp, compiler: SQLCompiler, **kw: Any) -> str:
    from sqlalchemy import cast

    doc = compiler.process(element.expr, **kw)
    pg_type = element.array_type.postgresql_array_type()
    values = compiler.process(
        cast(bindparam(None, element.values, type_=element.array_type, unique=True), pg_type), **kw
    )
    return f"({doc} {'@>' if element.all_of else '&&'} {values})"


@compiles(ArrayContains, "mysql")
@compiles(ArrayOverlap, "mysql")
def _array_mysql(element: _ArrayOp, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.expr, **kw)
    values = _array_bind(element, compiler, kw)
    function = "JSON_CONTAINS" if element.all_of else "JSON_OVERLAPS"
    return f"{function}({doc}, {values})"


@compiles(ArrayContains, "sqlite")
@compiles(ArrayOverlap, "sqlite")
def _array_sqlite(element: _ArrayOp, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.expr, **kw)
    stored = element.array_type.json_items(element.values)
    if not stored:
        return f"({doc} IS NOT NULL)" if element.all_of else "(1 = 0)"
    binds = [compiler.process(bindparam(None, value, unique=True), **kw) for value in stored]
    if element.all_of:
        tests = [f"EXISTS (SELECT 1 FROM json_each({doc}) AS je WHERE je.value = {b})" for b in binds]
        return "(" + " AND ".join(tests) + ")"
    return f"EXISTS (SELECT 1 FROM json_each({doc}) AS je WHERE je.value IN ({', '.join(binds)}))"


def _unsupported(element: ClauseElement, compiler: SQLCompiler, **kw: Any) -> str:
    raise PortableValueError(f"{type(element).__name__} has no compilation for the {compiler.dialect.name} dialect")


for _element in (JSONPathText, JSONContains, ArrayContains, ArrayOverlap):
    compiles(_element)(_unsupported)
