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
give each project its own) and created on TiDB/MariaDB/PostgreSQL when missing.  A server that
does not answer skips the tests that need it, except under ``CI=true``, where it fails them.

Fixtures: ``backend_name``, ``test_database_name``, ``database_url``, ``engine``; for services
(:mod:`tidb_compat.service`): ``service_database`` and ``service_db`` (needs a ``service_spec``
fixture), and the :class:`ServiceContract` tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from .backends import get_backend
from .engine import create_engine
from .errors import ConfigurationError, TidbCompatError
from .settings import parse_bool

__all__ = [
    "BACKENDS",
    "DEFAULT_TEST_DATABASE",
    "ServiceContract",
    "clear_tables",
    "ensure_database",
    "in_ci",
    "server_url",
]

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


# -- services ----------------------------------------------------------------------------------


def clear_tables(engine: Engine, metadata: sa.MetaData) -> None:
    """Delete every row of ``metadata``'s tables, children first."""
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(scope="session")
def service_database(request: pytest.FixtureRequest, database_url: str) -> Iterator[Any]:
    """The :class:`~tidb_compat.service.ServiceDatabase` of the ``service_spec`` fixture (define
    it in the service's conftest), migrated to head on the test database; downgraded to base
    at the end."""
    from .migrations import downgrade
    from .service import ServiceDatabase
    from .settings import DatabaseSettings

    spec = request.getfixturevalue("service_spec")
    database = ServiceDatabase(spec, DatabaseSettings.from_url(database_url))
    database.migrate()
    yield database
    database.dispose()
    downgrade(database.settings, "base", script_location=spec.migrations)


@pytest.fixture
def service_db(service_database: Any) -> Any:
    """``service_database`` with every table emptied before the test."""
    clear_tables(service_database.engine, service_database.spec.metadata)
    return service_database


class ServiceContract:
    """Tests every service must pass; subclass in the service's tests and set ``alembic_ini``
    and ``cli_module`` (the console script's module, run as ``python -m``)."""

    alembic_ini: Path
    cli_module: str

    def _env(self, spec: Any, database_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(spec.env_prefix)}
        env[f"{spec.env_prefix}_DATABASE_URL"] = database_url
        return env

    def _run(self, args: list[str], env: dict[str, str]) -> Any:
        import subprocess
        import sys

        return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, env=env,
                              check=False)

    def test_migrations_match_the_models(self, service_db: Any) -> None:
        assert service_db.drift() == 0
        tables = set(sa.inspect(service_db.engine).get_table_names())
        assert set(service_db.spec.metadata.tables) <= tables

    def test_alembic_check_with_the_env_url(self, service_db: Any, database_url: str) -> None:
        result = self._run(["-m", "alembic", "-c", str(self.alembic_ini), "check"],
                           self._env(service_db.spec, database_url))
        assert result.returncode == 0, result.stderr[-2000:]
        assert "No new upgrade operations detected" in result.stdout + result.stderr

    def test_cli_check_migrate_smoke(self, service_db: Any, database_url: str) -> None:
        env = self._env(service_db.spec, database_url)
        before = service_db.table_counts()
        for command in ("check", "migrate", "smoke", "drift"):
            result = self._run(["-m", self.cli_module, command], env)
            assert result.returncode == 0, (command, result.stderr[-2000:])
            assert result.stderr == "" or "Traceback" not in result.stderr
        assert service_db.table_counts() == before  # smoke leaves the data as it found it

    def test_smoke_in_process(self, service_db: Any) -> None:
        result = service_db.smoke()
        assert result

    def test_provision_then_run_with_the_least_privilege_accounts(
        self, service_db: Any, backend_name: str, database_url: str, tmp_path: Path
    ) -> None:
        """``provision`` makes the database and accounts; ``migrate`` runs as the migrator and
        ``smoke`` as the app account with the credentials it wrote (0600); a second run is a
        no-op that prints no password."""
        from .provisioning import deprovision

        if backend_name not in ("mariadb", "postgresql"):
            pytest.skip("accounts are provisioned on the local MariaDB/PostgreSQL servers")
        spec = service_db.spec
        url = make_url(database_url)
        admin = url._replace(database="postgres" if backend_name == "postgresql" else None)
        admin_url = admin.render_as_string(hide_password=False)
        database = f"{spec.database}_prov_test"
        accounts = {"database": database, "app_user": spec.app_user, "migrator_user": spec.migrator_user}
        deprovision(admin_url, **accounts)
        try:
            env = self._env(spec, database_url)
            del env[f"{spec.env_prefix}_DATABASE_URL"]
            env[f"{spec.env_prefix}_ADMIN_DATABASE_URL"] = admin_url
            credentials = tmp_path / "credentials.env"
            first = self._run(["-m", self.cli_module, "provision", "--database", database,
                               "--credentials-file", str(credentials)], env)
            assert first.returncode == 0, first.stderr[-2000:]
            assert credentials.stat().st_mode & 0o777 == 0o600
            for line in credentials.read_text().splitlines():
                key, _, value = line.partition("=")
                env[key] = value
            assert f"{spec.env_prefix}_MIGRATOR_DATABASE_URL" in env
            for command in ("migrate", "smoke", "drift"):
                result = self._run(["-m", self.cli_module, command], env)
                assert result.returncode == 0, (command, result.stderr[-2000:])
            again = self._run(["-m", self.cli_module, "provision", "--database", database], env)
            assert again.returncode == 0, again.stderr[-2000:]
            assert again.stdout == ""  # nothing rotated: no credentials printed
            assert "unchanged" in again.stderr
        finally:
            deprovision(admin_url, **accounts)
