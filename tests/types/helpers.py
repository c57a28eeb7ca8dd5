"""Helpers for the type tests: strict equality and refusal checks."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from hypothesis import strategies as st

import tidb_compat
from tidb_compat import PortableValueError

T = TypeVar("T")

INT64 = (-(2**63), 2**63 - 1)


def assert_same(got: Any, expected: Any) -> None:
    """Equal and of the same types all the way down (1.0 is not 1, True is not 1)."""
    if isinstance(expected, tuple):
        expected = list(expected)
    assert type(got) is type(expected), (got, expected)
    if isinstance(expected, dict):
        assert list(got) == list(expected) or set(got) == set(expected), (got, expected)
        for key in expected:
            assert_same(got[key], expected[key])
    elif isinstance(expected, list):
        assert len(got) == len(expected), (got, expected)
        for a, b in zip(got, expected, strict=True):
            assert_same(a, b)
    else:
        assert got == expected, (got, expected)


def refused(exc: BaseException) -> PortableValueError:
    """The PortableValueError behind ``exc`` (SQLAlchemy may wrap it in StatementError)."""
    if isinstance(exc, PortableValueError):
        return exc
    if isinstance(exc, sa.exc.StatementError) and isinstance(exc.orig, PortableValueError):
        return exc.orig
    raise AssertionError(f"expected a PortableValueError, got {type(exc).__name__}: {exc}")


json_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(*INT64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4),
    max_leaves=12,
)
json_documents = json_values.filter(lambda v: v is not None)

offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=dt.datetime(1000, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=offsets
)


class AsyncRunner:
    """One event loop and one async engine for a whole test module."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = tidb_compat.create_async_engine(url)

    def run(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return self.loop.run_until_complete(factory())

    def close(self) -> None:
        self.loop.run_until_complete(self.engine.dispose())
        self.loop.close()


def async_runner(url: str) -> Iterator[AsyncRunner]:
    runner = AsyncRunner(url)
    try:
        yield runner
    finally:
        runner.close()


def count_rows(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def expect_refusal(engine: sa.Engine, table: sa.Table, row: dict[str, Any], column: str) -> PortableValueError:
    """Insert ``row`` (after a good row in the same transaction); it must be refused naming
    ``column`` and leave nothing behind."""
    before = count_rows(engine, table)
    try:
        with engine.begin() as connection:
            connection.execute(table.insert(), [{"id": 10_000_000}])
            connection.execute(table.insert(), [row])
    except Exception as exc:
        error = refused(exc)
    else:
        raise AssertionError(f"{row!r} was not refused")
    assert error.column == f"{table.name}.{column}", error
    assert count_rows(engine, table) == before
    return error
