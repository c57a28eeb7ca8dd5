"""Run a transaction again when the database says that running it again may succeed.

TiDB (and any database under contention) aborts transactions that can simply be run again:
write conflicts (TiDB 8002, 8005, 8022, 8028, 9007), deadlocks (1213, PostgreSQL 40P01),
lock wait timeouts (1205), serialization failures (PostgreSQL 40001), region or store
trouble (TiDB 9001, 9002, 9003, 9005), a busy SQLite file.  A connection can also die in the
middle of a transaction (TiDB Serverless drops idle connections; a server restarts; a
proxy times out).  :func:`run_transaction` and :func:`run_transaction_async` run a
function in a transaction, commit when it returns, and on such errors roll back, wait
(exponential backoff with jitter) and run it again.

Which errors are retried is decided by the backend's error module
(``tidb_compat/backends/<vendor>/errors.py``,
:meth:`~tidb_compat.backends.base.errors.BaseErrorClassifier.transaction_outcome`):

======================================= =========================================================
error                                   what happens
======================================= =========================================================
retryable code (deadlock, conflict...)  roll back, back off, run ``fn`` again (also when the
                                        server reports it in answer to COMMIT: it answered,
                                        and it rolled back)
connection lost before COMMIT was sent  the same: nothing was committed
connection lost while COMMIT in flight  :class:`~tidb_compat.CommitOutcomeUnknown`, chained to
                                        the driver error; never retried
connecting failed (server down)         raised at once (retrying within a backoff of
                                        seconds rarely helps; the connect timeout and the
                                        pool timeout bound the wait)
anything else                           raised at once, untouched (constraint violations,
                                        bad SQL, the caller's own exceptions)
======================================= =========================================================

After ``max_attempts`` attempts the last error is raised as it is (with a note saying how
many attempts were made).

Semantics the caller must keep in mind:

- ``fn`` may run several times.  Everything it does inside the transaction is rolled back
  between attempts, so it must be idempotent *within its transaction*: compute from what
  it reads, do not carry state from a failed attempt into the next.
- Side effects outside the database (e-mails, HTTP calls, messages, in-memory caches) are
  the caller's problem: they are not rolled back.  Do them after ``run_transaction``
  returns, or make them idempotent.
- ``fn`` must not commit or roll back itself.
- With a ``sessionmaker``, ORM objects returned by ``fn`` are detached (and expired, unless
  the factory has ``expire_on_commit=False``): return plain values.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar, overload

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from .backends import get_backend
from .backends.base.base import DatabaseBackend
from .backends.base.errors import BaseErrorClassifier
from .backends.binding import binding_for
from .backends.registry import registry
from .errors import CommitOutcomeUnknown, ConfigurationError, TidbCompatError

__all__ = ["OnRetry", "run_transaction", "run_transaction_async"]

T = TypeVar("T")
S = TypeVar("S", bound=Session)
AS = TypeVar("AS", bound=AsyncSession)

OnRetry = Callable[[int, BaseException], None]
"""``on_retry(attempt, error)``: called after attempt ``attempt`` (1-based) failed with a
retryable ``error``, before the backoff sleep and the next attempt.  An exception it
raises ends ``run_transaction`` with that exception."""

logger: Final = logging.getLogger("tidb_compat.retry")

Phase = Literal["connect", "work", "commit"]


@dataclass(frozen=True)
class _Policy:
    max_attempts: int
    initial_backoff: float
    max_backoff: float
    jitter: float

    @classmethod
    def checked(cls, max_attempts: int, initial_backoff: float, max_backoff: float, jitter: float) -> _Policy:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ConfigurationError("max_attempts", f"must be an integer of at least 1, got {max_attempts!r}")
        for name, value in (("initial_backoff", initial_backoff), ("max_backoff", max_backoff)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ConfigurationError(name, f"must be a finite number of seconds >= 0, got {value!r}")
        if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0 <= jitter <= 1:
            raise ConfigurationError("jitter", f"must be between 0 and 1, got {jitter!r}")
        return cls(max_attempts, float(initial_backoff), float(max_backoff), float(jitter))

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt``: doubling from
        ``initial_backoff``, capped at ``max_backoff``, minus up to ``jitter`` of it."""
        base = min(self.max_backoff, self.initial_backoff * 2.0 ** min(attempt - 1, 60))
        return base * (1.0 - self.jitter * random.random())


class _State:
    """Where one attempt is, and who classifies its errors."""

    def __init__(self, errors: BaseErrorClassifier) -> None:
        self.phase: Phase = "connect"
        self.errors = errors

    def learn_backend(self, connection: Connection | AsyncConnection | Session) -> None:
        """Use the probed backend of a live connection (vendor-exact codes)."""
        with contextlib.suppress(Exception):  # classification must never break the transaction
            self.errors = get_backend(connection).errors


def _classifier(engine: Engine | None) -> BaseErrorClassifier:
    """The error classifier for ``engine`` without connecting: the probed backend when the
    engine has connected before, else the generic backend of its family."""
    if engine is None:
        return DatabaseBackend().errors
    backend = binding_for(engine.dialect).backend
    if backend is not None:
        return backend.errors
    family = "mysql" if engine.dialect.name == "mariadb" else engine.dialect.name
    try:
        return registry.generic_for(family)().errors
    except TidbCompatError:
        return DatabaseBackend().errors


def _engine_of(bind: Any) -> Engine | None:
    if isinstance(bind, AsyncEngine):
        return bind.sync_engine
    if isinstance(bind, Engine):
        return bind
    if isinstance(bind, Connection):
        return bind.engine
    if isinstance(bind, AsyncConnection):
        return bind.sync_engine
    if isinstance(bind, (sessionmaker, async_sessionmaker)):
        return _engine_of(bind.kw.get("bind"))
    return None


def _decide(
    exc: BaseException, state: _State, attempt: int, policy: _Policy, on_retry: OnRetry | None
) -> float | BaseException | None:
    """After a failed attempt: a delay (retry), an exception to raise from ``exc``, or
    ``None`` (re-raise ``exc`` untouched)."""
    if not isinstance(exc, Exception) or state.phase == "connect":
        return None
    outcome = state.errors.transaction_outcome(exc, during_commit=state.phase == "commit")
    if outcome == "unknown":
        return CommitOutcomeUnknown(
            "the connection was lost while COMMIT was in flight: the transaction may or may not "
            f"have been committed, and it was not retried ({state.errors.describe(exc)})",
            attempt=attempt,
        )
    if outcome == "fail":
        return None
    if attempt >= policy.max_attempts:
        if attempt > 1:
            exc.add_note(f"tidb_compat.run_transaction: gave up after {attempt} attempts")
        return None
    delay = policy.delay(attempt)
    logger.info(
        "transaction attempt %d of %d failed (%s); retrying in %.3f s",
        attempt, policy.max_attempts, state.errors.describe(exc), delay,
    )
    if on_retry is not None:
        on_retry(attempt, exc)
    return delay


# -- sync ------------------------------------------------------------------------------------


def _rollback_quietly(target: Connection | Session) -> None:
    """Roll back after a failure; a connection that cannot even roll back is invalidated
    (the pool replaces it).  The original error is what the caller sees."""
    try:
        target.rollback()
    except Exception:
        logger.debug("rollback after a failed attempt failed; discarding the connection", exc_info=True)
        try:
            target.invalidate()
        except Exception:
            logger.debug("invalidating the connection failed", exc_info=True)


def _close_quietly(target: Connection | Session) -> None:
    try:
        target.close()
    except Exception:
        logger.debug("closing after an attempt failed", exc_info=True)


def _attempt_engine(engine: Engine, fn: Callable[[Connection], T], state: _State) -> T:
    connection = engine.connect()
    try:
        state.learn_backend(connection)
        state.phase = "work"
        connection.begin()
        result = fn(connection)
        state.phase = "commit"
        connection.commit()
        return result
    except BaseException:
        _rollback_quietly(connection)
        raise
    finally:
        _close_quietly(connection)


def _attempt_session(factory: sessionmaker[S], fn: Callable[[S], T], state: _State) -> T:
    session = factory()
    try:
        try:
            connection = session.connection()  # check a connection out now: "connect" phase
        except sa_exc.UnboundExecutionError:
            pass  # several binds: connections are checked out as fn needs them
        else:
            state.learn_backend(connection)
        state.phase = "work"
        result = fn(session)
        session.flush()  # pending changes are sent before COMMIT, so COMMIT is all that is left
        state.phase = "commit"
        session.commit()
        return result
    except BaseException:
        _rollback_quietly(session)
        raise
    finally:
        _close_quietly(session)


@overload
def run_transaction(
    bind: Engine, fn: Callable[[Connection], T], *, max_attempts: int = ..., initial_backoff: float = ...,
    max_backoff: float = ..., jitter: float = ..., on_retry: OnRetry | None = ...,
) -> T: ...


@overload
def run_transaction(
    bind: sessionmaker[S], fn: Callable[[S], T], *, max_attempts: int = ..., initial_backoff: float = ...,
    max_backoff: float = ..., jitter: float = ..., on_retry: OnRetry | None = ...,
) -> T: ...


def run_transaction(
    bind: Engine | sessionmaker[Any],
    fn: Callable[[Any], T],
    *,
    max_attempts: int = 5,
    initial_backoff: float = 0.05,
    max_backoff: float = 2.0,
    jitter: float = 0.5,
    on_retry: OnRetry | None = None,
) -> T:
    """Run ``fn`` in a transaction, commit, and return its result; run it again on errors
    the backend calls retryable.

    ``bind`` is an :class:`~sqlalchemy.engine.Engine` (``fn`` receives a
    :class:`~sqlalchemy.engine.Connection` inside a transaction) or a
    :class:`~sqlalchemy.orm.sessionmaker` (``fn`` receives a new ``Session`` per attempt).
    The transaction is committed when ``fn`` returns and rolled back when it raises.

    On a retryable error (see the module documentation) the transaction is rolled back,
    ``on_retry(attempt, error)`` is called, and after
    ``min(max_backoff, initial_backoff * 2 ** (attempt - 1))`` seconds, less a random part of
    up to ``jitter`` (0: none, 1: "full jitter"), ``fn`` runs again, at most
    ``max_attempts`` times in all; then the last error is raised.  A connection lost while
    COMMIT was in flight raises :class:`~tidb_compat.CommitOutcomeUnknown` (never
    retried).  Any other error is raised at once, untouched.

    ``fn`` may run several times: it must be idempotent within its transaction, and side
    effects outside the database are the caller's problem.
    """
    policy = _Policy.checked(max_attempts, initial_backoff, max_backoff, jitter)
    if not isinstance(bind, (Engine, sessionmaker)):
        raise ConfigurationError("bind", f"expected an Engine or a sessionmaker, got {type(bind).__name__}")
    attempt = 0
    while True:
        attempt += 1
        state = _State(_classifier(_engine_of(bind)))
        try:
            if isinstance(bind, Engine):
                return _attempt_engine(bind, fn, state)
            return _attempt_session(bind, fn, state)
        except BaseException as exc:
            decision = _decide(exc, state, attempt, policy, on_retry)
            if decision is None:
                raise
            if isinstance(decision, BaseException):
                raise decision from exc
            delay = decision
        time.sleep(delay)


# -- async -----------------------------------------------------------------------------------


async def _rollback_quietly_async(target: AsyncConnection | AsyncSession) -> None:
    try:
        await target.rollback()
    except Exception:
        logger.debug("rollback after a failed attempt failed; discarding the connection", exc_info=True)
        try:
            await target.invalidate()
        except Exception:
            logger.debug("invalidating the connection failed", exc_info=True)


async def _close_quietly_async(target: AsyncConnection | AsyncSession) -> None:
    try:
        await target.close()
    except Exception:
        logger.debug("closing after an attempt failed", exc_info=True)


async def _attempt_engine_async(
    engine: AsyncEngine, fn: Callable[[AsyncConnection], Awaitable[T]], state: _State
) -> T:
    connection = engine.connect()
    await connection.start()
    try:
        state.learn_backend(connection)
        state.phase = "work"
        await connection.begin()
        result = await fn(connection)
        state.phase = "commit"
        await connection.commit()
        return result
    except BaseException:
        await _rollback_quietly_async(connection)
        raise
    finally:
        await _close_quietly_async(connection)


async def _attempt_session_async(
    factory: async_sessionmaker[AS], fn: Callable[[AS], Awaitable[T]], state: _State
) -> T:
    session = factory()
    try:
        try:
            connection = await session.connection()
        except sa_exc.UnboundExecutionError:
            pass
        else:
            state.learn_backend(connection)
        state.phase = "work"
        result = await fn(session)
        await session.flush()
        state.phase = "commit"
        await session.commit()
        return result
    except BaseException:
        await _rollback_quietly_async(session)
        raise
    finally:
        await _close_quietly_async(session)


@overload
async def run_transaction_async(
    bind: AsyncEngine, fn: Callable[[AsyncConnection], Awaitable[T]], *, max_attempts: int = ...,
    initial_backoff: float = ..., max_backoff: float = ..., jitter: float = ..., on_retry: OnRetry | None = ...,
) -> T: ...


@overload
async def run_transaction_async(
    bind: async_sessionmaker[AS], fn: Callable[[AS], Awaitable[T]], *, max_attempts: int = ...,
    initial_backoff: float = ..., max_backoff: float = ..., jitter: float = ..., on_retry: OnRetry | None = ...,
) -> T: ...


async def run_transaction_async(
    bind: AsyncEngine | async_sessionmaker[Any],
    fn: Callable[[Any], Awaitable[T]],
    *,
    max_attempts: int = 5,
    initial_backoff: float = 0.05,
    max_backoff: float = 2.0,
    jitter: float = 0.5,
    on_retry: OnRetry | None = None,
) -> T:
    """:func:`run_transaction` for an :class:`~sqlalchemy.ext.asyncio.AsyncEngine` (``fn``
    receives an ``AsyncConnection``) or an :class:`~sqlalchemy.ext.asyncio.async_sessionmaker`
    (``fn`` receives a new ``AsyncSession`` per attempt); ``fn`` is a coroutine function.
    The backoff is an ``asyncio.sleep``: other tasks run meanwhile."""
    policy = _Policy.checked(max_attempts, initial_backoff, max_backoff, jitter)
    if not isinstance(bind, (AsyncEngine, async_sessionmaker)):
        raise ConfigurationError(
            "bind", f"expected an AsyncEngine or an async_sessionmaker, got {type(bind).__name__}"
        )
    attempt = 0
    while True:
        attempt += 1
        state = _State(_classifier(_engine_of(bind)))
        try:
            if isinstance(bind, AsyncEngine):
                return await _attempt_engine_async(bind, fn, state)
            return await _attempt_session_async(bind, fn, state)
        except BaseException as exc:
            decision = _decide(exc, state, attempt, policy, on_retry)
            if decision is None:
                raise
            if isinstance(decision, BaseException):
                raise decision from exc
            delay = decision
        await asyncio.sleep(delay)
