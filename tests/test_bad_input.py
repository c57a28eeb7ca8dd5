"""Bad input: one table of bad values and one of bad settings, the same expected outcome on
every backend.

Values: each bad value is inserted after a good row *in the same transaction*; the insert
must be refused with a one-line message naming the column, and the table must be empty
afterwards (nothing partial remains).  Portable types refuse before any SQL is sent
(:class:`tidb_compat.PortableValueError`), identically everywhere; an over-long plain
``String(n)`` is refused by the server under strict mode (``DataError``).

Settings and connections: malformed URLs, bad environment values, a missing CA file, a wrong
password, an unreachable host: a one-line message naming the setting (or the server), never
containing the password.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

import tidb_compat
from tidb_compat import (
    BackendNotFoundError,
    ConfigurationError,
    DatabaseSettings,
    PortableArray,
    PortableJSON,
    PortableValueError,
    UTCDateTime,
)
from tidb_compat.backends import load_backend
from tidb_compat.provisioning import provision
from tidb_compat.types.json import MAX_JSON_BYTES

SECRET = "Bad1nput-Pa55word!"
UTC = dt.UTC
STRING_LENGTH = 10

GOOD_ROW: dict[str, Any] = {
    "at": dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    "doc": {"status": "draft", "n": 1},
    "tags": ["a", "b"],
    "nums": [1, 2],
    "scores": [0.5],
    "name": "ok",
}


@dataclass(frozen=True)
class BadValue:
    case: str
    column: str
    value: Any
    message: str
    """A regular expression the (one-line) message must match."""
    refused_by: str = "type"
    """``type``: a portable type refuses it before SQL is sent; ``server``: the server
    refuses it (``DataError``)."""
    not_on: dict[str, str] = field(default_factory=dict)
    """Backends where the row does not apply, with the reason."""


BAD_VALUES = [
    BadValue("naive-datetime", "at", dt.datetime(2024, 5, 1, 12, 0),
             r"naive datetime 2024-05-01T12:00:00 has no time zone"),
    BadValue("date-not-datetime", "at", dt.date(2024, 5, 1), r"expected a timezone-aware datetime, got date"),
    BadValue("year-999", "at", dt.datetime(999, 12, 31, 23, 59, tzinfo=UTC), r"outside years 1000-9999"),
    BadValue("year-10000-in-utc", "at", dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
             r"outside years 1000-9999"),
    BadValue("nan-in-json", "doc", {"score": math.nan}, r"nan is not a JSON number"),
    BadValue("infinity-in-json", "doc", [1.0, math.inf], r"inf is not a JSON number"),
    BadValue("nan-in-float-array", "scores", [0.5, math.nan], r"nan is not a finite number"),
    BadValue("nul-in-json-string", "doc", {"name": "a\x00b"}, r"\\u0000"),
    BadValue("nul-in-json-key", "doc", {"a\x00": 1}, r"\\u0000"),
    BadValue("nul-in-array-item", "tags", ["ok", "a\x00"], r"\\u0000"),
    BadValue("oversize-json", "doc", {"blob": "x" * MAX_JSON_BYTES}, rf"the limit is {MAX_JSON_BYTES}"),
    BadValue("str-in-int-array", "nums", [1, "2"], r"str '2' is not an integer"),
    BadValue("bool-in-int-array", "nums", [True], r"bool True is not an integer"),
    BadValue("int-in-str-array", "tags", [7], r"int 7 is not a str"),
    BadValue("int-array-out-of-range", "nums", [2**31], r"integer 2147483648 is outside"),
    BadValue("str-as-array", "tags", "abc", r"expected a list, got str"),
    BadValue("array-item-too-long", "tags", ["x" * (STRING_LENGTH + 1)], r"longer than 10"),
    BadValue(
        "string-too-long-strict-mode", "name", "x" * (STRING_LENGTH + 1),
        r"Data too long for column 'name'|value too long for type character varying\(10\)",
        refused_by="server",  # SQLite: the length check tidb_compat's DDL adds (backends/sqlite/schema.py)
    ),
]


@pytest.fixture
def bad_table(engine: Engine, metadata: sa.MetaData, table_name: str) -> sa.Table:
    table = sa.Table(
        table_name, metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", UTCDateTime()),
        sa.Column("doc", PortableJSON()),
        sa.Column("tags", PortableArray(sa.String(STRING_LENGTH))),
        sa.Column("nums", PortableArray(sa.Integer)),
        sa.Column("scores", PortableArray(sa.Float)),
        sa.Column("name", sa.String(STRING_LENGTH)),
    )
    metadata.create_all(engine)
    return table


def _one_line(text: str) -> str:
    assert text and "\n" not in text, f"not one line: {text!r}"
    return text


def _insert_good_then_bad(engine: Engine, table: sa.Table, bad: dict[str, Any]) -> None:
    """A good row, then the bad one, in one transaction."""
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"id": 1, **GOOD_ROW}])
        connection.execute(table.insert(), [{"id": 2, **GOOD_ROW, **bad}])


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("bad", BAD_VALUES, ids=[bad.case for bad in BAD_VALUES])
def test_bad_value_is_refused_and_nothing_remains(
    engine: Engine, bad_table: sa.Table, backend_name: str, bad: BadValue
) -> None:
    if backend_name in bad.not_on:
        pytest.skip(bad.not_on[backend_name])
    with pytest.raises(sa.exc.StatementError) as info:
        _insert_good_then_bad(engine, bad_table, {bad.column: bad.value})
    error = info.value
    if bad.refused_by == "type":
        refusal = error.orig
        assert isinstance(refusal, PortableValueError), repr(refusal)
        assert refusal.column == f"{bad_table.name}.{bad.column}"
        message = _one_line(str(refusal))
        assert message.startswith(f"column {bad_table.name}.{bad.column}: ")
    else:
        assert isinstance(error, sa.exc.DataError), repr(error)
        message = _one_line(tidb_compat.get_backend(engine).errors.describe(error))
    assert re.search(bad.message, message), message
    assert _count(engine, bad_table) == 0  # the good row of the same transaction is gone too


# -- settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BadSetting:
    case: str
    attempt: Callable[[Path], object]
    """Builds settings or an engine from the bad input; must raise before connecting."""
    setting: str
    """The setting the message must start with."""
    message: str
    error: type[Exception] = ConfigurationError


def _env(**values: str) -> dict[str, str]:
    return {"SVC_DB_HOST": "db.example.com", "SVC_DB_USER": "app", "SVC_DB_PASSWORD": SECRET,
            **{f"SVC_DB_{key.upper()}": value for key, value in values.items()}}


def _engine_with_empty_ca(tmp: Path) -> Engine:
    (tmp / "empty.pem").write_text("")
    return tidb_compat.create_engine(DatabaseSettings.from_env("SVC", _env(ssl_ca=str(tmp / "empty.pem"))))


BAD_SETTINGS = [
    BadSetting("url-port-not-a-number",
               lambda _: tidb_compat.create_engine(f"mysql+pymysql://app:{SECRET}@db.example.com:notaport/app"),
               "url", r"not a valid database URL: 'mysql\+pymysql://app:\*\*\*@db\.example\.com:notaport/app'"),
    BadSetting("url-unclosed-ipv6-bracket",
               lambda _: tidb_compat.create_engine(f"postgresql+psycopg://app:{SECRET}@[::1/app"),
               "url", r"not a valid database URL"),
    BadSetting("url-not-a-url", lambda _: tidb_compat.create_engine("db.example.com/app"), "url",
               r"not a valid database URL"),
    BadSetting("url-port-out-of-range",
               lambda _: tidb_compat.create_engine(f"mysql+pymysql://app:{SECRET}@db.example.com:99999/app"),
               "port", r"must be between 1 and 65535, got 99999"),
    BadSetting("url-unknown-scheme", lambda _: tidb_compat.create_engine(f"oracle://app:{SECRET}@db/app"),
               "url", r"no backend handles the SQLAlchemy dialect 'oracle'", BackendNotFoundError),
    BadSetting("url-unknown-ssl-mode",
               lambda _: tidb_compat.create_engine(f"mysql+pymysql://app:{SECRET}@db/app?ssl_mode=sometimes"),
               "url (ssl_mode)", r"expected one of disabled, preferred"),
    BadSetting("url-driver-tls-key",
               lambda _: tidb_compat.create_engine(f"mysql+pymysql://app:{SECRET}@db/app?ssl_verify_identity=false"),
               "url (ssl_verify_identity)", r"driver-specific TLS options are not accepted"),
    BadSetting("url-missing-ca-file",
               lambda tmp: tidb_compat.create_engine(f"mysql+pymysql://app:{SECRET}@db/app?ssl_ca={tmp}/missing.pem"),
               "url (ssl_ca)", r"CA file '.*missing\.pem' does not exist"),
    BadSetting("env-missing-ca-file",
               lambda tmp: tidb_compat.create_async_engine(
                   DatabaseSettings.from_env("SVC", _env(ssl_ca=str(tmp / "missing.pem")))),
               "SVC_DB_SSL_CA", r"CA file '.*missing\.pem' does not exist"),
    BadSetting("env-empty-ca-file", lambda tmp: _engine_with_empty_ca(tmp),
               "SVC_DB_SSL_CA", r"CA file '.*empty\.pem' is empty"),
    BadSetting("env-port-not-a-number", lambda _: DatabaseSettings.from_env("SVC", _env(port="abc")),
               "SVC_DB_PORT", r"expected an integer, got 'abc'"),
    BadSetting("env-boolean", lambda _: DatabaseSettings.from_env("SVC", _env(pool_pre_ping="maybe")),
               "SVC_DB_POOL_PRE_PING", r"expected a boolean"),
    BadSetting("env-unknown-backend", lambda _: DatabaseSettings.from_env("SVC", _env(backend="oracle")),
               "SVC_DB_BACKEND", r"unknown backend 'oracle'", BackendNotFoundError),
    BadSetting("env-bad-url", lambda _: DatabaseSettings.from_env("SVC", {"SVC_DATABASE_URL": f"mysql://a:{SECRET}@h:x/d"}),
               "SVC_DATABASE_URL", r"not a valid database URL"),
    # Provisioning identifiers are refused before any SQL: the admin URL's port is closed, so
    # a ConfigurationError (not a connection error) proves nothing was sent.
    *(
        BadSetting(f"provision-{case}-{scheme.split('+')[0]}",
                   lambda _, scheme=scheme, admin_db=admin_db, names=names: provision(
                       f"{scheme}://admin:{SECRET}@127.0.0.1:1/{admin_db}", **names),
                   setting, message)
        for scheme, admin_db in (("mysql+pymysql", ""), ("postgresql+psycopg", "postgres"))
        for case, names, setting, message in (
            ("semicolon", {"database": "app;drop", "app_user": "a_app", "migrator_user": "a_mig"},
             "database", r"not a valid identifier"),
            ("backtick", {"database": "app_db", "app_user": "a`app", "migrator_user": "a_mig"},
             "app_user", r"not a valid identifier"),
            ("quote", {"database": "app_db", "app_user": "a_app", "migrator_user": "a'mig"},
             "migrator_user", r"not a valid identifier"),
            ("too-long", {"database": "d" * 70, "app_user": "a_app", "migrator_user": "a_mig"},
             "database", r"is 70 characters; the limit is 6[34]"),
            ("weak-password", {"database": "app_db", "app_user": "a_app", "migrator_user": "a_mig",
                               "app_password": "short"}, "app_password", r"does not meet .* policy"),
        )
    ),
]


def _no_secret(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc))
    assert SECRET not in text and SECRET not in repr(exc)


@pytest.mark.parametrize("bad", BAD_SETTINGS, ids=[bad.case for bad in BAD_SETTINGS])
def test_bad_setting_is_a_one_line_error_naming_it(tmp_path: Path, bad: BadSetting) -> None:
    with pytest.raises(bad.error) as info:
        bad.attempt(tmp_path)
    message = _one_line(str(info.value))
    assert message.startswith(f"{bad.setting}: "), message
    assert re.search(bad.message, message), message
    _no_secret(info.value)


# -- connecting ----------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed once the block ends: nothing listens there


def _connect(url: str, *, is_async: bool) -> None:
    if is_async:
        async def main() -> None:
            aengine = tidb_compat.create_async_engine(url, poolclass=sa.pool.NullPool)
            try:
                async with aengine.connect() as connection:
                    await connection.exec_driver_sql("SELECT 1")
            finally:
                await aengine.dispose()

        asyncio.run(main())
        return
    engine = tidb_compat.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()


UNREACHABLE = [("mysql+pymysql", "mysql", False), ("mysql+aiomysql", "mysql", True),
               ("postgresql+psycopg", "postgresql", False), ("postgresql+psycopg", "postgresql", True)]


@pytest.mark.parametrize(("scheme", "vendor", "is_async"), UNREACHABLE,
                         ids=["pymysql", "aiomysql", "psycopg", "psycopg-async"])
def test_unreachable_host_is_a_clear_bounded_error(closed_port: int, scheme: str, vendor: str, is_async: bool) -> None:
    url = f"{scheme}://app:{SECRET}@127.0.0.1:{closed_port}/app"
    started = time.monotonic()
    with pytest.raises(sa.exc.OperationalError) as info:
        _connect(url, is_async=is_async)
    assert time.monotonic() - started < 30
    line = _one_line(load_backend(vendor).errors.describe(info.value))
    assert "127.0.0.1" in line and re.search(r"Can't connect|Connection refused", line), line
    _no_secret(info.value)


@pytest.fixture
def wrong_password_url(database_url: str, backend_name: str) -> str:
    if backend_name == "sqlite":
        pytest.skip("SQLite has no passwords")
    return make_url(database_url).set(password=SECRET).render_as_string(hide_password=False)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_wrong_password_is_a_clear_error_without_the_password(
    wrong_password_url: str, backend_name: str, is_async: bool
) -> None:
    try:
        _connect(wrong_password_url, is_async=is_async)
    except sa.exc.OperationalError as exc:
        line = _one_line(load_backend(backend_name).errors.describe(exc))
        assert re.search(r"Access denied|password authentication failed", line), line
        _no_secret(exc)
    else:
        pytest.skip("the server accepted a wrong password: it uses trust authentication for this user")
