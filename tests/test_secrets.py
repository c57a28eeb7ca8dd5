"""Passwords never leak: not in exceptions (with their whole traceback), not in ``repr``/``str``
of settings and engines, not in logs captured at DEBUG (``sqlalchemy`` with ``echo='debug'``
and ``echo_pool='debug'``, and ``tidb_compat``, retries included), not in the CLI's output.
Every check looks for one distinctive password string.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

import tidb_compat
from tidb_compat import ConfigurationError, DatabaseSettings
from tidb_compat.engine import engine_setup
from tidb_compat.retry import run_transaction

SECRET = "Zq9-Secr3t-Pa55!"
SECRET_USER = "tc_secrets_test"


def _assert_no_secret(*texts: object) -> None:
    for text in texts:
        if isinstance(text, BaseException):
            text = "".join(traceback.format_exception(text)) + repr(text)
        assert SECRET not in str(text), text


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def secret_url(database_url: str, backend_name: str, engine: Engine) -> Iterator[str]:
    """A URL of the session's server whose password is SECRET and which the server accepts."""
    if backend_name == "sqlite":
        pytest.skip("SQLite has no passwords")
    if backend_name == "mariadb":
        with engine.connect() as connection:
            connection.exec_driver_sql(f"CREATE USER IF NOT EXISTS '{SECRET_USER}'@'%%' IDENTIFIED BY '{SECRET}'")
            database = make_url(database_url).database
            connection.exec_driver_sql(f"GRANT ALL ON `{database}`.* TO '{SECRET_USER}'@'%%'")
        try:
            yield make_url(database_url).set(username=SECRET_USER, password=SECRET).render_as_string(
                hide_password=False)
        finally:
            with engine.connect() as connection:
                connection.exec_driver_sql(f"DROP USER IF EXISTS '{SECRET_USER}'@'%%'")
        return
    url = make_url(database_url).set(password=SECRET).render_as_string(hide_password=False)
    probe = tidb_compat.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with probe.connect():
            pass
    except sa.exc.OperationalError:
        pytest.skip("the server refuses the session user with another password (not trust authentication)")
    finally:
        probe.dispose()
    yield url


# -- repr / str ------------------------------------------------------------------------------


def test_settings_and_engines_do_not_show_the_password(tmp_path: object) -> None:
    from_url = DatabaseSettings.from_url(f"mysql+pymysql://app:{SECRET}@db.example.com:4000/app?ssl_mode=required")
    from_env = DatabaseSettings.from_env("SVC", {"SVC_DB_HOST": "127.0.0.1", "SVC_DB_USER": "app",
                                                  "SVC_DB_PASSWORD": SECRET, "SVC_DB_BACKEND": "postgresql"})
    assert from_url.password == SECRET and from_env.password == SECRET  # kept, just never shown
    for settings in (from_url, from_env):
        engine = tidb_compat.create_engine(settings)
        aengine = tidb_compat.create_async_engine(settings)
        try:
            _assert_no_secret(repr(settings), str(settings), f"{settings}", settings.redacted(), str(settings.url),
                              repr(settings.url), str(settings.async_url), repr(engine), str(engine.url),
                              repr(aengine), str(aengine.url), repr(engine_setup(engine)), repr(engine.pool))
            assert "***" in repr(settings) and "***" in repr(engine)
        finally:
            engine.dispose()
            asyncio.run(aengine.dispose())


# -- exceptions ------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["mysql+pymysql", "mysql+aiomysql", "postgresql+psycopg"])
def test_connect_errors_do_not_contain_the_password(closed_port: int, scheme: str) -> None:
    url = f"{scheme}://app:{SECRET}@127.0.0.1:{closed_port}/app"
    if scheme == "mysql+aiomysql":
        async def main() -> None:
            aengine = tidb_compat.create_async_engine(url, poolclass=sa.pool.NullPool)
            try:
                async with aengine.connect():
                    pass
            finally:
                await aengine.dispose()

        with pytest.raises(sa.exc.OperationalError) as info:
            asyncio.run(main())
    else:
        engine = tidb_compat.create_engine(url, poolclass=sa.pool.NullPool)
        with pytest.raises(sa.exc.OperationalError) as info:
            run_transaction(engine, lambda connection: connection.exec_driver_sql("SELECT 1"))
        engine.dispose()
    _assert_no_secret(info.value)


def test_configuration_errors_do_not_contain_the_password(tmp_path: object) -> None:
    for url in (f"mysql+pymysql://app:{SECRET}@db.example.com:notaport/app",
                f"mysql+pymysql://app:{SECRET}@db.example.com/app?ssl_ca=/no/such/ca.pem",
                f"mysql+pymysql://app:{SECRET}@db.example.com/app?ssl_mode=sometimes",
                f"oracle://app:{SECRET}@db.example.com/app"):
        with pytest.raises(ConfigurationError) as info:
            tidb_compat.create_engine(url)
        _assert_no_secret(info.value)


LEAKY_URLS = [
    pytest.param(f"://app:{SECRET}@db.example.com/app", id="no-scheme"),
    pytest.param(f"mysql+pymysql://app:{SECRET} x@db.example.com:notaport/app", id="space-in-password"),
    pytest.param(f"mysql+pymysql://app:at@{SECRET}@db.example.com:notaport/app", id="unencoded-at-in-password"),
]


@pytest.mark.parametrize("url", LEAKY_URLS)
def test_malformed_url_messages_do_not_contain_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        DatabaseSettings.from_url(url)
    _assert_no_secret(info.value)


# -- logs --------------------------------------------------------------------------------------


def _force_retry(connection: Connection, backend_name: str) -> None:
    if backend_name == "postgresql":
        connection.exec_driver_sql(
            "DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$")
    elif backend_name in ("mariadb", "tidb"):
        connection.exec_driver_sql("SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'forced'")


def _captured_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(parts)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """DEBUG on the sqlalchemy and tidb_compat loggers (set before engines are made: SQLAlchemy
    decides per engine whether to log)."""
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    caplog.set_level(logging.DEBUG, logger="tidb_compat")
    return caplog


def test_debug_logs_do_not_contain_the_password(
    debug_logs: pytest.LogCaptureFixture, secret_url: str, backend_name: str, closed_port: int
) -> None:
    settings = DatabaseSettings.from_url(secret_url, echo=True)
    engine = tidb_compat.create_engine(settings, echo="debug", echo_pool="debug", pool_size=2)
    attempts = 0

    def work(connection: Connection) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            _force_retry(connection, backend_name)
        return int(connection.exec_driver_sql("SELECT 1").scalar_one())

    try:
        assert run_transaction(engine, work, initial_backoff=0.001) == 1
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT :x"), {"x": 2}).all()
    finally:
        engine.dispose()
    failing = tidb_compat.create_engine(f"mysql+pymysql://app:{SECRET}@127.0.0.1:{closed_port}/x",
                                        echo="debug", echo_pool="debug")
    with pytest.raises(sa.exc.OperationalError):
        run_transaction(failing, work)
    failing.dispose()
    text = _captured_text(debug_logs)
    assert "SELECT 1" in text  # the capture works: SQL was logged
    assert "retrying in" in text  # and so was the retry
    _assert_no_secret(text)


# -- CLI ---------------------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "tidb_compat.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False, env=environment)


def test_cli_failures_do_not_print_the_password(closed_port: int) -> None:
    unreachable = _cli("check", "--url", f"mysql+pymysql://app:{SECRET}@127.0.0.1:{closed_port}/x")
    assert unreachable.returncode == 1
    configuration = _cli("check", "--url", f"mysql+pymysql://app:{SECRET}@db.example.com/x?ssl_ca=/no/such.pem")
    assert configuration.returncode == 2
    from_env = _cli("check", "--env-prefix", "SVC", env={
        "SVC_DB_HOST": "127.0.0.1", "SVC_DB_PORT": str(closed_port), "SVC_DB_USER": "app", "SVC_DB_PASSWORD": SECRET,
    })
    assert from_env.returncode == 1
    for result in (unreachable, configuration, from_env):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        _assert_no_secret(result.stdout, result.stderr)


def test_cli_report_does_not_print_the_password(secret_url: str) -> None:
    text = _cli("check", "--url", secret_url)
    as_json = _cli("check", "--url", secret_url, "--json")
    assert text.returncode == 0 and as_json.returncode == 0, text.stderr + as_json.stderr
    assert "***" in json.loads(as_json.stdout)["url"]
    for result in (text, as_json):
        _assert_no_secret(result.stdout, result.stderr)
