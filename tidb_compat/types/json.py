"""``PortableJSON``: JSON documents that come back exactly as they went in, on every backend.

========== ================================ ===========================================
backend    storage                          reflected as
========== ================================ ===========================================
PostgreSQL ``JSONB``                        JSONB
TiDB/MySQL ``JSON`` (binary)                JSON
MariaDB    ``JSON`` (``LONGTEXT`` + check)  LONGTEXT
SQLite     ``TEXT`` (JSON text)             TEXT
========== ================================ ===========================================

Accepted: ``dict`` (string keys), ``list``/``tuple`` (read back as lists), ``str``, ``int``
within the signed 64-bit range, finite ``float``, ``bool``, and ``None`` *inside* a document
(JSON ``null``).  Refused with :class:`tidb_compat.PortableValueError`, the same on every
backend and before any SQL is sent: NaN and infinities, ``\\u0000`` in strings or keys
(PostgreSQL JSONB cannot store it), lone surrogates, integers outside
[-2**63, 2**63-1], nesting deeper than :data:`MAX_JSON_DEPTH`, non-string keys, any other
Python type (``Decimal``, ``datetime``, ``set``...), and documents larger than
:data:`MAX_JSON_BYTES` encoded.

SQL ``NULL`` vs JSON ``null``: a Python ``None`` as the whole value is SQL ``NULL`` on every
backend (a top-level JSON ``null`` cannot be stored); ``None`` inside a document is JSON
``null`` and round-trips.  Reading SQL ``NULL`` (or a top-level JSON ``null`` written by
another program) gives ``None``.

Floats round-trip exactly as Python floats: every float is written in a form each server
keeps as a float (``1e16`` is written ``10000000000000000.0``, which PostgreSQL's numeric
JSON would otherwise turn into an integer); ``-0.0`` is written as ``0.0`` everywhere
(PostgreSQL has no negative zero in JSON).

Codec: when `orjson <https://pypi.org/project/orjson/>`_ is installed (the ``orjson``
extra), it encodes documents without floats of magnitude ``>= 1e16`` or ``< 1e-4`` (those
keep the standard library's spelling) and decodes text results; the stored text, the values
read back and every refusal are the same as with the standard library's :mod:`json`.
``TIDB_COMPAT_JSON=stdlib`` in the environment forces the standard library.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import types
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from ._base import PortableTypeMixin

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "JSON_CODEC_ENV",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "PortableJSON",
    "decode_json",
    "encode_json",
    "json_codec",
    "set_json_codec",
]

MAX_JSON_DEPTH: Final = 30
"""The most arrays/objects nested in one another: MariaDB 10.11 accepts 31 and refuses 32,
MySQL and TiDB refuse more than 100; 30 keeps a margin."""

MAX_JSON_BYTES: Final = 4 * 1024 * 1024
"""The largest encoded document accepted (UTF-8 bytes).  TiDB refuses rows larger than
``txn-entry-size-limit`` (6 MiB by default); 4 MiB leaves room for the rest of the row."""

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

_SCALARS: Final = (str, int, float, bool, type(None))

JSON_CODEC_ENV: Final = "TIDB_COMPAT_JSON"
"""Environment variable: ``stdlib`` forces the standard library's :mod:`json` even when
orjson is installed (read at import; :func:`set_json_codec` changes it at run time)."""

_SMALL_FLOAT: Final = 1e-4
"""Below this magnitude Python writes floats in exponent form (``1e-05``) and orjson does
not (``0.00001``): such documents are encoded by the standard library."""

_LONG_DIGITS: Final = re.compile(r"[0-9]{19}")
"""A run of 19+ digits may be an integer outside the signed 64-bit range, which orjson
would read as a float: such text is decoded by the standard library (exact integers)."""

_STDLIB_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
"""What ``json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)`` uses,
made once rather than per call."""

_orjson_dumps: Callable[[Any], bytes] | None = None
_orjson_loads: Callable[[str], Any] | None = None


def _load_orjson() -> Any:
    try:
        return importlib.import_module("orjson")
    except ImportError:
        return None


def set_json_codec(name: str | None) -> str:
    """Choose the JSON codec: ``"orjson"`` (an ``ImportError`` when it is not installed),
    ``"stdlib"``, or ``None`` for the default (orjson when installed, unless
    ``TIDB_COMPAT_JSON=stdlib``).  Takes effect at once, for existing engines too; returns
    the codec that was in use.  The stored text and the values read back are the same
    either way: this is a speed choice (tests and benchmarks switch it)."""
    global _orjson_dumps, _orjson_loads
    previous = json_codec()
    if name is None:
        name = "stdlib" if os.environ.get(JSON_CODEC_ENV, "").strip().lower() == "stdlib" else "orjson"
        module = _load_orjson() if name == "orjson" else None
    elif name == "orjson":
        module = _load_orjson()
        if module is None:
            raise ImportError("orjson is not installed (pip install 'tidb-compat[orjson]')")
    elif name == "stdlib":
        module = None
    else:
        raise ValueError(f"unknown JSON codec {name!r}: use 'orjson' or 'stdlib'")
    _orjson_dumps = module.dumps if module is not None else None
    _orjson_loads = module.loads if module is not None else None
    return previous


def json_codec() -> str:
    """The codec in use: ``"orjson"`` or ``"stdlib"``."""
    return "orjson" if _orjson_dumps is not None else "stdlib"


set_json_codec(None)


class _Refusal(Exception):
    """Internal: carries a refusal message up to the type, which names its column."""


def _float_text(value: float) -> str:
    if value == 0.0:
        return "0.0"  # also for -0.0
    text = repr(value)
    if "e" in text and "e-" not in text:  # 1e+16, 1.5e+300: spell out, keep the point
        text = format(Decimal(text), "f") + ".0"
    return text


def _normalise(value: Any, depth: int, big_floats: list[bool]) -> Any:
    """Check ``value`` and return it with tuples as lists; flag floats needing spelling out
    (``big_floats[0]``) and floats orjson would spell differently (``big_floats[1]``).

    Scalars must be exactly ``str``, ``int``, ``float`` or ``bool``: subclasses (enums,
    SQLAlchemy's ``JSON.NULL`` symbol) would not come back as they went in.  ``dict`` and
    ``list`` subclasses (``MutableDict``) are read back as plain dicts and lists.
    """
    kind = type(value)
    if kind is str:
        if "\x00" in value:
            raise _Refusal("strings may not contain \\u0000 (PostgreSQL JSONB cannot store it)")
        return value
    if value is None or kind is bool:
        return value
    if kind is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise _Refusal(f"integer {value} is outside the signed 64-bit range")
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _Refusal(f"{value!r} is not a JSON number")
        if value == 0.0:
            return 0.0
        magnitude = abs(value)
        if magnitude >= 1e16:
            big_floats[0] = True
        elif magnitude < _SMALL_FLOAT:
            big_floats[1] = True
        return value
    if isinstance(value, (dict, list, tuple)):
        if depth >= MAX_JSON_DEPTH:
            raise _Refusal(f"nesting deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if type(key) is not str:
                    raise _Refusal(f"object keys must be strings, got {type(key).__name__} {key!r}")
                if "\x00" in key:
                    raise _Refusal("object keys may not contain \\u0000")
                out[key] = _normalise(item, depth + 1, big_floats)
            return out
        return [_normalise(item, depth + 1, big_floats) for item in value]
    raise _Refusal(f"{kind.__name__} is not JSON-representable (use str, int, float, bool, list, dict)")


class _Unsure(Exception):
    """Internal: the quick check cannot accept a document as it is (see :func:`_quick_check`)."""


def _quick_check(value: Any, depth: int, small_floats: list[bool]) -> None:
    """Accept, without copying it, a document the encoders can take as it is: dicts with
    ``str`` keys, lists and tuples, and valid scalars of the exact types, with no float that
    needs spelling out (``>= 1e16``) or normalising (``-0.0``).  Anything else raises
    :class:`_Unsure`, and :func:`_normalise` then refuses it (with its messages) or normalises
    it: refusals always come from there.  Flags floats orjson would spell differently."""
    kind = type(value)
    if kind is str:
        if "\x00" in value:
            raise _Unsure
        return
    if value is None or kind is bool:
        return
    if kind is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise _Unsure
        return
    if kind is float:
        magnitude = abs(value)
        if not _SMALL_FLOAT <= magnitude < 1e16:  # also NaN and infinities
            if value != 0.0 and magnitude < _SMALL_FLOAT:
                small_floats[0] = True
            elif value != 0.0 or math.copysign(1.0, value) < 0:
                raise _Unsure
        return
    if isinstance(value, dict):
        if depth >= MAX_JSON_DEPTH:
            raise _Unsure
        for key in value:
            if type(key) is not str or "\x00" in key:
                raise _Unsure
        _quick_check_items(value.values(), depth, small_floats)
        return
    if isinstance(value, (list, tuple)):
        if depth >= MAX_JSON_DEPTH:
            raise _Unsure
        _quick_check_items(value, depth, small_floats)
        return
    raise _Unsure


def _quick_check_items(items: Any, depth: int, small_floats: list[bool]) -> None:
    """:func:`_quick_check` for the members of a container: common scalars inline, the rest
    recursively."""
    for item in items:
        item_kind = type(item)
        if item_kind is str:
            if "\x00" not in item:
                continue
        elif item_kind is int:
            if INT64_MIN <= item <= INT64_MAX:
                continue
        elif item is None or item_kind is bool:
            continue
        _quick_check(item, depth + 1, small_floats)


def _encode_slow(value: Any) -> str:
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _encode_slow(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode_slow(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def encode_json(value: Any) -> str:
    """Validate and encode a document the way every backend stores it (raises ``ValueError``
    subclasses via the types; used directly by tests and by PortableArray)."""
    big_floats = [False, False]
    try:
        small_floats = [False]
        _quick_check(value, 0, small_floats)  # the common case: no copy needed
        normalised, big_floats[1] = value, small_floats[0]
    except _Unsure:
        normalised = _normalise(value, 0, big_floats)
    dumps = _orjson_dumps
    if big_floats[0]:
        text = _encode_slow(normalised)
    else:
        if dumps is not None and not big_floats[1]:
            try:
                encoded = dumps(normalised)
            except TypeError:
                # orjson refuses lone surrogates itself: the standard library's path below
                # gives the same refusal, with the same message.
                pass
            else:
                if len(encoded) > MAX_JSON_BYTES:
                    raise _Refusal(f"document is {len(encoded)} bytes encoded; the limit is {MAX_JSON_BYTES}")
                return encoded.decode("utf-8")
        text = _STDLIB_ENCODER.encode(normalised)
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _Refusal("strings may not contain lone surrogates (not valid UTF-8)") from None
    if size > MAX_JSON_BYTES:
        raise _Refusal(f"document is {size} bytes encoded; the limit is {MAX_JSON_BYTES}")
    return text


def json_storage(dialect: Dialect) -> types.TypeEngine[Any]:
    """The column type that holds JSON text/binary on ``dialect``."""
    if dialect.name == "postgresql":
        return dialect.type_descriptor(postgresql.JSONB())
    if dialect.name == "mysql":
        return dialect.type_descriptor(mysql.JSON())
    if dialect.name == "sqlite":
        # TEXT affinity: a column declared JSON has NUMERIC affinity in SQLite, which turns the
        # top-level document '0.0' into the integer 0.
        return dialect.type_descriptor(types.Text())
    return dialect.type_descriptor(types.JSON())


def json_bind_wrapper(dialect: Dialect) -> Any:
    """How an encoded document is handed to the driver: psycopg 3 needs a ``Jsonb`` wrapper
    (whose ``dumps`` is the identity: the text is already encoded)."""
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        from psycopg.types.json import Jsonb

        def wrap(text: str) -> Any:
            return Jsonb(text, dumps=_identity)

        return wrap
    return None


def decode_json(text: str) -> Any:
    """Parse stored JSON text (orjson when in use; the standard library for what orjson reads
    differently: integers outside 64 bits, ``NaN``, escaped lone surrogates)."""
    loads = _orjson_loads
    if loads is not None and _LONG_DIGITS.search(text) is None:
        try:
            return loads(text)
        except ValueError:  # orjson.JSONDecodeError: let the standard library decide
            pass
    return json.loads(text)


def json_result_decoder(dialect: Dialect) -> Any:
    """How a stored document comes back: psycopg parses JSONB itself; others give text."""
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return None
    return decode_json


def _identity(text: str) -> str:
    return text


def sql_string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class PortableJSON(PortableTypeMixin, types.TypeDecorator[Any]):
    """A JSON document column with one behaviour on every backend (see the module docs).

    Query helpers (``column.contains(candidate)``, ``column.path_text(*path)``) compile per
    dialect with PostgreSQL's semantics; see :mod:`tidb_compat.types.query`.
    """

    impl = types.JSON
    cache_ok = True

    class Comparator(types.TypeDecorator.Comparator[Any]):
        def contains(self, other: Any, **kw: Any) -> ColumnElement[bool]:
            """True where the document contains ``other`` (PostgreSQL ``@>`` semantics)."""
            from .query import json_contains

            return json_contains(self.expr, other)

        def path_text(self, *path: str | int) -> ColumnElement[str]:
            """The scalar at ``path`` as text (PostgreSQL ``#>>`` semantics for scalars)."""
            from .query import json_path_text

            return json_path_text(self.expr, *path)

    comparator_factory = Comparator

    @property
    def python_type(self) -> type[Any]:
        return object

    def load_dialect_impl(self, dialect: Dialect) -> types.TypeEngine[Any]:
        return json_storage(dialect)

    def coerce_compared_value(self, op: Any, value: Any) -> types.TypeEngine[Any]:
        return self

    def encode(self, value: Any) -> str:
        """Validate and encode ``value`` (refusals name the column)."""
        try:
            return encode_json(value)
        except _Refusal as refusal:
            self.refuse(str(refusal))

    def bind_processor(self, dialect: Dialect) -> Any:
        wrap = json_bind_wrapper(dialect)
        encode = self.encode
        process = self.process_bind_param

        def processor(value: Any) -> Any:
            value = process(value, dialect)
            if value is None:
                return None
            text = encode(value)
            return wrap(text) if wrap is not None else text

        return processor

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Hook for subclasses: adjust a value before it is validated and encoded."""
        return value

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        decode = json_result_decoder(dialect)
        if decode is None:
            return None

        def processor(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, (bytes, bytearray)):
                value = value.decode("utf-8")
            return decode(value) if isinstance(value, str) else value

        return processor

    def literal_processor(self, dialect: Dialect) -> Any:
        """Offline SQL (``literal_binds``): the encoded document as a string literal."""
        encode = self.encode

        def processor(value: Any) -> str:
            return "NULL" if value is None else sql_string_literal(encode(value))

        return processor
