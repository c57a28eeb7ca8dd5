"""What a migration environment's ``env.py`` runs (the template's env.py calls
:func:`run_env`).  Kept in the library so every service runs the same, tested code.

Settings come from ``config.attributes["tidb_compat.settings"]`` (the programmatic API) or
``DatabaseSettings.from_env(<tidb_compat.env_prefix>)``; the target metadata from
``config.attributes["tidb_compat.metadata"]`` or the ``tidb_compat.metadata`` option
(``package.module:attribute``; a declarative base's ``.metadata`` is used).

- Online, sync or async (``tidb_compat.async = true``): the engine comes from
  :func:`tidb_compat.create_engine`, with a ``NullPool`` so no migration connection is reused.
- One transaction per migration: on PostgreSQL and SQLite a failed migration rolls back
  whole; on TiDB, MySQL and MariaDB DDL commits as it runs (see the README: resuming).
- SQLite: foreign-key enforcement is switched off before the migration transaction (batch
  mode recreates tables, and ``DROP TABLE`` would cascade deletes into child rows; the PRAGMA
  is ignored inside a transaction), ``PRAGMA foreign_key_check`` runs after it, and
  enforcement is switched back on.  DDL runs inside real transactions (pysqlite's implicit
  transaction handling is replaced by explicit ``BEGIN``).
- Offline (``--sql``): SQL for the settings' backend with literal values, no connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import NullPool

from ..audit.runner import load_metadata
from ..engine import create_async_engine, create_engine
from ..errors import ConfigurationError, TidbCompatError
from ..settings import DatabaseSettings, parse_bool
from .autogen import compare_type, process_revision_directives, render_item

__all__ = ["MigrationError", "load_metadata", "run_env"]

SETTINGS_KEY = "tidb_compat.settings"
METADATA_KEY = "tidb_compat.metadata"
PREFIX_OPTION = "tidb_compat.env_prefix"
METADATA_OPTION = "tidb_compat.metadata"
ASYNC_OPTION = "tidb_compat.async"


class MigrationError(TidbCompatError):
    """A migration left the database inconsistent (e.g. SQLite foreign key violations)."""


def _settings(config: Any) -> DatabaseSettings:
    settings = config.attributes.get(SETTINGS_KEY)
    if isinstance(settings, DatabaseSettings):
        return settings
    prefix = config.get_main_option(PREFIX_OPTION)
    if not prefix:
        raise ConfigurationError(PREFIX_OPTION, "set it in alembic.ini (e.g. USER_SERVICE) or pass settings")
    return DatabaseSettings.from_env(prefix)


def _metadata(config: Any) -> sa.MetaData | None:
    metadata = config.attributes.get(METADATA_KEY)
    if metadata is not None:
        return metadata  # type: ignore[no-any-return]
    spec = config.get_main_option(METADATA_OPTION)
    return load_metadata(spec, METADATA_OPTION) if spec else None


def _configure_options(metadata: sa.MetaData | None) -> dict[str, Any]:
    return {
        "target_metadata": metadata,
        "compare_type": compare_type,
        "render_item": render_item,
        "render_as_batch": True,  # scripts that also run on SQLite
        "transaction_per_migration": True,
        "process_revision_directives": process_revision_directives,
    }


@contextlib.contextmanager
def sqlite_foreign_keys_off(connection: sa.Connection) -> Iterator[None]:
    """Switch SQLite foreign keys off around a migration, check them after, switch back on."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None

    def pragma(sql: str) -> list[Any]:
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    pragma("PRAGMA foreign_keys = OFF")  # before any BEGIN: ignored inside a transaction
    try:
        yield
        problems = pragma("PRAGMA foreign_key_check")
        if problems:
            raise MigrationError(
                f"foreign key violations after migrating: {problems[:5]} (table, rowid, parent, fk index)"
            )
    finally:
        pragma("PRAGMA foreign_keys = ON")


def _sqlite_transactions(sync_engine: sa.Engine) -> None:
    """Real transactions for SQLite DDL: no implicit handling by the driver, explicit BEGIN."""

    @event.listens_for(sync_engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def _run_sync(connection: sa.Connection, context: Any, options: dict[str, Any]) -> None:
    with sqlite_foreign_keys_off(connection), warnings.catch_warnings():
        if connection.dialect.name == "sqlite":
            # tidb_compat's own String(n) length checks are unnamed and rebuilt with the table
            # (tidb_compat/backends/sqlite/schema.py); Alembic warns that it omits unnamed
            # checks from a batch rebuild.  Name your own CHECK constraints so they are kept.
            warnings.filterwarnings("ignore", message="Unnamed CHECK constraint on reflected table")
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()


def run_env(context: Any) -> None:
    """Run migrations for the Alembic ``context`` (offline or online, sync or async)."""
    config = context.config
    settings = _settings(config)
    options = _configure_options(_metadata(config))
    if context.is_offline_mode():
        context.configure(
            dialect_name=settings.family,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    sqlite = settings.family == "sqlite"
    extra: dict[str, Any] = {"poolclass": NullPool}
    if sqlite:
        extra["connect_args"] = {"isolation_level": None}
    use_async = parse_bool(config.get_main_option(ASYNC_OPTION) or "false", ASYNC_OPTION)
    if use_async:
        asyncio.run(_run_async(settings, context, options, extra, sqlite))
        return
    engine = create_engine(settings, **extra)
    if sqlite:
        _sqlite_transactions(engine)
    try:
        with engine.connect() as connection:
            _run_sync(connection, context, options)
    finally:
        engine.dispose()


async def _run_async(
    settings: DatabaseSettings, context: Any, options: dict[str, Any], extra: dict[str, Any], sqlite: bool
) -> None:
    engine = create_async_engine(settings, **extra)
    if sqlite:
        _sqlite_transactions(engine.sync_engine)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync, context, options)
    finally:
        await engine.dispose()
