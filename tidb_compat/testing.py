"""A pytest plugin for testing code on tidb_compat against real servers.

Enable it with ``pytest_plugins = ["tidb_compat.testing"]`` in a ``conftest.py``.  The suite
then runs against one backend per invocation, chosen by ``--backend`` or
``TIDB_COMPAT_TEST_BACKEND`` (``sqlite`` by default):

========== ==========================================================================
sqlite     a file in pytest's temporary directory
mariadb    ``TIDB_COMPAT_TEST_MARIADB_URL`` or root@127.0.0.1:3306
postgresql ``TIDB_COMPAT_TEST_POSTGRESQL_URL`` or postgres@127.0.0.1:5432
tidb       ``TIDB_COMPAT_TEST_TIDB_URL`` (required; TLS options in its query)
========== ==========================================================================

The database is named by the ``test_database_name`` fixture (override it in a conftest to
give each project its own) and created on MariaDB/PostgreSQL when missing.  A server that
does not answer skips the tests that need it, except under ``CI=true``, where it fails them.

Fixtures: ``backend_name``, ``test_database_name``, ``database_url``, ``engine``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from .backends import get_backend
from .engine import create_engine
from .errors import ConfigurationError, TidbCompatError
from .settings import parse_bool

__all__ = ["BACKENDS", "DEFAULT_TEST_DATABASE", "ensure_database", "in_ci", "server_url"]

BACKENDS = ("sqlite", "mariadb", "postgresql", "tidb")
DEFAULT_TEST_DATABASE = "tidb_compat_test"
_DEFAULT_URLS = {
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        default=os.environ.get("TIDB_COMPAT_TEST_BACKEND", "sqlite"),
        choices=BACKENDS,
        help="the backend the server tests run against (tidb_compat.testing)",
    )


def in_ci() -> bool:
    """True under ``CI=true`` (or an unparsable CI value): unavailable servers then fail."""
    try:
        return parse_bool(os.environ.get("CI", "false"), "CI")
    except ConfigurationError:
        return True


def unavailable(reason: str) -> None:
    """Skip, or fail under CI."""
    if in_ci():
        pytest.fail(f"backend server unavailable under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def server_url(backend: str, database: str) -> str:
    """The URL of ``database`` on the test server of ``backend`` (not for sqlite)."""
    if backend == "tidb":
        url = os.environ.get("TIDB_COMPAT_TEST_TIDB_URL")
        if not url:
            unavailable("TIDB_COMPAT_TEST_TIDB_URL is not set")
            raise AssertionError("unreachable")  # pragma: no cover
        base = make_url(url)
    else:
        base = make_url(os.environ.get(f"TIDB_COMPAT_TEST_{backend.upper()}_URL") or _DEFAULT_URLS[backend])
    return base.set(database=database).render_as_string(hide_password=False)


def ensure_database(url: str) -> None:
    """Create the database of ``url`` when it does not exist (MySQL family, PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" or not parsed.database:
        return
    family = parsed.get_backend_name()
    admin_url = parsed._replace(database="postgres" if family == "postgresql" else None)
    admin = create_engine(admin_url, poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            backend = get_backend(connection)
            if family == "postgresql":
                exists = connection.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
                ).first()
                if exists:
                    return
                connection.commit()
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in backend.provisioning.create_database_sql(parsed.database):
                connection.exec_driver_sql(statement)
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def backend_name(request: pytest.FixtureRequest) -> str:
    """The backend of this run: sqlite, mariadb, postgresql or tidb."""
    return str(request.config.getoption("--backend"))


@pytest.fixture(scope="session")
def test_database_name() -> str:
    """The database the tests use (override to give a project its own)."""
    return DEFAULT_TEST_DATABASE


@pytest.fixture(scope="session")
def database_url(backend_name: str, test_database_name: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of the test database of the backend under test (created if needed)."""
    if backend_name == "sqlite":
        path = Path(tmp_path_factory.mktemp("sqlite")) / f"{test_database_name}.sqlite3"
        return f"sqlite:///{path}"
    url = server_url(backend_name, test_database_name)
    try:
        if backend_name != "tidb":
            ensure_database(url)
        probe = create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with probe.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        finally:
            probe.dispose()
    except (sa.exc.OperationalError, TidbCompatError) as exc:
        unavailable(f"{backend_name} at {make_url(url).render_as_string(hide_password=True)}: {exc}")
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """A tidb_compat engine on the test database, shared by the session."""
    eng = create_engine(database_url)
    yield eng
    eng.dispose()
