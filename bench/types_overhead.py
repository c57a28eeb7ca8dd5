"""Section 2: what the portable types cost next to SQLAlchemy's own, on the same engine.

Pairs (one table each, ``id`` + ``v``): PortableJSON vs ``sa.JSON`` (JSONB on PostgreSQL),
UTCDateTime (aware values) vs ``sa.DateTime`` (naive UTC values, ``DATETIME(6)`` on MySQL),
PortableArray(String(40)) vs ``sa.JSON`` holding the same list.  Insert: one
``execute(insert(t), rows)`` in a transaction; select: ``execute(select(t)).all()``.  The
JSON-backed portable types run with orjson (when installed) and with ``TIDB_COMPAT_JSON=stdlib``'s
codec, switched in the same process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

import tidb_compat
from tidb_compat.types.json import json_codec, set_json_codec

from .common import Target, log, measure
from .models import TYPE_PAIRS

BASE_TIME = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def json_value(i: int) -> dict[str, Any]:
    return {"title": f"design doc {i}", "n": i, "score": i / 7 + 0.5, "tags": ["alpha", "beta", f"t{i % 10}"],
            "nested": {"ok": i % 2 == 0, "x": None, "path": [1, 2, {"k": "v"}]}}


def values(kind: str, portable: bool, count: int) -> list[dict[str, Any]]:
    if kind == "json":
        return [{"id": i, "v": json_value(i)} for i in range(count)]
    if kind == "datetime":
        instants = [BASE_TIME + dt.timedelta(seconds=i, microseconds=i) for i in range(count)]
        return [{"id": i, "v": t if portable else t.replace(tzinfo=None)} for i, t in enumerate(instants)]
    return [{"id": i, "v": [f"tag{i % 13}", "design", "review", f"u{i}"]} for i in range(count)]


def _variants(kind: str) -> list[tuple[str, bool, str | None]]:
    """(label, portable, codec) for one pair: JSON-backed portable types under both codecs."""
    orjson_available = _has_orjson()
    portable = {"json": "PortableJSON", "datetime": "UTCDateTime", "array": "PortableArray(String)"}[kind]
    plain = {"json": "sa.JSON", "datetime": "sa.DateTime", "array": "sa.JSON list"}[kind]
    found: list[tuple[str, bool, str | None]] = [(plain, False, None)]
    if kind == "datetime":
        return [*found, (portable, True, None)]
    found.append((f"{portable} (stdlib json)", True, "stdlib"))
    if orjson_available:
        found.append((f"{portable} (orjson)", True, "orjson"))
    return found


def _has_orjson() -> bool:
    previous = json_codec()
    try:
        set_json_codec("orjson")
    except ImportError:
        return False
    finally:
        set_json_codec(previous)
    return True


def _measure_pair(engine: sa.Engine, kind: str, pair: tuple[sa.Table, sa.Table], rows: int, repeats: int,
                  default_codec: str) -> list[dict[str, Any]]:
    portable_table, plain_table = pair
    variants = _variants(kind)
    inputs = {label: values(kind, portable, rows) for label, portable, _ in variants}
    tables = {label: portable_table if portable else plain_table for label, portable, _ in variants}
    codecs = {label: codec for label, _, codec in variants}

    def inserter(label: str) -> Callable[[], None]:
        def insert() -> None:
            with engine.begin() as connection:
                connection.execute(sa.insert(tables[label]), inputs[label])
        return insert

    def selecter(label: str) -> Callable[[], None]:
        def select() -> None:
            with engine.connect() as connection:
                connection.execute(sa.select(tables[label])).all()
        return select

    def use_codec(label: str) -> None:
        set_json_codec(codecs[label] or default_codec)

    def clear(label: str) -> None:
        use_codec(label)
        with engine.begin() as connection:
            connection.execute(sa.delete(tables[label]))

    inserts = measure({label: inserter(label) for label, _, _ in variants}, repeats, clear)
    for label, _, _ in variants:  # fill each table once for the selects
        clear(label)
        inserter(label)()
    selects = measure({label: selecter(label) for label, _, _ in variants}, repeats, use_codec)
    set_json_codec(default_codec)
    for table in pair:
        with engine.begin() as connection:
            connection.execute(sa.delete(table))
    plain = variants[0][0]
    return [
        {"kind": kind, "case": label, "portable": portable, "codec": codec, "rows": rows,
         "insert_s": round(inserts[label], 4), "select_s": round(selects[label], 4),
         "insert_ratio": round(inserts[label] / inserts[plain], 3),
         "select_ratio": round(selects[label] / selects[plain], 3)}
        for label, portable, codec in variants
    ]


def run(found: Target, *, rows: int, repeats: int) -> list[dict[str, Any]]:
    log(f"type overhead on {found.label}")
    engine = tidb_compat.create_engine(found.settings())
    default_codec = json_codec()
    results: list[dict[str, Any]] = []
    try:
        for kind, pair in TYPE_PAIRS.items():
            for row in _measure_pair(engine, kind, pair, rows, repeats, default_codec):
                results.append({"backend": found.backend, **row})
    finally:
        set_json_codec(default_codec)
        engine.dispose()
    return results
