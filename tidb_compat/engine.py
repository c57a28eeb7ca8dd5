"""The engine builder: settings -> backend -> a SQLAlchemy engine set up the same everywhere.

``create_engine`` (PyMySQL / psycopg / pysqlite) and ``create_async_engine`` (aiomysql /
psycopg / aiosqlite) take :class:`~tidb_compat.DatabaseSettings` or a URL and:

- pick the driver and pool defaults of the backend (the vendor named in the settings, TiDB
  for ``*.tidbcloud.com`` hosts, else the generic backend of the URL's family); the
  settings' pool fields and keyword overrides win, in that order;
- resolve TLS (:mod:`tidb_compat.tls`) before anything connects, so a missing CA file is a
  :class:`~tidb_compat.ConfigurationError` from ``create_engine`` itself;
- on every new DBAPI connection: identify the server once per engine (from the driver's
  handshake data) and run the backend's session setup (UTC time zone, strict SQL mode,
  utf8mb4, foreign keys enforced; TiDB refuses a server that does not enforce them);
- translate TLS failures into :class:`~tidb_compat.InsecureTransportError` saying which
  check failed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import create_async_engine as sa_create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

from .backends.base.base import DatabaseBackend
from .backends.binding import EngineBinding, binding_for
from .backends.registry import registry
from .errors import ConfigurationError
from .settings import DatabaseSettings
from .tls import TLSConfig, resolve, translate_connect_error

__all__ = ["EngineSetup", "create_async_engine", "create_engine", "engine_setup", "to_settings"]

_POOL_SIZING = ("pool_size", "max_overflow", "pool_timeout")
_LAST_USED = "tidb_compat.last_used"
_SETTLED = "tidb_compat.settled"
_TIDB_CLOUD_SUFFIX = ".tidbcloud.com"


@dataclass(frozen=True)
class EngineSetup:
    """What the builder decided for one engine (kept on its binding for reports)."""

    settings: DatabaseSettings
    tls: TLSConfig
    pool_backend: str
    """The vendor whose pool defaults were used."""
    ping_after: float | None = None
    """Seconds a pooled connection may sit unused before checkout pings it (``None``: never)."""
    autocommit: bool = False
    """The engine's connections run in autocommit mode (no transaction to roll back)."""
    owns_reset: bool = True
    """tidb_compat resets connections returned to the pool (the caller set no
    ``pool_reset_on_return`` of their own)."""


def to_settings(settings_or_url: DatabaseSettings | str | URL, backend: str | None = None) -> DatabaseSettings:
    """Accept settings or a URL; ``backend`` names the vendor explicitly."""
    if isinstance(settings_or_url, DatabaseSettings):
        settings = settings_or_url
    elif isinstance(settings_or_url, (str, URL)):
        settings = DatabaseSettings.from_url(settings_or_url)
    else:
        raise ConfigurationError("url", f"expected DatabaseSettings or a URL, got {type(settings_or_url).__name__}")
    if backend is not None:
        settings = settings.replace(backend=backend, sources={**settings.sources, "backend": "backend"})
    if settings.backend is not None:
        backend_class = registry.get(settings.backend, setting=settings.source_of("backend"))
        if backend_class.family != settings.family:
            raise ConfigurationError(
                settings.source_of("backend"),
                f"backend {settings.backend!r} speaks {backend_class.family}, but the URL is {settings.family}",
            )
    return settings


def _pool_backend(settings: DatabaseSettings) -> type[DatabaseBackend]:
    if settings.backend is not None:
        return registry.get(settings.backend)
    host = (settings.host or "").lower().rstrip(".")
    if settings.family == "mysql" and host.endswith(_TIDB_CLOUD_SUFFIX):
        return registry.get("tidb")
    return registry.generic_for(settings.family)


def _engine_kwargs(
    settings: DatabaseSettings, backend_class: type[DatabaseBackend], tls: TLSConfig, *, is_async: bool,
    overrides: Mapping[str, Any],
) -> dict[str, Any]:
    driver = backend_class().driver
    kwargs: dict[str, Any] = dict(driver.pool_defaults)
    for key in ("pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping", "pool_ping_after"):
        value = getattr(settings, key)
        if value is not None:
            kwargs[key] = value
    if "poolclass" in overrides:  # NullPool, StaticPool...: sizing arguments do not apply
        for key in _POOL_SIZING:
            kwargs.pop(key, None)
    if settings.echo:
        kwargs["echo"] = True
    connect_args = driver.connect_args(settings, is_async=is_async)
    connect_args.update(driver.tls_connect_args(tls, is_async=is_async))
    extra = dict(overrides)
    connect_args.update(extra.pop("connect_args", {}) or {})
    kwargs["connect_args"] = connect_args
    kwargs.update(extra)
    return kwargs


def _install(engine: Engine, settings: DatabaseSettings, setup: EngineSetup) -> EngineBinding:
    binding = binding_for(engine.dialect, settings.backend)
    binding.setup = setup
    where = f"{settings.host or 'localhost'}:{settings.port}" if settings.port else (settings.host or "localhost")
    tls = setup.tls

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Dialect, record: ConnectionPoolEntry, cargs: Any, cparams: dict[str, Any]) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            translated = translate_connect_error(exc, tls, where)
            if translated is None:
                raise
            raise translated from exc

    @event.listens_for(engine, "connect")
    def _setup(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        try:
            backend = binding.resolve(dbapi_connection)
            backend.ops.configure_dialect(engine.dialect)
            backend.ops.setup_connection(dbapi_connection)
        except BaseException:
            dbapi_connection.close()
            raise
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "handle_error")
    def _translate(context: sa.engine.ExceptionContext) -> BaseException | None:
        backend = binding.backend
        if backend is None:
            return None
        return backend.errors.translate(context.original_exception, context.statement, context.parameters)

    _install_pool_policies(engine, setup)
    return binding


def _install_pool_policies(engine: Engine, setup: EngineSetup) -> None:
    """Round trips a pooled connection does not need.

    - Ping at checkout only when the connection sat unused for longer than ``ping_after``
      seconds, or its socket shows the server wrote to it while it was idle (a KILL, a
      restart, an idle timeout): SQLAlchemy's ``pool_pre_ping`` pings at every checkout.  A
      dead connection is still replaced; a live one used moments ago costs nothing.
    - Roll back on return to the pool only when the transaction was not already committed or
      rolled back through SQLAlchemy (which would otherwise send a second ROLLBACK), and never
      for autocommit connections.
    """
    ping_after = setup.ping_after
    if ping_after is not None:
        dialect = engine.dialect
        driver = registry.get(setup.pool_backend)().driver

        @event.listens_for(engine, "checkout")
        def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
            last_used = record.info.get(_LAST_USED)
            recently_used = last_used is not None and time.monotonic() - last_used <= ping_after
            # A server that killed or dropped the connection has written to its socket (an
            # error packet, the close): seen without a round trip, it gets the ping.
            if recently_used and driver.has_pending_input(dbapi_connection) is False:
                return
            try:
                alive = dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise sa_exc.DisconnectionError(f"ping failed: {type(exc).__name__}") from exc
            if alive is False:
                raise sa_exc.DisconnectionError("ping failed")

        @event.listens_for(engine, "checkin")
        def _checked_in(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
            record.info[_LAST_USED] = time.monotonic()

    if not setup.owns_reset:
        return
    autocommit = setup.autocommit

    # A connection is "settled" once SQLAlchemy committed or rolled back its transaction and
    # nothing began since; checkout and begin unsettle it (raw DBAPI use included).
    @event.listens_for(engine, "checkout")
    def _unsettle_on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        record.info[_SETTLED] = False

    @event.listens_for(engine, "begin")
    def _unsettle_on_begin(connection: sa.Connection) -> None:
        connection.connection.info[_SETTLED] = False

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _settle(connection: sa.Connection) -> None:
        connection.connection.info[_SETTLED] = True

    @event.listens_for(engine, "reset")
    def _reset(dbapi_connection: Any, record: ConnectionPoolEntry, reset_state: PoolResetState) -> None:
        if autocommit or reset_state.terminate_only:
            return
        if reset_state.transaction_was_reset or record.info.get(_SETTLED):
            return
        dbapi_connection.rollback()


def _prepare(
    settings_or_url: DatabaseSettings | str | URL, backend: str | None, overrides: Mapping[str, Any], *, is_async: bool
) -> tuple[URL, dict[str, Any], DatabaseSettings, EngineSetup]:
    settings = to_settings(settings_or_url, backend)
    tls = resolve(settings)
    backend_class = _pool_backend(settings)
    kwargs = _engine_kwargs(settings, backend_class, tls, is_async=is_async, overrides=overrides)
    ping_after = kwargs.pop("pool_ping_after", None)
    if kwargs.get("pool_pre_ping") and ping_after is not None and ping_after > 0:
        kwargs["pool_pre_ping"] = False  # replaced by the idle-aware ping
    else:
        ping_after = None
    autocommit = kwargs.get("isolation_level") == "AUTOCOMMIT"
    if autocommit:
        kwargs.setdefault("skip_autocommit_rollback", True)
    user_reset = "pool_reset_on_return" in overrides
    if not user_reset:
        kwargs["pool_reset_on_return"] = None  # the reset event decides (see _install_pool_policies)
    path = settings.sqlite_path
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    url = settings.async_url if is_async else settings.url
    setup = EngineSetup(settings, tls, backend_class.vendor, ping_after, autocommit, owns_reset=not user_reset)
    return url, kwargs, settings, setup


def _build(factory: Any, url: URL, kwargs: dict[str, Any], settings: DatabaseSettings) -> Any:
    try:
        return factory(url, **kwargs)
    except sqlalchemy.exc.NoSuchModuleError:
        raise ConfigurationError(
            settings.source_of("url"),
            f"no SQLAlchemy dialect or driver named {url.drivername!r} is installed",
        ) from None


def create_engine(
    settings_or_url: DatabaseSettings | str | URL, /, *, backend: str | None = None, **overrides: Any
) -> Engine:
    """A synchronous engine (PyMySQL for TiDB/MySQL/MariaDB, psycopg, pysqlite).

    ``backend`` names the vendor for compile-only use without a server (``get_backend``
    then answers without connecting); the first connection still verifies it.  Keyword
    ``overrides`` go to :func:`sqlalchemy.create_engine` and win over every default;
    ``connect_args`` are merged into the ones the backend computes.
    """
    url, kwargs, settings, setup = _prepare(settings_or_url, backend, overrides, is_async=False)
    engine: Engine = _build(sqlalchemy.create_engine, url, kwargs, settings)
    _install(engine, settings, setup)
    return engine


def create_async_engine(
    settings_or_url: DatabaseSettings | str | URL, /, *, backend: str | None = None, **overrides: Any
) -> AsyncEngine:
    """An asynchronous engine (aiomysql for TiDB/MySQL/MariaDB, psycopg, aiosqlite); as
    :func:`create_engine` otherwise."""
    url, kwargs, settings, setup = _prepare(settings_or_url, backend, overrides, is_async=True)
    engine: AsyncEngine = _build(sa_create_async_engine, url, kwargs, settings)
    _install(engine.sync_engine, settings, setup)
    return engine


def engine_setup(engine: Engine | AsyncEngine) -> EngineSetup | None:
    """What :func:`create_engine` decided for ``engine`` (``None`` for other engines)."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    return binding_for(sync_engine.dialect).setup
