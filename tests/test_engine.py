"""The engine builder against the real server of the session's backend."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import tidb_compat
from tidb_compat import DatabaseSettings

EXPECTED_VENDOR = {"sqlite": "sqlite", "mariadb": "mariadb", "postgresql": "postgresql", "tidb": "tidb"}
UTC_NAMES = {"+00:00", "UTC", "Etc/UTC"}


def test_backend_is_identified_from_the_server(engine: Engine, backend_name: str) -> None:
    backend = tidb_compat.get_backend(engine)
    assert backend.vendor == EXPECTED_VENDOR[backend_name]
    assert backend.probed
    assert isinstance(backend.server_version, tuple) and backend.server_version > (0,)
    assert tidb_compat.get_backend(engine) is backend  # one cached probe per engine
    with engine.connect() as connection:
        assert tidb_compat.get_backend(connection) is backend


def test_every_new_connection_is_set_up(engine: Engine, backend_name: str) -> None:
    """Two connections held at once: both got the session setup, not just the first."""
    backend = tidb_compat.get_backend(engine)
    with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            dbapi_connection = connection.connection.dbapi_connection
            zone = backend.ops.session_time_zone(dbapi_connection)
            if backend_name == "sqlite":
                assert zone is None
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            else:
                assert zone in UTC_NAMES
            if backend_name in ("mariadb", "tidb"):
                mode = connection.exec_driver_sql("SELECT @@session.sql_mode").scalar()
                assert "STRICT_ALL_TABLES" in mode and "NO_ZERO_DATE" in mode
                charset = connection.exec_driver_sql("SELECT @@character_set_client").scalar()
                assert charset == "utf8mb4"


def test_server_now_is_utc(engine: Engine, backend_name: str) -> None:
    if backend_name == "sqlite":
        pytest.skip("SQLite's CURRENT_TIMESTAMP is always UTC; there is no session time zone")
    with engine.connect() as connection:
        offset = connection.execute(
            sa.text("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW())")
            if backend_name != "postgresql"
            else sa.text("SELECT EXTRACT(TIMEZONE FROM now())")
        ).scalar()
    assert int(offset) == 0


def test_foreign_keys_are_enforced(engine: Engine, metadata: sa.MetaData, table_name: str) -> None:
    parent = sa.Table(f"{table_name}_p", metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
    child = sa.Table(
        f"{table_name}_c",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey(parent.c.id, ondelete="CASCADE"), nullable=False),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(parent.insert(), [{"id": 1}])
        connection.execute(child.insert(), [{"id": 1, "parent_id": 1}])
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(child.insert(), [{"id": 2, "parent_id": 99}])
    with engine.begin() as connection:
        connection.execute(parent.delete().where(parent.c.id == 1))
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(child)).scalar() == 0


def test_utf8mb4_round_trip(engine: Engine, metadata: sa.MetaData, table_name: str) -> None:
    table = sa.Table(table_name, metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("s", sa.String(50)))
    metadata.create_all(engine)
    text = "emoji 😀, CJK 漢字, RTL עברית, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"id": 1, "s": text}])
    with engine.connect() as connection:
        assert connection.execute(sa.select(table.c.s)).scalar() == text


def test_strict_mode_refuses_overlong_strings(engine: Engine, metadata: sa.MetaData, table_name: str,
                                             backend_name: str) -> None:
    """MySQL-family strict mode and PostgreSQL refuse; on SQLite, tidb_compat's DDL adds a check."""
    table = sa.Table(table_name, metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("s", sa.String(3)))
    metadata.create_all(engine)
    with pytest.raises(sa.exc.DataError), engine.begin() as connection:
        connection.execute(table.insert(), [{"id": 1, "s": "abcdef"}])
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
    with engine.begin() as connection:  # exactly the limit, in 4-byte characters, is fine everywhere
        connection.execute(table.insert(), [{"id": 2, "s": "😀😀😀"}])
    with engine.connect() as connection:
        assert connection.execute(sa.select(table.c.s)).scalar_one() == "😀😀😀"


def test_overrides_win_over_settings_and_defaults(database_url: str, backend_name: str) -> None:
    if backend_name == "sqlite":
        pytest.skip("SQLite files use SQLAlchemy's own pool choice")
    settings = DatabaseSettings.from_url(database_url, pool_size=2, pool_recycle=77)
    engine = tidb_compat.create_engine(settings, pool_size=3)
    try:
        assert engine.pool.size() == 3  # override beats the settings
        assert engine.pool._recycle == 77  # type: ignore[attr-defined]  # settings beat backend defaults
        assert tidb_compat.engine.engine_setup(engine).ping_after == 1.0  # type: ignore[union-attr]  # idle-aware pre-ping
    finally:
        engine.dispose()


def test_explicit_backend_must_match_the_server(database_url: str, backend_name: str) -> None:
    other = {"sqlite": None, "mariadb": "tidb", "postgresql": None, "tidb": "mariadb"}[backend_name]
    if other is None:
        pytest.skip("the family has one built-in vendor")
    engine = tidb_compat.create_engine(database_url, backend=other)
    try:
        assert tidb_compat.get_backend(engine).vendor == other  # compile-only answer, no connection
        with pytest.raises(tidb_compat.ConfigurationError, match=f"configured as '{other}'"), engine.connect():
            pass
    finally:
        engine.dispose()


def test_async_engine(database_url: str, backend_name: str) -> None:
    async def run() -> tuple[str, object, str]:
        engine = tidb_compat.create_async_engine(database_url)
        try:
            backend = await tidb_compat.get_backend_async(engine)
            async with engine.connect() as connection:
                if backend_name == "sqlite":
                    value = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
                else:
                    value = await connection.run_sync(
                        lambda c: backend.ops.session_time_zone(c.connection.dbapi_connection)
                    )
            return backend.vendor, value, engine.url.drivername
        finally:
            await engine.dispose()

    vendor, value, driver = asyncio.run(run())
    assert vendor == EXPECTED_VENDOR[backend_name]
    assert value == 1 if backend_name == "sqlite" else value in UTC_NAMES
    assert driver in {"sqlite+aiosqlite", "mysql+aiomysql", "postgresql+psycopg"}


def test_unknown_driver_is_a_configuration_error() -> None:
    with pytest.raises(tidb_compat.ConfigurationError, match=r"^url: no SQLAlchemy dialect or driver named"):
        tidb_compat.create_engine("mysql+nosuchdriver://u:Secret-1@db.example.invalid/x")


def test_custom_pool_class_ignores_pool_sizing_settings() -> None:
    settings = DatabaseSettings.from_url("mysql+pymysql://u@db.example.invalid/x", pool_size=2, pool_timeout=3)
    engine = tidb_compat.create_engine(settings, poolclass=sa.pool.NullPool)
    assert isinstance(engine.pool, sa.pool.NullPool)
    engine.dispose()


def test_tidb_refuses_a_connection_that_does_not_enforce_foreign_keys(engine: Engine, backend_name: str) -> None:
    """On a real TiDB (the tidb session): a session with foreign_key_checks switched off is
    refused by the backend's connection check."""
    if backend_name != "tidb":
        pytest.skip("needs a real TiDB (nox -s tidb)")
    backend = tidb_compat.get_backend(engine)
    with engine.connect() as connection:
        dbapi_connection = connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        cursor.execute("SET SESSION foreign_key_checks = 0")
        cursor.close()
        try:
            with pytest.raises(tidb_compat.ForeignKeysNotEnforcedError, match="foreign_key_checks"):
                backend.ops.check_connection(dbapi_connection)
        finally:
            connection.invalidate()
