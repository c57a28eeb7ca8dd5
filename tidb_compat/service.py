"""A database-backed service on tidb_compat: its settings, engines, migrations and CLI.

A service describes itself once with a :class:`ServiceSpec` (name, environment prefix,
database name, declarative base, migrations folder, smoke test) and gets:

- :class:`ServiceDatabase`: ``DatabaseSettings.from_env(prefix)`` (embedded SQLite file named
  after the database by default), sync and async engines and session factories, ``migrate``,
  ``drift``, ``check`` and ``smoke``;
- :func:`service_main`: the console script
  ``<name>-service check | migrate | smoke | drift | provision``, with one-line errors and no
  passwords.

Accounts (``provision``): the application account ``ds_<name>_app`` reads and writes the
service's tables; the migrator ``ds_<name>_mig`` owns the schema.  ``migrate`` uses
``<PREFIX>_MIGRATOR_DATABASE_URL`` when it is set, everything else ``<PREFIX>_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from .engine import create_async_engine, create_engine
from .errors import ConfigurationError
from .settings import DatabaseSettings, redact_url

__all__ = ["ServiceDatabase", "ServiceSpec", "SmokeTestFailed", "expect", "service_main"]

R = TypeVar("R")


class SmokeTestFailed(AssertionError):
    """A smoke test found the service's database not behaving as it should."""


def expect(condition: object, message: str) -> None:
    """A smoke-test check that also runs under ``python -O`` (unlike ``assert``)."""
    if not condition:
        raise SmokeTestFailed(message)


@dataclass(frozen=True)
class ServiceSpec:
    """Everything tidb_compat needs to know about one service."""

    name: str
    """Short name: ``user`` gives the console script ``user-service``."""
    env_prefix: str
    """Settings prefix: ``USER_SERVICE`` reads ``USER_SERVICE_DATABASE_URL`` and friends."""
    database: str
    """The service's own database (and the SQLite file name by default)."""
    base: Any
    """The declarative base (its ``metadata`` is what migrations must produce)."""
    migrations: Path
    """The Alembic script folder."""
    smoke: Callable[[ServiceDatabase], dict[str, Any]] | None = None
    """A create/read/update/delete round trip that leaves the data as it found it."""

    @property
    def metadata(self) -> sa.MetaData:
        metadata: sa.MetaData = self.base.metadata
        return metadata

    @property
    def app_user(self) -> str:
        """The application account (TiDB Cloud adds its cluster prefix)."""
        return f"ds_{self.name}_app"

    @property
    def migrator_user(self) -> str:
        """The migration account."""
        return f"ds_{self.name}_mig"


class ServiceDatabase:
    """The database of one service (settings, engines, sessions, migrations)."""

    def __init__(self, spec: ServiceSpec, settings: DatabaseSettings | None = None,
                 migrator_settings: DatabaseSettings | None = None) -> None:
        self.spec = spec
        self.settings = settings or DatabaseSettings.from_env(spec.env_prefix, default_database=spec.database)
        migrator_prefix = f"{spec.env_prefix}_MIGRATOR"
        if migrator_settings is None and settings is None and os.environ.get(f"{migrator_prefix}_DATABASE_URL"):
            migrator_settings = DatabaseSettings.from_env(migrator_prefix)
        self.migrator_settings = migrator_settings or self.settings
        """What ``migrate`` connects with: the migrator account where one is configured."""

    @cached_property
    def engine(self) -> sa.Engine:
        return create_engine(self.settings)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def read_engine(self) -> sa.Engine:
        """An engine whose connections run in autocommit mode, for reads outside transactions:
        a point read through a new Session is one round trip (no BEGIN, no ROLLBACK), and
        each statement sees the latest committed data."""
        return create_engine(self.settings, isolation_level="AUTOCOMMIT")

    @cached_property
    def read_sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.read_engine, expire_on_commit=False)

    @cached_property
    def async_engine(self) -> AsyncEngine:
        return create_async_engine(self.settings)

    @cached_property
    def async_sessions(self) -> async_sessionmaker[AsyncSession]:
        return async_sessionmaker(self.async_engine, expire_on_commit=False)

    @cached_property
    def async_read_engine(self) -> AsyncEngine:
        """The async counterpart of :attr:`read_engine`."""
        return create_async_engine(self.settings, isolation_level="AUTOCOMMIT")

    @cached_property
    def async_read_sessions(self) -> async_sessionmaker[AsyncSession]:
        return async_sessionmaker(self.async_read_engine, expire_on_commit=False)

    def repository(self, cls: type[R]) -> R:
        """``cls(sessions, read_sessions=...)``: writes in transactions, reads in autocommit."""
        from .repository import AsyncRepository

        if issubclass(cls, AsyncRepository):
            return cls(self.async_sessions, read_sessions=self.async_read_sessions)
        return cls(self.sessions, read_sessions=self.read_sessions)  # type: ignore[call-arg]

    def migrate(self, revision: str = "head") -> str | None:
        """Upgrade to ``revision``; returns the revision the database is at afterwards."""
        from .migrations import current, upgrade

        upgrade(self.migrator_settings, revision, script_location=self.spec.migrations, metadata=self.spec.metadata)
        return current(self.migrator_settings)

    def drift(self) -> int:
        """0 when the database is at head and matches the models, 1 otherwise."""
        from .migrations import check

        return check(self.migrator_settings, script_location=self.spec.migrations, metadata=self.spec.metadata)

    def check(self) -> dict[str, Any]:
        """Connect and report backend, version, TLS, latency and flags (``tidb-compat check``)."""
        from .cli import check

        return check(self.engine)

    def table_counts(self) -> dict[str, int]:
        """Rows per table of the service, for smoke tests and reports."""
        with self.engine.connect() as connection:
            return {
                name: int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
                for name, table in self.spec.metadata.tables.items()
            }

    def smoke(self) -> dict[str, Any]:
        """Run the service's smoke test and check it left every table as it found it."""
        if self.spec.smoke is None:
            raise ConfigurationError("smoke", f"the {self.spec.name} service has no smoke test")
        before = self.table_counts()
        result = self.spec.smoke(self)
        after = self.table_counts()
        expect(before == after, f"smoke test changed row counts: {before} -> {after}")
        return result

    def provision(self, admin: DatabaseSettings | str, *, database: str | None = None, rotate: bool = False) -> Any:
        """Create the service's database and its two accounts (see :func:`tidb_compat.provision`)."""
        from .provisioning import provision

        return provision(admin, database=database or self.spec.database, app_user=self.spec.app_user,
                         migrator_user=self.spec.migrator_user, rotate=rotate)

    def dispose(self) -> None:
        for name in ("engine", "read_engine"):
            if name in self.__dict__:
                self.__dict__[name].dispose()
        for name in ("async_engine", "async_read_engine"):
            if name in self.__dict__:
                self.__dict__[name].sync_engine.dispose()


def _describe(exc: BaseException, settings: DatabaseSettings | None) -> str:
    from .cli import _describe_error

    return redact_url(_describe_error(exc, settings))


def _run(database: ServiceDatabase, command: str, args: argparse.Namespace) -> int:
    spec = database.spec
    out = sys.stdout
    started = time.perf_counter()
    if command == "check":
        report = database.check()
        tls = report.get("tls") or {}
        out.write(
            f"{spec.name}: {report['display_name']} {report['server_version']} at {report['url']}; "
            f"time zone {report['session_time_zone'] or 'n/a'}; "
            f"TLS {tls.get('version') or 'off'}; round trip {report['round_trip_ms']:.3f} ms\n"
        )
    elif command == "migrate":
        revision = database.migrate(args.revision)
        out.write(f"{spec.name}: migrated to {revision} ({', '.join(sorted(spec.metadata.tables))})\n")
    elif command == "drift":
        code = database.drift()
        out.write(f"{spec.name}: {'no drift' if code == 0 else 'DRIFT: the database does not match the models'}\n")
        return code
    elif command == "smoke":
        result = database.smoke()
        out.write(f"{spec.name}: smoke ok {result}\n")
    else:
        return _provision(database, args)
    out.write(f"{spec.name}: {command} took {time.perf_counter() - started:.2f} s\n")
    return 0


def _provision(database: ServiceDatabase, args: argparse.Namespace) -> int:
    """``provision``: credentials go to ``--credentials-file`` (0600) or to stdout as
    ``<PREFIX>_DATABASE_URL=...`` lines, never to logs."""
    from .provisioning import credentials_lines, write_credentials

    spec = database.spec
    admin = args.admin_url or os.environ.get(f"{spec.env_prefix}_ADMIN_DATABASE_URL")
    if not admin:
        raise ConfigurationError("--admin-url", f"give --admin-url or set {spec.env_prefix}_ADMIN_DATABASE_URL")
    setting = "--admin-url" if args.admin_url else f"{spec.env_prefix}_ADMIN_DATABASE_URL"
    result = database.provision(DatabaseSettings.from_url(admin, setting=setting), database=args.database,
                                rotate=args.rotate)
    summary = ", ".join(f"{a.role} {a.name} {a.status}" for a in result.accounts) or "no accounts (SQLite)"
    created = "created" if result.database_created else "exists"
    sys.stderr.write(f"{spec.name}: database {result.database} {created}; {summary}\n")
    lines = credentials_lines(result, spec.env_prefix)
    if args.credentials_file and lines:
        path = write_credentials(args.credentials_file, result, spec.env_prefix)
        sys.stderr.write(f"{spec.name}: credentials written to {path} (mode 0600)\n")
    else:
        for line in lines:
            sys.stdout.write(line + "\n")
    return 0


def service_main(spec: ServiceSpec, argv: Sequence[str] | None = None) -> int:
    """The console script of a service: ``<name>-service check|migrate|smoke|drift``."""
    parser = argparse.ArgumentParser(prog=f"{spec.name}-service", description=f"the {spec.name} service database")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="connect and report backend, version, TLS and latency")
    migrate = commands.add_parser("migrate", help="upgrade the database to the newest migration")
    migrate.add_argument("revision", nargs="?", default="head")
    commands.add_parser("smoke", help="create/read/update/delete round trip that leaves the data as found")
    commands.add_parser("drift", help="exit 1 when the database does not match the models")
    provision = commands.add_parser("provision", help="create the database and its migrator and app accounts")
    provision.add_argument("--admin-url", help=f"an admin URL (or {spec.env_prefix}_ADMIN_DATABASE_URL)")
    provision.add_argument("--database", help=f"the database to create (default {spec.database})")
    provision.add_argument("--rotate", action="store_true", help="set new passwords on existing accounts")
    provision.add_argument("--credentials-file", help="write the credentials here (mode 0600) instead of stdout")
    args = parser.parse_args(argv)
    database: ServiceDatabase | None = None
    try:
        database = ServiceDatabase(spec)
        return _run(database, args.command, args)
    except ConfigurationError as exc:
        sys.stderr.write(f"{spec.name}-service {args.command}: configuration error: {redact_url(str(exc))}\n")
        return 2
    except Exception as exc:
        settings = database.settings if database is not None else None
        sys.stderr.write(f"{spec.name}-service {args.command}: {_describe(exc, settings)}\n")
        return 1
    finally:
        if database is not None:
            database.dispose()
