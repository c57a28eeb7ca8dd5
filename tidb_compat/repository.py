"""A small, typed repository layer: CRUD, keyset pagination and bulk inserts, sync and async.

Each method is one unit of work (its own session and transaction, retried on the errors the
backend classifies as retryable: write conflicts, deadlocks, a connection lost before COMMIT),
and returns detached objects (``expire_on_commit=False``).  Subclasses add domain queries
with :meth:`Repository.find` / :meth:`Repository.list` criteria.

Keyset pagination orders by ``order_by`` columns (the primary key by default) and continues
``after`` the tuple of the last item's values: stable and complete under concurrent inserts,
and an index range scan on every backend (no ``OFFSET``).

Bulk inserts batch: objects whose key exists when they are built
(:func:`tidb_compat.orm.client_generated_keys`) are inserted in chunks of :data:`BULK_CHUNK`
as one multi-row INSERT per chunk, even without ``RETURNING`` (TiDB, MySQL).  Objects that carry
no related objects go in as ORM bulk INSERTs of their column values (no unit-of-work
bookkeeping per object; they stay transient); the others are flushed through the Session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["BULK_CHUNK", "AsyncRepository", "Page", "Repository"]

M = TypeVar("M")
T = TypeVar("T")

BULK_CHUNK: Final = 1000
"""Objects flushed per INSERT batch by ``bulk_create``."""


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of a keyset listing; pass ``next_after`` to get the next page."""

    items: list[M]
    next_after: tuple[Any, ...] | None


class _Base(Generic[M]):
    model: type[M]
    order_by: tuple[str, ...] = ()
    """Attribute names to order listings by (the primary key when empty); the primary key is
    appended to make the order total."""

    def __init__(self, model: type[M] | None = None) -> None:
        if model is not None:
            self.model = model
        if not hasattr(self, "model"):
            raise TypeError(f"{type(self).__name__} needs a model (class attribute or argument)")
        mapper = sa.inspect(self.model)
        self._pk = list(mapper.primary_key)

    def _bulk_rows(self, objects: list[M]) -> list[dict[str, Any]] | None:
        """Column values of ``objects`` for an ORM bulk INSERT, or ``None`` when one of them
        carries related objects (then the Session's flush must handle it)."""
        mapper = sa.inspect(self.model)
        columns = [attr.key for attr in mapper.column_attrs]
        relationships = [rel.key for rel in mapper.relationships]
        rows: list[dict[str, Any]] = []
        for obj in objects:
            values = sa.inspect(obj).dict
            if any(values.get(key) for key in relationships):
                return None
            rows.append({key: values[key] for key in columns if key in values})
        return rows

    def _order_columns(self, order_by: Sequence[str] | None) -> list[Any]:
        names = list(order_by if order_by is not None else self.order_by)
        columns = [getattr(self.model, name) for name in names]
        for pk in self._pk:
            if not any(getattr(c, "key", None) == pk.key for c in columns):
                columns.append(getattr(self.model, pk.key))
        return columns

    def _list_statement(
        self, criteria: Sequence[Any], after: tuple[Any, ...] | None, limit: int, order_by: Sequence[str] | None
    ) -> tuple[sa.Select[Any], list[Any]]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        columns = self._order_columns(order_by)
        statement = sa.select(self.model).where(*criteria).order_by(*columns).limit(limit + 1)
        if after is not None:
            if len(after) != len(columns):
                raise ValueError(f"after must hold {len(columns)} values (the order columns)")
            statement = statement.where(sa.tuple_(*columns) > sa.tuple_(*after))
        return statement, columns

    @staticmethod
    def _page(rows: list[M], columns: list[Any], limit: int) -> Page[M]:
        if len(rows) <= limit:
            return Page(rows, None)
        items = rows[:limit]
        last = items[-1]
        return Page(items, tuple(getattr(last, column.key) for column in columns))


class Repository(_Base[M]):
    """Synchronous repository over a ``sessionmaker``; reads use ``read_sessions`` when given
    (an autocommit engine: one round trip per point read, see
    :attr:`tidb_compat.service.ServiceDatabase.read_engine`)."""

    def __init__(self, sessions: sessionmaker[Session], model: type[M] | None = None, *,
                 read_sessions: sessionmaker[Session] | None = None) -> None:
        super().__init__(model)
        self.sessions = sessions
        self.read_sessions = read_sessions or sessions

    def transaction(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a session and transaction, retried on retryable errors."""
        from .retry import run_transaction

        return run_transaction(self.sessions, fn)

    def add(self, obj: M) -> M:
        def work(session: Session) -> M:
            session.add(obj)
            return obj

        return self.transaction(work)

    def create(self, **values: Any) -> M:
        return self.add(self.model(**values))

    def bulk_create(self, objects: Iterable[M]) -> int:
        """Insert many objects, :data:`BULK_CHUNK` per INSERT batch, in one transaction;
        returns the count (see the module docs)."""
        batch = list(objects)
        rows = self._bulk_rows(batch)

        def work(session: Session) -> int:
            for start in range(0, len(batch), BULK_CHUNK):
                if rows is not None:
                    session.execute(sa.insert(self.model), rows[start : start + BULK_CHUNK])
                else:
                    session.add_all(batch[start : start + BULK_CHUNK])
                    session.flush()
            return len(batch)

        return self.transaction(work)

    def get(self, key: Any) -> M | None:
        with self.read_sessions() as session:
            return session.get(self.model, key)

    def find(self, *criteria: Any, limit: int | None = None) -> list[M]:
        statement = sa.select(self.model).where(*criteria).order_by(*self._order_columns(None))
        if limit is not None:
            statement = statement.limit(limit)
        with self.read_sessions() as session:
            return list(session.scalars(statement))

    def count(self, *criteria: Any) -> int:
        statement = sa.select(sa.func.count()).select_from(self.model).where(*criteria)
        with self.read_sessions() as session:
            return int(session.scalar(statement) or 0)

    def list(self, *criteria: Any, after: tuple[Any, ...] | None = None, limit: int = 50,
             order_by: Sequence[str] | None = None) -> Page[M]:
        statement, columns = self._list_statement(criteria, after, limit, order_by)
        with self.read_sessions() as session:
            return self._page(list(session.scalars(statement)), columns, limit)

    def update(self, key: Any, **values: Any) -> M | None:
        def work(session: Session) -> M | None:
            obj = session.get(self.model, key)
            if obj is None:
                return None
            for name, value in values.items():
                setattr(obj, name, value)
            return obj

        return self.transaction(work)

    def delete(self, key: Any) -> bool:
        def work(session: Session) -> bool:
            obj = session.get(self.model, key)
            if obj is None:
                return False
            session.delete(obj)
            return True

        return self.transaction(work)


class AsyncRepository(_Base[M]):
    """Asynchronous repository over an ``async_sessionmaker`` (reads: ``read_sessions``)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], model: type[M] | None = None, *,
                 read_sessions: async_sessionmaker[AsyncSession] | None = None) -> None:
        super().__init__(model)
        self.sessions = sessions
        self.read_sessions = read_sessions or sessions

    async def transaction(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``fn`` in a session and transaction, retried on retryable errors."""
        from .retry import run_transaction_async

        return await run_transaction_async(self.sessions, fn)

    async def add(self, obj: M) -> M:
        async def work(session: AsyncSession) -> M:
            session.add(obj)
            return obj

        return await self.transaction(work)

    async def create(self, **values: Any) -> M:
        return await self.add(self.model(**values))

    async def bulk_create(self, objects: Iterable[M]) -> int:
        batch = list(objects)
        rows = self._bulk_rows(batch)

        async def work(session: AsyncSession) -> int:
            for start in range(0, len(batch), BULK_CHUNK):
                if rows is not None:
                    await session.execute(sa.insert(self.model), rows[start : start + BULK_CHUNK])
                else:
                    session.add_all(batch[start : start + BULK_CHUNK])
                    await session.flush()
            return len(batch)

        return await self.transaction(work)

    async def get(self, key: Any) -> M | None:
        async with self.read_sessions() as session:
            return await session.get(self.model, key)

    async def find(self, *criteria: Any, limit: int | None = None) -> list[M]:
        statement = sa.select(self.model).where(*criteria).order_by(*self._order_columns(None))
        if limit is not None:
            statement = statement.limit(limit)
        async with self.read_sessions() as session:
            return list(await session.scalars(statement))

    async def count(self, *criteria: Any) -> int:
        statement = sa.select(sa.func.count()).select_from(self.model).where(*criteria)
        async with self.read_sessions() as session:
            return int(await session.scalar(statement) or 0)

    async def list(self, *criteria: Any, after: tuple[Any, ...] | None = None, limit: int = 50,
                   order_by: Sequence[str] | None = None) -> Page[M]:
        statement, columns = self._list_statement(criteria, after, limit, order_by)
        async with self.read_sessions() as session:
            return self._page(list(await session.scalars(statement)), columns, limit)

    async def update(self, key: Any, **values: Any) -> M | None:
        async def work(session: AsyncSession) -> M | None:
            obj = await session.get(self.model, key)
            if obj is None:
                return None
            for name, value in values.items():
                setattr(obj, name, value)
            return obj

        return await self.transaction(work)

    async def delete(self, key: Any) -> bool:
        async def work(session: AsyncSession) -> bool:
            obj = await session.get(self.model, key)
            if obj is None:
                return False
            await session.delete(obj)
            return True

        return await self.transaction(work)
