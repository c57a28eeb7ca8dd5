"""Test sessions: one per backend, plus lint.

``nox`` runs the default sessions (lint, sqlite, mariadb, postgresql): what CI runs.
``nox -s tidb`` runs the whole suite against the TiDB given by ``TIDB_COMPAT_TEST_TIDB_URL``.
``nox -s bench`` runs the benchmarks and rewrites BENCHMARKS.md and bench/results.json (not a
default session: it takes several minutes and its figures are for reading, not asserting).
Virtualenvs are made with uv (seconds with its cache) and reused between runs.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
SERVICES = ("user", "project", "knowledge")
LOCAL_BACKENDS = ("sqlite", "mariadb", "postgresql")
nox.options.sessions = ["lint", "sqlite", "mariadb", "postgresql", *SERVICES, "platform"]

TEST_DEPS = ("-e", ".[test,lint]")
SERVICE_DEPS = tuple(arg for name in SERVICES for arg in ("-e", f"services/{name}"))


def _pytest(session: nox.Session, backend: str) -> None:
    session.install(*TEST_DEPS)
    session.run("pytest", "--backend", backend, *session.posargs, env={"TIDB_COMPAT_TEST_BACKEND": backend})


@nox.session
def sqlite(session: nox.Session) -> None:
    """The suite on embedded SQLite files."""
    _pytest(session, "sqlite")


@nox.session
def mariadb(session: nox.Session) -> None:
    """The suite on MariaDB (127.0.0.1:3306 unless TIDB_COMPAT_TEST_MARIADB_URL)."""
    _pytest(session, "mariadb")


@nox.session
def postgresql(session: nox.Session) -> None:
    """The suite on PostgreSQL (127.0.0.1:5432 unless TIDB_COMPAT_TEST_POSTGRESQL_URL)."""
    _pytest(session, "postgresql")


@nox.session
def tidb(session: nox.Session) -> None:
    """The whole suite (library, services, platform) on a real TiDB: TIDB_COMPAT_TEST_TIDB_URL
    (an account that may create databases; ssl_mode/ssl_ca in its query if needed)."""
    if not os.environ.get("TIDB_COMPAT_TEST_TIDB_URL"):
        session.error("set TIDB_COMPAT_TEST_TIDB_URL to a TiDB URL, e.g. TiDB Cloud Serverless")
    session.install(*TEST_DEPS, *SERVICE_DEPS, "-e", "services/platform")
    env = {"TIDB_COMPAT_TEST_BACKEND": "tidb"}
    session.run("pytest", "--backend", "tidb", *session.posargs, env=env)
    for path in (*(f"services/{name}/tests" for name in SERVICES), "services/platform/tests"):
        session.run("pytest", path, "--backend", "tidb", env=env)


def _service_tests(session: nox.Session, path: str) -> None:
    """A service's tests on every local backend (or the backends given in posargs)."""
    backends = session.posargs or LOCAL_BACKENDS
    for backend in backends:
        session.run("pytest", path, "--backend", backend, env={"TIDB_COMPAT_TEST_BACKEND": backend})


@nox.session
def user(session: nox.Session) -> None:
    """The user service's tests on sqlite, mariadb and postgresql."""
    session.install(*TEST_DEPS, "-e", "services/user")
    _service_tests(session, "services/user/tests")


@nox.session
def project(session: nox.Session) -> None:
    """The project service's tests on sqlite, mariadb and postgresql."""
    session.install(*TEST_DEPS, "-e", "services/project")
    _service_tests(session, "services/project/tests")


@nox.session
def knowledge(session: nox.Session) -> None:
    """The knowledge service's tests on sqlite, mariadb and postgresql."""
    session.install(*TEST_DEPS, "-e", "services/knowledge")
    _service_tests(session, "services/knowledge/tests")


@nox.session
def platform(session: nox.Session) -> None:
    """``design-synapse up`` on sqlite, mariadb and postgresql."""
    session.install(*TEST_DEPS, *SERVICE_DEPS, "-e", "services/platform")
    _service_tests(session, "services/platform/tests")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict on tidb_compat and the services; the audit finds no
    PostgreSQL-specific code in the services."""
    session.install(*TEST_DEPS, *SERVICE_DEPS, "-e", "services/platform")
    session.run("ruff", "check", "tidb_compat", "tests", "services", "bench", "noxfile.py")
    session.run("mypy", "--strict", "tidb_compat", "tests/types/typed_models.py")
    session.run("mypy", "--strict", "bench")
    session.run("mypy", "--strict", "-p", "user_service", "-p", "project_service", "-p", "knowledge_service",
                "-p", "design_synapse")
    session.run("tidb-compat", "audit", "services")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks on MariaDB, PostgreSQL and SQLite, loopback and through the latency proxy
    (1 and 5 ms RTT); writes BENCHMARKS.md and bench/results.json.  Arguments go to
    ``python -m bench`` (``nox -s bench -- --no-latency``, ``-- --quick``, ``-- --help``)."""
    session.install("-e", ".[bench]", "-e", "services/knowledge")
    session.run("python", "-m", "bench", "--latency", *session.posargs)
