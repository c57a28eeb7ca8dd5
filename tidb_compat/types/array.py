"""``PortableArray(item_type)``: a list of scalars, PostgreSQL ``ARRAY`` or a JSON array.

========== ===================================== ==========================================
backend    storage                               ``contains`` / ``overlap``
========== ===================================== ==========================================
PostgreSQL ``item[]`` (``ARRAY``)                ``@>`` / ``&&``
TiDB/MySQL ``JSON`` array                        ``JSON_CONTAINS`` / ``JSON_OVERLAPS``
MariaDB    ``JSON`` (``LONGTEXT``) array         ``JSON_CONTAINS`` / ``JSON_OVERLAPS`` (10.9+)
SQLite     JSON text array                       ``json_each``
========== ===================================== ==========================================

Item types: ``String`` (optionally with a length, enforced everywhere), ``Integer`` (32-bit),
``BigInteger`` (64-bit), ``Float`` (ints are stored as floats), ``Boolean``, ``Uuid``.
Refused with :class:`tidb_compat.PortableValueError`: a value that is not a list or tuple
(a ``str`` is not a list of characters), ``None`` items (SQL and JSON disagree on them),
items of another type (``"1"`` in an Integer array, ``True`` in an Integer array), integers
out of range, NaN/infinity, ``\\u0000`` and lone surrogates in strings, strings over the
length, and arrays whose JSON form exceeds :data:`~tidb_compat.types.json.MAX_JSON_BYTES`.
Read back: a list (order and duplicates kept) of the item type; ``-0.0`` is stored as ``0.0``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Uuid, types
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType

from ..backends.base.base import DatabaseBackend
from ._base import PortableTypeMixin
from .json import (
    _Refusal,
    encode_json,
    json_bind_wrapper,
    json_result_decoder,
    json_storage,
    sql_string_literal,
)

__all__ = ["PortableArray", "multi_valued_index"]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _item_kind(item_type: types.TypeEngine[Any]) -> str:
    for kind, cls in (("bigint", BigInteger), ("int", Integer), ("float", Float), ("bool", Boolean),
                      ("uuid", Uuid), ("str", String)):
        if isinstance(item_type, cls):
            return kind
    raise TypeError(
        f"PortableArray items must be String, Integer, BigInteger, Float, Boolean or Uuid, not {item_type!r}"
    )


class PortableArray(PortableTypeMixin, types.TypeDecorator[list[Any]]):
    """A list of scalars of one item type, with one behaviour on every backend."""

    impl = types.JSON
    cache_ok = True

    class Comparator(types.TypeDecorator.Comparator[list[Any]]):
        def contains(self, other: Any, **kw: Any) -> ColumnElement[bool]:
            """True where the array holds every one of ``other`` (PostgreSQL ``@>``)."""
            from .query import array_contains

            return array_contains(self.expr, other)

        def overlap(self, other: Any) -> ColumnElement[bool]:
            """True where the array holds at least one of ``other`` (PostgreSQL ``&&``)."""
            from .query import array_overlap

            return array_overlap(self.expr, other)

    comparator_factory = Comparator

    def __init__(self, item_type: type[types.TypeEngine[Any]] | types.TypeEngine[Any]) -> None:
        super().__init__()
        self.item_type: types.TypeEngine[Any] = item_type() if isinstance(item_type, type) else item_type
        self._kind = _item_kind(self.item_type)

    @property
    def python_type(self) -> type[list[Any]]:
        return list

    @property
    def max_length(self) -> int | None:
        """The item length limit for String items (``None``: unlimited)."""
        return getattr(self.item_type, "length", None) if self._kind == "str" else None

    # -- validation ------------------------------------------------------------------------

    def _item(self, item: Any) -> Any:
        kind = self._kind
        if item is None:
            self.refuse("None items are not allowed (SQL and JSON arrays disagree on them)")
        if kind in ("int", "bigint"):
            if isinstance(item, bool) or not isinstance(item, int):
                self.refuse(f"{type(item).__name__} {item!r} is not an integer")
            low, high = (INT32_MIN, INT32_MAX) if kind == "int" else (INT64_MIN, INT64_MAX)
            if not low <= item <= high:
                self.refuse(f"integer {item} is outside [{low}, {high}]")
            return int(item)
        if kind == "float":
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                self.refuse(f"{type(item).__name__} {item!r} is not a number")
            number = float(item)
            if not math.isfinite(number):
                self.refuse(f"{item!r} is not a finite number")
            return 0.0 if number == 0.0 else number
        if kind == "bool":
            if not isinstance(item, bool):
                self.refuse(f"{type(item).__name__} {item!r} is not a bool")
            return item
        if kind == "uuid":
            if not isinstance(item, uuid.UUID):
                self.refuse(f"{type(item).__name__} {item!r} is not a uuid.UUID")
            return item
        if not isinstance(item, str):
            self.refuse(f"{type(item).__name__} {item!r} is not a str")
        if "\x00" in item:
            self.refuse("strings may not contain \\u0000")
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            self.refuse("strings may not contain lone surrogates (not valid UTF-8)")
        limit = self.max_length
        if limit is not None and len(item) > limit:
            self.refuse(f"item of {len(item)} characters is longer than {limit}")
        return item

    def validate_items(self, value: Any) -> list[Any]:
        """The checked items of ``value`` (refusals name the column)."""
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            self.refuse(f"expected a list, got {type(value).__name__}")
        return [self._item(item) for item in value]

    def json_items(self, items: list[Any]) -> list[Any]:
        """Items as stored in a JSON array (UUIDs as canonical strings)."""
        return [str(item) for item in items] if self._kind == "uuid" else items

    def _from_json_item(self, item: Any) -> Any:
        if self._kind == "uuid":
            return uuid.UUID(item)
        if self._kind == "float":
            return float(item)
        return item

    def _encode(self, items: list[Any]) -> str:
        try:
            return encode_json(self.json_items(items))
        except _Refusal as refusal:
            self.refuse(str(refusal).replace("document", "array"))

    # -- storage ---------------------------------------------------------------------------

    def postgresql_array_type(self) -> postgresql.ARRAY[Any]:
        return postgresql.ARRAY(self.item_type)

    def load_dialect_impl(self, dialect: Dialect) -> types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(self.postgresql_array_type())
        return json_storage(dialect)

    def coerce_compared_value(self, op: Any, value: Any) -> types.TypeEngine[Any]:
        return self

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        validate = self.validate_items
        if dialect.name == "postgresql":
            item_processor = self.postgresql_array_type().dialect_impl(dialect).bind_processor(dialect)
            encode_check = self._encode  # the same size limit as the JSON backends

            def pg_processor(value: Any) -> Any:
                if value is None:
                    return None
                items = validate(value)
                encode_check(items)
                return item_processor(items) if item_processor is not None else items

            return pg_processor

        wrap = json_bind_wrapper(dialect)
        encode = self._encode

        def processor(value: Any) -> Any:
            if value is None:
                return None
            text = encode(validate(value))
            return wrap(text) if wrap is not None else text

        return processor

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name == "postgresql":
            array_processor = self.postgresql_array_type().dialect_impl(dialect).result_processor(dialect, coltype)
            if self._kind != "float":
                return array_processor

            def pg_float(value: Any) -> Any:
                value = array_processor(value) if array_processor is not None else value
                return None if value is None else [float(item) for item in value]

            return pg_float

        decode = json_result_decoder(dialect) or (lambda v: v)
        convert = self._from_json_item
        plain = self._kind not in ("uuid", "float")

        def processor(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, (bytes, bytearray)):
                value = value.decode("utf-8")
            items = decode(value) if isinstance(value, str) else value
            return items if plain else [convert(item) for item in items]

        return processor

    def literal_processor(self, dialect: Dialect) -> Callable[[Any], str]:
        """Offline SQL (``literal_binds``): a typed ARRAY literal or the JSON text."""
        validate, encode = self.validate_items, self._encode
        array_sql = self.postgresql_array_type().compile(dialect=dialect) if dialect.name == "postgresql" else ""

        def processor(value: Any) -> str:
            if value is None:
                return "NULL"
            items = validate(value)
            if array_sql:
                inner = ",".join(sql_string_literal(str(item)).lower() if isinstance(item, bool)
                                 else sql_string_literal(str(item)) for item in items)
                return f"CAST(ARRAY[{inner}] AS {array_sql})"
            return sql_string_literal(encode(items))

        return processor


# -- multi-valued index ----------------------------------------------------------------------

# TiDB indexes CHAR(n), SIGNED, REAL, ... elements but not DOUBLE; REAL is DOUBLE on MySQL.
_MYSQL_ARRAY_CAST = {"int": "SIGNED", "bigint": "SIGNED", "float": "REAL", "uuid": "CHAR(36)"}


class _MultiValuedKey(ColumnElement[Any]):
    inherit_cache = False
    _traverse_internals: _TraverseInternalsType = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(_MultiValuedKey)
def _mv_default(element: _MultiValuedKey, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(_MultiValuedKey, "mysql")
def _mv_mysql(element: _MultiValuedKey, compiler: SQLCompiler, **kw: Any) -> str:
    array_type: PortableArray = element.column.type
    kind = array_type._kind
    cast = _MYSQL_ARRAY_CAST.get(kind) or f"CHAR({array_type.max_length or 255})"
    column = compiler.preparer.format_column(element.column)
    return f"(CAST({column} AS {cast} ARRAY))"


def _supports_multi_valued_index(ddl: Any, target: Any, bind: Any, **kw: Any) -> bool:
    """``ddl_if`` callable: the backend of the connection (or of the engine whose dialect
    compiles offline) decides; without either, no index."""
    from ..backends import get_backend
    from ..backends.binding import binding_for

    backend: DatabaseBackend | None = None
    dialect = kw.get("dialect") or (bind.dialect if bind is not None else None)
    if bind is not None:
        backend = get_backend(bind)
    elif dialect is not None:
        backend = binding_for(dialect).backend
    return backend is not None and bool(backend.features.supports_multi_valued_index)


def multi_valued_index(name: str, column: Any) -> Index:
    """An index over the elements of a :class:`PortableArray` column, where the server has
    one: a GIN index on PostgreSQL, a multi-valued index (``CAST(... AS ... ARRAY)``) on
    MySQL 8.0.17+ and TiDB 7.1+; nothing on MariaDB, SQLite or older servers (the DDL is
    skipped, decided from the backend's ``supports_multi_valued_index`` flag)."""
    if not isinstance(column.type, PortableArray):
        raise TypeError("multi_valued_index() takes a PortableArray column")
    if column.type._kind == "bool":
        raise TypeError("a Boolean array cannot have a multi-valued index")
    index = Index(name, _MultiValuedKey(column), postgresql_using="gin")  # tidb-compat: ignore[TC009]
    index.ddl_if(callable_=_supports_multi_valued_index)  # type: ignore[arg-type]
    return index
