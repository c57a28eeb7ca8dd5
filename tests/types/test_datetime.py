"""UTCDateTime and utcnow() on the session's backend (sync and async)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from tidb_compat import UTCDateTime, get_backend, utcnow

from .helpers import AsyncRunner, aware_datetimes, count_rows, expect_refusal

UTC = dt.UTC


@pytest.fixture(scope="module")
def table(engine: sa.Engine) -> Iterator[sa.Table]:
    md = sa.MetaData()
    t = sa.Table(
        "tc_utcdatetime",
        md,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", UTCDateTime()),
        sa.Column("created", UTCDateTime(), server_default=utcnow(), nullable=False),
    )
    md.drop_all(engine)
    md.create_all(engine)
    yield t
    md.drop_all(engine)


@given(value=aware_datetimes)
def test_round_trip_is_the_same_instant_in_utc(engine: sa.Engine, table: sa.Table, value: dt.datetime) -> None:
    with engine.begin() as connection:
        connection.execute(table.delete())
        connection.execute(table.insert(), [{"id": 1, "at": value}])
        got = connection.execute(sa.select(table.c.at)).scalar_one()
    assert got == value
    assert got.tzinfo is UTC
    assert got.microsecond == value.microsecond


@given(value=aware_datetimes)
def test_async_round_trip(aio: AsyncRunner, table: sa.Table, value: dt.datetime) -> None:
    async def run() -> dt.datetime:
        async with aio.engine.begin() as connection:
            await connection.execute(table.delete())
            await connection.execute(table.insert(), [{"id": 2, "at": value}])
            return (await connection.execute(sa.select(table.c.at))).scalar_one()  # type: ignore[no-any-return]

    got = aio.run(run)
    assert got == value
    assert got.tzinfo is UTC


@given(values=st.lists(aware_datetimes, min_size=2, max_size=6, unique_by=lambda d: d.astimezone(UTC)))
def test_order_by_and_comparisons_are_chronological(engine: sa.Engine, table: sa.Table,
                                                    values: list[dt.datetime]) -> None:
    pivot = values[0]
    with engine.begin() as connection:
        connection.execute(table.delete())
        connection.execute(table.insert(), [{"id": i, "at": v} for i, v in enumerate(values)])
        ordered = connection.execute(sa.select(table.c.at).order_by(table.c.at)).scalars().all()
        later = connection.execute(sa.select(table.c.id).where(table.c.at > pivot)).scalars().all()
    assert ordered == sorted(values)
    assert sorted(later) == sorted(i for i, v in enumerate(values) if v > pivot)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (dt.datetime(2024, 1, 1, 12, 0), "naive datetime"),
        (dt.date(2024, 1, 1), "expected a timezone-aware datetime"),
        ("2024-01-01T00:00:00+00:00", "expected a timezone-aware datetime"),
        (dt.datetime(999, 12, 31, tzinfo=UTC), "outside years 1000-9999"),
        (dt.datetime(1000, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))), "outside years 1000-9999"),
        (dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))), "outside years 1000-9999"),
    ],
)
def test_refused_everywhere_naming_the_column(engine: sa.Engine, table: sa.Table, value: object, message: str) -> None:
    error = expect_refusal(engine, table, {"id": 3, "at": value}, "at")
    assert message in str(error)


def test_refused_in_a_where_clause_too(engine: sa.Engine, table: sa.Table) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), engine.connect() as connection:
        connection.execute(sa.select(table.c.id).where(table.c.at > dt.datetime(2024, 1, 1)))


def test_server_default_utcnow(engine: sa.Engine, table: sa.Table, backend_name: str) -> None:
    before = dt.datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(table.delete())
        connection.execute(table.insert(), [{"id": 4}])
        created = connection.execute(sa.select(table.c.created)).scalar_one()
        now = connection.execute(sa.select(utcnow())).scalar_one()
    after = dt.datetime.now(UTC)
    assert created.tzinfo is UTC
    assert now.tzinfo is UTC
    # SQLite's clock has milliseconds; the servers' have microseconds.  Allow clock skew of a
    # second between this process and the server (same machine).
    slack = dt.timedelta(seconds=1)
    assert before - slack <= created <= after + slack
    assert before - slack <= now <= after + slack
    if backend_name == "sqlite":
        assert created.microsecond % 1000 == 0


def test_storage_per_backend(engine: sa.Engine, table: sa.Table) -> None:
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns(table.name)}
    backend = get_backend(engine)
    type_sql = str(columns["at"]["type"]).upper()
    if backend.vendor == "postgresql":
        assert type_sql.startswith("TIMESTAMP") and columns["at"]["type"].timezone
    elif backend.vendor == "sqlite":
        assert type_sql == "VARCHAR(26)"
    else:
        assert type_sql == "DATETIME(FSP=6)" or "DATETIME" in type_sql
        assert getattr(columns["at"]["type"], "fsp", None) == 6
    assert count_rows(engine, table) >= 0
