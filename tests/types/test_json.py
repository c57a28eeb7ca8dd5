"""PortableJSON on the session's backend: round trips, refusals, NULLs, mutation tracking."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tidb_compat import PortableJSON
from tidb_compat.types.json import MAX_JSON_BYTES, MAX_JSON_DEPTH

from .helpers import AsyncRunner, assert_same, expect_refusal, json_documents


@pytest.fixture(scope="module")
def table(engine: sa.Engine) -> Iterator[sa.Table]:
    md = sa.MetaData()
    t = sa.Table(
        "tc_json",
        md,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("doc", PortableJSON()),
    )
    md.drop_all(engine)
    md.create_all(engine)
    yield t
    md.drop_all(engine)


def _round_trip(engine: sa.Engine, table: sa.Table, value: Any) -> Any:
    with engine.begin() as connection:
        connection.execute(table.delete())
        connection.execute(table.insert(), [{"id": 1, "doc": value}])
        return connection.execute(sa.select(table.c.doc)).scalar_one()


@given(value=json_documents)
def test_round_trip_is_exact(engine: sa.Engine, table: sa.Table, value: Any) -> None:
    assert_same(_round_trip(engine, table, value), value)


@given(value=json_documents)
def test_async_round_trip_is_exact(aio: AsyncRunner, table: sa.Table, value: Any) -> None:
    async def run() -> Any:
        async with aio.engine.begin() as connection:
            await connection.execute(table.delete())
            await connection.execute(table.insert(), [{"id": 2, "doc": value}])
            return (await connection.execute(sa.select(table.c.doc))).scalar_one()

    assert_same(aio.run(run), value)


@pytest.mark.parametrize(
    "value",
    [
        1e16, -1.5e300, 5e-324, 0.1, 2.0, 123456789012345.67, 2**63 - 1, -(2**63), True, False, "",
        "emoji 😀 \u200d zero-width, RTL עברית, combining e\u0301", {"": None, "nested": [[], {}]},
        [1, 1.0, True, "1", None],
    ],
)
def test_round_trip_edge_values(engine: sa.Engine, table: sa.Table, value: Any) -> None:
    assert_same(_round_trip(engine, table, value), value)


def test_negative_zero_is_stored_as_zero(engine: sa.Engine, table: sa.Table) -> None:
    got = _round_trip(engine, table, {"z": -0.0})
    assert_same(got, {"z": 0.0})
    assert math.copysign(1.0, got["z"]) == 1.0


def test_none_is_sql_null_and_inner_none_is_json_null(engine: sa.Engine, table: sa.Table) -> None:
    with engine.begin() as connection:
        connection.execute(table.delete())
        connection.execute(table.insert(), [{"id": 1, "doc": None}, {"id": 2, "doc": {"k": None}}])
        connection.execute(table.insert(), [{"id": 3}])
        nulls = connection.execute(sa.select(table.c.id).where(table.c.doc.is_(None)).order_by(table.c.id))
        assert nulls.scalars().all() == [1, 3]
        rows = {row.id: row.doc for row in connection.execute(sa.select(table.c.id, table.c.doc))}
    assert rows == {1: None, 2: {"k": None}, 3: None}


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


class _Thing:
    pass


class _Color(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "is not a JSON number"),
        ({"x": math.inf}, "is not a JSON number"),
        ([-math.inf], "is not a JSON number"),
        ("a\x00b", "\\u0000"),
        ({"k\x00": 1}, "keys may not contain"),
        ({"k": 2**63}, "outside the signed 64-bit range"),
        ([-(2**63) - 1], "outside the signed 64-bit range"),
        (_deep(MAX_JSON_DEPTH + 1), f"nesting deeper than {MAX_JSON_DEPTH}"),
        ({1: "x"}, "keys must be strings"),
        ({("a",): 1}, "keys must be strings"),
        ({"d": Decimal("1.5")}, "Decimal is not JSON-representable"),
        ({1, 2}, "set is not JSON-representable"),
        (b"bytes", "bytes is not JSON-representable"),
        (_Thing(), "_Thing is not JSON-representable"),
        ("lone \ud800 surrogate", "lone surrogates"),
        ("x" * (MAX_JSON_BYTES + 1), f"the limit is {MAX_JSON_BYTES}"),
        (sa.JSON.NULL, "symbol is not JSON-representable"),
        ({"e": _Color.RED}, "_Color is not JSON-representable"),
    ],
)
def test_refused_everywhere_naming_the_column(engine: sa.Engine, table: sa.Table, value: Any, message: str) -> None:
    error = expect_refusal(engine, table, {"id": 5, "doc": value}, "doc")
    assert message in str(error)


def test_deepest_allowed_nesting_round_trips(engine: sa.Engine, table: sa.Table) -> None:
    value = _deep(MAX_JSON_DEPTH)
    assert_same(_round_trip(engine, table, value), value)


def test_largest_allowed_document_round_trips(engine: sa.Engine, table: sa.Table, backend_name: str) -> None:
    value = "é" * ((MAX_JSON_BYTES - 2) // 2)  # 2 bytes each in UTF-8, plus the quotes
    assert_same(_round_trip(engine, table, value), value)


class Base(DeclarativeBase):
    pass


class Settings(Base):
    __tablename__ = "tc_json_mutable"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    prefs: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(PortableJSON()))
    history: Mapped[list[Any]] = mapped_column(MutableList.as_mutable(PortableJSON()))


@pytest.fixture
def mutable_tables(engine: sa.Engine) -> Iterator[None]:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield
    Base.metadata.drop_all(engine)


def test_in_place_changes_are_saved(engine: sa.Engine, mutable_tables: None) -> None:
    with Session(engine) as session:
        session.add(Settings(id=1, prefs={"theme": "dark"}, history=[1]))
        session.commit()
    with Session(engine) as session:
        row = session.get_one(Settings, 1)
        row.prefs["theme"] = "light"
        row.prefs["font"] = 12
        row.history.append({"v": 2})
        session.commit()
    with Session(engine) as session:
        row = session.get_one(Settings, 1)
        assert_same(dict(row.prefs), {"theme": "light", "font": 12})
        assert_same(list(row.history), [1, {"v": 2}])
