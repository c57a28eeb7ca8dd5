"""PortableArray on the session's backend: round trips per item type, refusals."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.mutable import MutableList
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tidb_compat import PortableArray

from .helpers import INT64, AsyncRunner, assert_same, expect_refusal

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)

COLUMNS: dict[str, tuple[Any, Any]] = {
    "strs": (PortableArray(sa.String(30)), texts),
    "ints": (PortableArray(sa.Integer), st.integers(-(2**31), 2**31 - 1)),
    "bigs": (PortableArray(sa.BigInteger), st.integers(*INT64)),
    "floats": (PortableArray(sa.Float), st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f + 0.0)),
    "bools": (PortableArray(sa.Boolean), st.booleans()),
    "uuids": (PortableArray(sa.Uuid), st.uuids()),
}


@pytest.fixture(scope="module")
def table(engine: sa.Engine) -> Iterator[sa.Table]:
    md = sa.MetaData()
    t = sa.Table(
        "tc_array",
        md,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        *(sa.Column(name, type_) for name, (type_, _) in COLUMNS.items()),
    )
    md.drop_all(engine)
    md.create_all(engine)
    yield t
    md.drop_all(engine)


rows = st.fixed_dictionaries({name: st.lists(strategy, max_size=6) for name, (_, strategy) in COLUMNS.items()})


def _normalised(row: dict[str, Any]) -> dict[str, Any]:
    # -0.0 is stored as 0.0 on every backend
    return {**row, "floats": [0.0 if f == 0.0 else f for f in row["floats"]]}


@given(row=rows)
def test_round_trip(engine: sa.Engine, table: sa.Table, row: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(table.delete())
        connection.execute(table.insert(), [{"id": 1, **row}])
        got = connection.execute(sa.select(*(table.c[name] for name in COLUMNS))).one()._asdict()
    assert_same(got, _normalised(row))


@given(row=rows)
def test_async_round_trip(aio: AsyncRunner, table: sa.Table, row: dict[str, Any]) -> None:
    async def run() -> dict[str, Any]:
        async with aio.engine.begin() as connection:
            await connection.execute(table.delete())
            await connection.execute(table.insert(), [{"id": 2, **row}])
            return (await connection.execute(sa.select(*(table.c[name] for name in COLUMNS)))).one()._asdict()

    assert_same(aio.run(run), _normalised(row))


def test_ints_become_floats_in_a_float_array(engine: sa.Engine, table: sa.Table) -> None:
    with engine.begin() as connection:
        connection.execute(table.delete())
        connection.execute(table.insert(), [{"id": 1, "floats": [1, 2.5, -0.0]}])
        got = connection.execute(sa.select(table.c.floats)).scalar_one()
    assert_same(got, [1.0, 2.5, 0.0])
    assert math.copysign(1.0, got[2]) == 1.0


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("ints", ["1"], "str '1' is not an integer"),
        ("ints", [True], "bool True is not an integer"),
        ("ints", [2**31], "outside"),
        ("bigs", [2**63], "outside"),
        ("ints", [1.0], "float 1.0 is not an integer"),
        ("ints", [None], "None items are not allowed"),
        ("strs", "abc", "expected a list, got str"),
        ("strs", {"a": 1}, "expected a list, got dict"),
        ("strs", [1], "int 1 is not a str"),
        ("strs", ["x" * 31], "longer than 30"),
        ("strs", ["a\x00"], "\\u0000"),
        ("strs", ["\udc80"], "lone surrogates"),
        ("floats", [math.nan], "not a finite number"),
        ("floats", ["1.5"], "str '1.5' is not a number"),
        ("bools", [1], "int 1 is not a bool"),
        ("uuids", [str(uuid.uuid4())], "is not a uuid.UUID"),
    ],
)
def test_refused_everywhere_naming_the_column(engine: sa.Engine, table: sa.Table, column: str, value: Any,
                                              message: str) -> None:
    error = expect_refusal(engine, table, {"id": 9, column: value}, column)
    assert message in str(error)


def test_refused_in_queries_too(engine: sa.Engine, table: sa.Table) -> None:
    from tidb_compat import PortableValueError

    with pytest.raises(PortableValueError, match="str '1' is not an integer"):
        table.c.ints.contains(["1"])
    with pytest.raises(PortableValueError, match="None items"):
        table.c.strs.overlap([None])


class Base(DeclarativeBase):
    pass


class Tagged(Base):
    __tablename__ = "tc_array_mutable"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tags: Mapped[list[str]] = mapped_column(MutableList.as_mutable(PortableArray(sa.String(20))))


def test_in_place_changes_are_saved(engine: sa.Engine) -> None:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            session.add(Tagged(id=1, tags=["a"]))
            session.commit()
        with Session(engine) as session:
            row = session.get_one(Tagged, 1)
            row.tags.append("b")
            session.commit()
        with Session(engine) as session:
            assert list(session.get_one(Tagged, 1).tags) == ["a", "b"]
    finally:
        Base.metadata.drop_all(engine)
