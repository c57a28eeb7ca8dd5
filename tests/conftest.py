"""Shared fixtures: the backend under test and its engines.

The suite runs once per backend (``nox -s sqlite|mariadb|postgresql|tidb``); the backend is
chosen by ``--backend`` or ``TIDB_COMPAT_TEST_BACKEND`` (default ``sqlite``).  Servers are
real: MariaDB and PostgreSQL on loopback (URLs overridable with
``TIDB_COMPAT_TEST_MARIADB_URL`` / ``TIDB_COMPAT_TEST_POSTGRESQL_URL``), TiDB from
``TIDB_COMPAT_TEST_TIDB_URL``.  A server that does not answer skips the server tests,
except under ``CI=true`` where it fails them.

Tests that need no server (version parsing, compile-only SQL, settings) run in every session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import Engine, make_url

import tidb_compat
from tidb_compat.settings import parse_bool

TEST_DATABASE = "tidb_compat_test"

# Hypothesis against real servers: no per-example deadline, a bounded number of examples.
settings.register_profile(
    "servers",
    deadline=None,
    max_examples=int(os.environ.get("TIDB_COMPAT_HYPOTHESIS_EXAMPLES", "40")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("servers")

DEFAULT_URLS = {
    "mariadb": f"mysql+pymysql://root@127.0.0.1:3306/{TEST_DATABASE}",
    "postgresql": f"postgresql+psycopg://postgres@127.0.0.1:5432/{TEST_DATABASE}",
}
BACKENDS = ("sqlite", "mariadb", "postgresql", "tidb")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        default=os.environ.get("TIDB_COMPAT_TEST_BACKEND", "sqlite"),
        choices=BACKENDS,
        help="the backend the server tests run against",
    )


def in_ci() -> bool:
    try:
        return parse_bool(os.environ.get("CI", "false"), "CI")
    except tidb_compat.ConfigurationError:
        return True


@pytest.fixture(scope="session")
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--backend"))


def _server_url(name: str) -> str:
    if name == "tidb":
        url = os.environ.get("TIDB_COMPAT_TEST_TIDB_URL")
        if not url:
            _unavailable("TIDB_COMPAT_TEST_TIDB_URL is not set")
        return str(url)
    return os.environ.get(f"TIDB_COMPAT_TEST_{name.upper()}_URL", DEFAULT_URLS[name])


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"backend server unavailable under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def _ensure_database(url: str) -> None:
    """Create the test database on MariaDB/PostgreSQL through an admin connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" or parsed.database is None:
        return
    admin_db = "postgres" if parsed.get_backend_name() == "postgresql" else None
    admin = tidb_compat.create_engine(parsed._replace(database=admin_db), poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            backend = tidb_compat.get_backend(connection)
            if parsed.get_backend_name() == "postgresql":
                exists = connection.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
                ).first()
                if exists:
                    return
                connection.commit()
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                for statement in backend.provisioning.create_database_sql(parsed.database):
                    autocommit.exec_driver_sql(statement)
            else:
                for statement in backend.provisioning.create_database_sql(parsed.database):
                    connection.exec_driver_sql(statement)
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(backend_name: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of the test database of the backend under test (created if needed)."""
    if backend_name == "sqlite":
        path = Path(tmp_path_factory.mktemp("sqlite")) / f"{TEST_DATABASE}.sqlite3"
        return f"sqlite:///{path}"
    url = _server_url(backend_name)
    try:
        if backend_name != "tidb":
            _ensure_database(url)
        probe = tidb_compat.create_engine(url, poolclass=sa.pool.NullPool)
        with probe.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        probe.dispose()
    except (sa.exc.OperationalError, tidb_compat.TidbCompatError) as exc:
        _unavailable(f"{backend_name} at {make_url(url).render_as_string(hide_password=True)}: {exc}")
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = tidb_compat.create_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def table_name() -> str:
    """A unique table name, so tests never see each other's tables."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def metadata(engine: Engine) -> Iterator[sa.MetaData]:
    """A MetaData whose tables are dropped after the test."""
    md = sa.MetaData()
    yield md
    md.drop_all(engine)
