"""``tidb_compat.provisioning`` against real servers (TDB-6).

Server tests run in the mariadb and postgresql sessions (and tidb, with names that fit TiDB
Cloud's 32 characters with the cluster prefix): two service databases, each with its
migrator and app accounts, then what each account can and cannot do, for real.  The
PostgreSQL session's server uses trust authentication, so password checks there are proven
on a throwaway cluster with ``scram-sha-256`` in pg_hba.conf (and the statement log on).
SQLite and the credentials file run in every session.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

import tidb_compat
from tidb_compat import ConfigurationError, DatabaseSettings
from tidb_compat.backends.base.base import DatabaseBackend
from tidb_compat.backends.base.provisioning import Account
from tidb_compat.backends.postgresql.provisioning import verify_scram_sha256
from tidb_compat.provisioning import (
    AccountResult,
    ProvisioningError,
    ProvisionResult,
    credentials_lines,
    provision,
    render_url,
    write_credentials,
)
from tidb_compat.testing import in_ci

from .servers import free_port, readable_tempdir

SERVER_BACKENDS = ("mariadb", "postgresql", "tidb")
USER_DB, PROJECT_DB = "tc_prov_user_db", "tc_prov_project_db"
LOOKALIKE_DB = "tc_prov_userxdb"  # what `tc_prov_user_db` matches when `_` is read as a wildcard
USER_APP, USER_MIG = "tc_prov_user_app", "tc_prov_user_mig"  # 16 characters: 32 with a TiDB Cloud prefix
PROJECT_APP, PROJECT_MIG = "tc_prov_proj_app", "tc_prov_proj_mig"
LIMITED_ADMIN = "tc_prov_admin"
SCRAM_CHECK = "tc_prov_scram_chk"
SPECIAL_PASSWORD = "Aa1!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"  # every printable ASCII special character


def nullpool(settings: DatabaseSettings | str) -> Engine:
    return tidb_compat.create_engine(settings, poolclass=sa.pool.NullPool)


@dataclass
class Server:
    """The admin side of the session's server."""

    name: str
    admin_url: str
    backend: DatabaseBackend
    admin: Engine
    prefix: str = ""
    dispose: list[Engine] = field(default_factory=list)

    @property
    def is_postgresql(self) -> bool:
        return self.name == "postgresql"

    def account(self, name: str) -> Account:
        provisioning = self.backend.provisioning
        return Account(self.prefix + name, "%" if provisioning.account_hosts else None)

    def run(self, sql: str, **params: Any) -> list[Any]:
        with self.admin.connect() as connection:
            result = connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text(sql), params)
            return list(result.all()) if result.returns_rows else []

    def engine(self, settings: DatabaseSettings | None, **changes: Any) -> Engine:
        assert settings is not None
        engine = nullpool(settings.replace(**changes) if changes else settings)
        self.dispose.append(engine)
        return engine

    def database_exists(self, database: str) -> bool:
        with self.admin.connect() as connection:
            return self.backend.provisioning.database_exists(connection, database)

    def account_exists(self, name: str) -> bool:
        with self.admin.connect() as connection:
            return self.backend.provisioning.account_exists(connection, self.account(name))

    def stored_secret(self, account: AccountResult) -> str:
        if self.is_postgresql:
            rows = self.run("SELECT rolpassword FROM pg_authid WHERE rolname = :n", n=account.name)
        else:
            rows = self.run("SELECT authentication_string FROM mysql.user WHERE User = :u AND Host = :h",
                            u=account.name, h=account.host)
        return str(rows[0][0])

    def drop_everything(self) -> None:
        provisioning = self.backend.provisioning
        for engine in self.dispose:
            engine.dispose()
        self.dispose.clear()
        with self.admin.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            for database in (USER_DB, PROJECT_DB, LOOKALIKE_DB):
                for sql in provisioning.drop_database_sql(database):
                    autocommit.execute(sa.text(sql))
            for name in (USER_APP, USER_MIG, PROJECT_APP, PROJECT_MIG, LIMITED_ADMIN, SCRAM_CHECK):
                account = self.account(name)
                if provisioning.account_exists(autocommit, account):
                    for statement in provisioning.drop_account_sql(account):
                        autocommit.execute(sa.text(statement.sql))


@pytest.fixture
def server(backend_name: str, database_url: str) -> Iterator[Server]:
    if backend_name not in SERVER_BACKENDS:
        pytest.skip("needs a server session (mariadb, postgresql, tidb)")
    url = make_url(database_url)
    admin_url = url._replace(database="postgres" if backend_name == "postgresql" else url.database if
                             backend_name == "tidb" else None).render_as_string(hide_password=False)
    admin = nullpool(admin_url)
    backend = tidb_compat.get_backend(admin)
    srv = Server(backend_name, admin_url, backend, admin, backend.provisioning.user_prefix(url.username))
    srv.drop_everything()
    try:
        yield srv
    finally:
        srv.drop_everything()
        admin.dispose()


def provision_service(srv: Server, service: str, **kwargs: Any) -> ProvisionResult:
    database, app, migrator = {
        "user": (USER_DB, USER_APP, USER_MIG), "project": (PROJECT_DB, PROJECT_APP, PROJECT_MIG)
    }[service]
    return provision(srv.admin_url, database=database, app_user=app, migrator_user=migrator, **kwargs)


def refused(engine: Engine, *statements: str) -> bool:
    """True if running ``statements`` (one transaction) fails with a database error."""
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    except sa.exc.DBAPIError:
        return True
    return False


# -- two services on one server ------------------------------------------------------------------


def test_each_service_account_reaches_only_its_own_database(server: Server) -> None:
    user = provision_service(server, "user")
    project = provision_service(server, "project")
    for result in (user, project):
        assert result.database_created and result.supports_accounts and result.changed
        assert [(a.role, a.status, a.password_set) for a in result.accounts] == [
            ("migrator", "created", True), ("app", "created", True)
        ]
        assert all(a.name.startswith(server.prefix) for a in result.accounts)

    user_mig = server.engine(user.settings_for("migrator"))
    user_app = server.engine(user.settings_for("app"))
    project_mig = server.engine(project.settings_for("migrator"))

    # the migrator migrates: create, alter, drop (a real small migration)
    with user_mig.begin() as c:
        c.execute(sa.text("CREATE TABLE accounts (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL)"))
        c.execute(sa.text("CREATE TABLE scratch (id INTEGER PRIMARY KEY)"))
    with user_mig.begin() as c:
        c.execute(sa.text("ALTER TABLE accounts ADD COLUMN name VARCHAR(50)"))
        c.execute(sa.text("CREATE INDEX ix_accounts_email ON accounts (email)"))
    with user_mig.begin() as c:
        c.execute(sa.text("DROP TABLE scratch"))
    with project_mig.begin() as c:
        c.execute(sa.text("CREATE TABLE projects (id INTEGER PRIMARY KEY, title VARCHAR(100))"))
        c.execute(sa.text("INSERT INTO projects VALUES (1, 'secret plan')"))

    # the app reads and writes its own rows, in tables the migrator created after provisioning
    with user_app.begin() as c:
        c.execute(sa.text("INSERT INTO accounts (id, email, name) VALUES (1, 'a@example.com', 'A')"))
        c.execute(sa.text("UPDATE accounts SET name = 'B' WHERE id = 1"))
        assert c.execute(sa.text("SELECT name FROM accounts")).scalar_one() == "B"
        c.execute(sa.text("DELETE FROM accounts WHERE id = 1"))

    # ... but cannot change the schema
    assert refused(user_app, "DROP TABLE accounts")
    assert refused(user_app, "ALTER TABLE accounts ADD COLUMN x INTEGER")
    assert refused(user_app, "CREATE TABLE app_made (id INTEGER)")
    assert refused(user_app, "CREATE INDEX ix_app ON accounts (name)")

    # ... nor reach the project database, by connecting to it or by a qualified name
    assert refused(server.engine(user.settings_for("app"), database=PROJECT_DB), "SELECT * FROM projects")
    assert refused(server.engine(user.settings_for("migrator"), database=PROJECT_DB), "SELECT * FROM projects")
    if not server.is_postgresql:  # PostgreSQL has no cross-database names
        assert refused(user_app, f"SELECT * FROM {PROJECT_DB}.projects")
        assert refused(user_app, f"INSERT INTO {PROJECT_DB}.projects VALUES (2, 'x')")
        assert refused(user_mig, f"DROP TABLE {PROJECT_DB}.projects")

    # the migrator cannot hand out access: after trying, the project's app still cannot get in
    project_app = project.account("app")
    assert project_app is not None
    grant = (
        f'GRANT CONNECT ON DATABASE "{USER_DB}" TO "{project_app.name}"'
        if server.is_postgresql
        else f"GRANT SELECT ON `{USER_DB}`.* TO '{project_app.name}'@'%'"
    )
    assert refused(user_mig, grant) or server.is_postgresql  # PostgreSQL only warns "no privileges were granted"
    assert refused(server.engine(project.settings_for("app"), database=USER_DB), "SELECT * FROM accounts")

    with user_mig.begin() as c:
        c.execute(sa.text("DROP TABLE accounts"))


def test_grants_do_not_match_lookalike_databases(server: Server) -> None:
    if server.is_postgresql:
        pytest.skip("PostgreSQL grants name databases exactly (no wildcards)")
    server.run(f"CREATE DATABASE {LOOKALIKE_DB}")
    server.run(f"CREATE TABLE {LOOKALIKE_DB}.t (id INTEGER PRIMARY KEY)")
    user = provision_service(server, "user")
    user_app = server.engine(user.settings_for("app"))
    assert not refused(user_app, "SELECT 1")
    assert refused(user_app, f"SELECT * FROM {LOOKALIKE_DB}.t")
    assert refused(server.engine(user.settings_for("migrator"), database=LOOKALIKE_DB), "SELECT * FROM t")


# -- idempotence and rotation ------------------------------------------------------------------------


def grants_snapshot(server: Server, result: ProvisionResult) -> list[Any]:
    if server.is_postgresql:
        rows = server.run("SELECT datname, datacl::text FROM pg_database WHERE datname = :d", d=result.database)
        inside = server.engine(DatabaseSettings.from_url(server.admin_url), database=result.database)
        with inside.connect() as c:
            rows += c.execute(sa.text("SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'")).all()
            rows += c.execute(sa.text("SELECT defaclacl::text FROM pg_default_acl ORDER BY 1")).all()
        return rows
    # SHOW GRANTS, without the password hash MariaDB prints in the USAGE line
    return [re.sub(r" IDENTIFIED BY PASSWORD '[^']*'", "", row[0])
            for a in result.accounts for row in server.run(f"SHOW GRANTS FOR '{a.name}'@'{a.host}'")]


def test_second_provision_changes_nothing_and_rotate_changes_the_passwords(server: Server) -> None:
    first = provision_service(server, "user")
    secrets_before = {a.role: server.stored_secret(a) for a in first.accounts}
    grants_before = grants_snapshot(server, first)

    second = provision_service(server, "user")
    assert not second.changed and not second.database_created
    assert [(a.role, a.status, a.password) for a in second.accounts] == [
        ("migrator", "unchanged", None), ("app", "unchanged", None)
    ]
    assert {a.role: server.stored_secret(a) for a in second.accounts} == secrets_before
    assert grants_snapshot(server, second) == grants_before
    assert credentials_lines(second, "USER_SERVICE") == []  # no password known: nothing to hand out
    assert second.settings_for("app") is None
    with pytest.raises(ConfigurationError):
        write_credentials(Path("/nonexistent/never-written.env"), second, "USER_SERVICE")

    rotated = provision_service(server, "user", rotate=True)
    assert [(a.role, a.status) for a in rotated.accounts] == [("migrator", "rotated"), ("app", "rotated")]
    for account in rotated.accounts:
        old = first.account(account.role)
        assert old is not None and old.password is not None and account.password is not None
        assert account.password != old.password
        assert server.stored_secret(account) != secrets_before[account.role]
        if server.is_postgresql:
            stored = server.stored_secret(account)
            assert verify_scram_sha256(account.password, stored) and not verify_scram_sha256(old.password, stored)
    assert grants_snapshot(server, rotated) == grants_before
    # the new password logs in (on MariaDB/TiDB the old one no longer does; PostgreSQL here trusts
    # every login: test_postgresql_passwords_on_a_scram_server checks that part)
    assert not refused(server.engine(rotated.settings_for("app")), "SELECT 1")
    if not server.is_postgresql:
        old_app = first.settings_for("app")
        assert old_app is not None
        with pytest.raises(sa.exc.OperationalError):
            server.engine(old_app).connect().close()


def test_given_passwords_with_every_special_character_round_trip(server: Server, tmp_path: Path) -> None:
    result = provision_service(server, "user", app_password=SPECIAL_PASSWORD, migrator_password=SPECIAL_PASSWORD[::-1])
    path = write_credentials(tmp_path / "user.env", result, "USER_SERVICE")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    environ = dict(line.split("=", 1) for line in path.read_text().splitlines())
    assert set(environ) == {"USER_SERVICE_DATABASE_URL", "USER_SERVICE_MIGRATOR_DATABASE_URL"}
    app = DatabaseSettings.from_env("USER_SERVICE", environ)
    migrator = DatabaseSettings.from_env("USER_SERVICE_MIGRATOR", environ)
    assert app.password == SPECIAL_PASSWORD and migrator.password == SPECIAL_PASSWORD[::-1]
    assert app.database == USER_DB and app.username == server.prefix + USER_APP
    assert not refused(server.engine(app), "SELECT 1")
    assert not refused(server.engine(migrator), "CREATE TABLE t (id INTEGER PRIMARY KEY)", "DROP TABLE t")
    if server.is_postgresql:
        assert verify_scram_sha256(SPECIAL_PASSWORD, server.stored_secret(result.account("app")))  # type: ignore[arg-type]


def test_passwords_never_reach_the_logs(server: Server, caplog: pytest.LogCaptureFixture,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    admin = DatabaseSettings.from_url(server.admin_url).replace(echo=True)
    password, rotated_password = "Log-Me-N0t-1st!", "Log-Me-N0t-2nd!"
    provision(admin, database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG, app_password=password)
    provision(admin, database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG,
              app_password=rotated_password, rotate=True)
    printed = capsys.readouterr()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records) + printed.out + printed.err
    assert ("CREATE ROLE" if server.is_postgresql else "CREATE USER") in logged  # echo was on
    assert ("ALTER ROLE" if server.is_postgresql else "ALTER USER") in logged
    assert password not in logged and rotated_password not in logged
    assert any(r.name == "tidb_compat.provisioning" for r in caplog.records)


# -- existing accounts and failures ----------------------------------------------------------------------


def test_an_existing_account_without_grants_is_completed(server: Server) -> None:
    app = server.account(USER_APP)
    if server.is_postgresql:
        server.run(f'CREATE ROLE "{app.name}" NOLOGIN')
    else:
        server.run(f"CREATE USER '{app.name}'@'%' IDENTIFIED BY 'Pre-Existing-1'")
    result = provision_service(server, "user")
    assert [(a.role, a.status, a.password_set) for a in result.accounts] == [
        ("migrator", "created", True), ("app", "unchanged", False)
    ]
    assert result.settings_for("app") is None and result.notes
    migrator = server.engine(result.settings_for("migrator"))
    with migrator.begin() as c:
        c.execute(sa.text("CREATE TABLE items (id INTEGER PRIMARY KEY)"))
    if server.is_postgresql:
        assert server.run("SELECT rolcanlogin FROM pg_roles WHERE rolname = :n", n=app.name) == [(True,)]
    # the grants were completed: with a password set (rotate), the account works
    rotated = provision_service(server, "user", rotate=True)
    app_engine = server.engine(rotated.settings_for("app"))
    assert not refused(app_engine, "INSERT INTO items VALUES (1)", "SELECT * FROM items", "DELETE FROM items")
    assert refused(app_engine, "DROP TABLE items")


def test_reusing_an_account_for_another_database_is_refused(server: Server) -> None:
    provision_service(server, "user")
    with pytest.raises(ConfigurationError) as info:
        provision(server.admin_url, database=PROJECT_DB, app_user=USER_APP, migrator_user=PROJECT_MIG)
    assert info.value.setting == "app_user" and USER_DB in str(info.value)
    with pytest.raises(ConfigurationError) as info:  # the migrator of one service as the app of another
        provision(server.admin_url, database=USER_DB, app_user=USER_MIG, migrator_user=PROJECT_MIG)
    assert info.value.setting == "app_user"
    assert not server.database_exists(PROJECT_DB) and not server.account_exists(PROJECT_MIG)  # refused before SQL


def limited_admin_url(server: Server) -> str:
    """An admin that can create databases and accounts but not grant (MariaDB: no GRANT
    OPTION) or not create roles (PostgreSQL: CREATEDB without CREATEROLE)."""
    name = server.account(LIMITED_ADMIN).name
    if server.is_postgresql:
        server.run(f'CREATE ROLE "{name}" LOGIN CREATEDB')
        return str(make_url(server.admin_url)._replace(username=name).render_as_string(hide_password=False))
    password = "Limited-Adm1n!"
    server.run(f"CREATE USER '{name}'@'%' IDENTIFIED BY :p", p=password)
    server.run(f"GRANT CREATE, DROP, CREATE USER ON *.* TO '{name}'@'%'")
    server.run(f"GRANT SELECT ON mysql.* TO '{name}'@'%'")
    return str(make_url(server.admin_url)._replace(username=name, password=password)
               .render_as_string(hide_password=False))


def test_a_failed_provision_leaves_nothing_half_made(server: Server) -> None:
    if server.name == "tidb":
        pytest.skip("needs a second admin account on the server")
    admin = limited_admin_url(server)
    with pytest.raises(ProvisioningError) as info:
        provision(admin, database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG)
    error = info.value
    assert error.step == "accounts" and error.remaining == () and error.result is None
    assert f"database {USER_DB}" in error.undone
    if not server.backend.provisioning.transactional_ddl:
        # MariaDB: both accounts were created (autocommit), the GRANT failed: they were dropped again
        assert len(error.undone) == 3, error.undone
    assert not server.database_exists(USER_DB)
    assert not server.account_exists(USER_APP) and not server.account_exists(USER_MIG)
    # a full admin then provisions from scratch
    result = provision_service(server, "user")
    assert result.database_created and {a.status for a in result.accounts} == {"created"}


def test_a_failed_provision_keeps_what_existed_before(server: Server) -> None:
    if server.name == "tidb":
        pytest.skip("needs a second admin account on the server")
    app = server.account(USER_APP)
    if server.is_postgresql:
        server.run(f'CREATE ROLE "{app.name}" LOGIN')
    else:
        server.run(f"CREATE USER '{app.name}'@'%' IDENTIFIED BY 'Pre-Existing-1'")
    with pytest.raises(ProvisioningError) as info:
        provision(limited_admin_url(server), database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG)
    assert f"database {USER_DB}" in info.value.undone
    assert server.account_exists(USER_APP)  # it existed before: not ours to drop
    assert not server.account_exists(USER_MIG) and not server.database_exists(USER_DB)
    result = provision_service(server, "user")  # the re-run completes it
    assert [(a.role, a.status) for a in result.accounts] == [("migrator", "created"), ("app", "unchanged")]


def test_postgresql_grants_that_only_warn_are_caught(server: Server) -> None:
    """A non-superuser admin that does not own an existing database: PostgreSQL's GRANT and
    REVOKE only *warn* ("no privileges were granted").  The check inside the accounts
    transaction sees the grants missing and rolls the roles back."""
    if not server.is_postgresql:
        pytest.skip("PostgreSQL only warns when a GRANT cannot be made")
    server.run(f'CREATE DATABASE "{USER_DB}"')  # owned by postgres
    name = server.account(LIMITED_ADMIN).name
    server.run(f'CREATE ROLE "{name}" LOGIN CREATEDB CREATEROLE')
    admin = make_url(server.admin_url)._replace(username=name).render_as_string(hide_password=False)
    with pytest.raises(ProvisioningError, match="grants not in effect") as info:
        provision(admin, database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG)
    assert info.value.step == "accounts" and info.value.undone == ()  # nothing of this run was committed
    assert server.database_exists(USER_DB)  # it existed before
    assert not server.account_exists(USER_APP) and not server.account_exists(USER_MIG)


# -- PostgreSQL passwords -------------------------------------------------------------------------


def test_postgresql_stores_scram_verifiers_that_match(server: Server) -> None:
    if not server.is_postgresql:
        pytest.skip("PostgreSQL's SCRAM verifiers")
    result = provision_service(server, "user", app_password="Known-Pa55word")
    app = result.account("app")
    assert app is not None
    stored = server.stored_secret(app)
    assert stored.startswith("SCRAM-SHA-256$4096:")
    assert verify_scram_sha256("Known-Pa55word", stored) and not verify_scram_sha256("Known-Pa55wore", stored)
    # the same algorithm as the server's own: a verifier PostgreSQL computed validates here
    with server.admin.connect() as c:
        c = c.execution_options(isolation_level="AUTOCOMMIT")
        c.execute(sa.text("SET password_encryption = 'scram-sha-256'"))
        c.execute(sa.text(f"CREATE ROLE {SCRAM_CHECK} PASSWORD 'Server-Made-1'"))
        own = c.execute(sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :n"), {"n": SCRAM_CHECK}).scalar()
    assert verify_scram_sha256("Server-Made-1", str(own))


POSTGRES_BINDIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _postgres_unavailable() -> str | None:
    if not POSTGRES_BINDIRS or not (POSTGRES_BINDIRS[0] / "initdb").exists():
        return "PostgreSQL server binaries (initdb, postgres) are not installed"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres user"
    if os.geteuid() != 0:
        return "starting postgres as the postgres user needs root"
    return None


@pytest.fixture
def scram_server(backend_name: str) -> Iterator[tuple[str, Path]]:
    """A throwaway PostgreSQL: ``postgres`` trusted on 127.0.0.1, everyone else SCRAM-SHA-256,
    every statement logged.  Yields (admin URL, server log path)."""
    if backend_name != "postgresql":
        pytest.skip("the SCRAM server runs in the postgresql session")
    reason = _postgres_unavailable()
    if reason is not None:
        if in_ci():
            pytest.fail(f"throwaway postgres unavailable under CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    bindir = POSTGRES_BINDIRS[0]
    owner = pwd.getpwnam("postgres")
    with readable_tempdir("tidb-compat-pg-") as root:
        os.chown(root, owner.pw_uid, owner.pw_gid)
        data, log = root / "data", root / "server.log"
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--auth-local=trust",
             "--auth-host=scram-sha-256"],
            check=True, capture_output=True, timeout=120, user="postgres",
        )
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        port = free_port()
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(root),
                 "-c", "listen_addresses=127.0.0.1", "-c", "log_statement=all", "-c", "fsync=off"],
                stdout=log_file, stderr=subprocess.STDOUT, user="postgres",
            )
        admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    engine = nullpool(admin_url)
                    with engine.connect():
                        pass
                    engine.dispose()
                    break
                except sa.exc.OperationalError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        tail = log.read_text(errors="replace")[-2000:]
                        raise RuntimeError(f"postgres did not start:\n{tail}") from None
                    time.sleep(0.2)
            yield admin_url, log
        finally:
            process.send_signal(signal.SIGINT)  # fast shutdown, by our own pid
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            shutil.rmtree(root, ignore_errors=True)


def test_postgresql_passwords_on_a_scram_server(scram_server: tuple[str, Path]) -> None:
    admin_url, log = scram_server
    first = provision(admin_url, database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG,
                      app_password=SPECIAL_PASSWORD)
    app = first.settings_for("app")
    migrator = first.settings_for("migrator")
    assert app is not None and migrator is not None

    def login(settings: DatabaseSettings) -> None:
        engine = nullpool(settings)
        try:
            with engine.connect() as c:
                c.execute(sa.text("SELECT 1"))
        finally:
            engine.dispose()

    login(app)
    login(migrator)
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        login(app.replace(password=SPECIAL_PASSWORD + "x"))

    second = provision(admin_url, database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG)
    assert not second.changed
    login(app)  # a no-op run kept the password

    rotated = provision(admin_url, database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG, rotate=True)
    new_app = rotated.settings_for("app")
    assert new_app is not None
    login(new_app)
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        login(app)

    text = log.read_text(errors="replace")
    assert "CREATE ROLE" in text and "SCRAM-SHA-256$4096:" in text  # statements were logged ...
    for password in (SPECIAL_PASSWORD, *(a.password for a in first.accounts + rotated.accounts)):
        assert password and password not in text  # ... with verifiers, never a password


# -- SQLite ------------------------------------------------------------------------------------------


def test_sqlite_creates_a_file_and_has_no_accounts(tmp_path: Path) -> None:
    admin = f"sqlite:///{tmp_path}/data/"
    result = provision(admin, database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG)
    path = tmp_path / "data" / f"{USER_DB}.sqlite3"
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert result.vendor == "sqlite" and result.database_created and result.changed
    assert not result.supports_accounts and result.accounts == ()
    assert any("no accounts" in note for note in result.notes)
    assert result.settings_for("app") == result.settings_for("migrator") == result.database_settings

    project = provision(f"sqlite:///{tmp_path}/data/admin.sqlite3", database=PROJECT_DB, app_user=PROJECT_APP,
                        migrator_user=PROJECT_MIG)
    assert (tmp_path / "data" / f"{PROJECT_DB}.sqlite3").is_file()  # a separate file, next to the admin path
    assert not (tmp_path / "data" / "admin.sqlite3").exists()  # the admin path only locates the folder
    assert project.database_created

    again = provision(admin, database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG)
    assert not again.database_created and not again.changed

    lines = credentials_lines(again, "USER_SERVICE")
    environ = dict(line.split("=", 1) for line in lines)
    settings = DatabaseSettings.from_env("USER_SERVICE_MIGRATOR", environ)
    engine = nullpool(settings)
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    assert DatabaseSettings.from_env("USER_SERVICE", environ).sqlite_path == path


def test_sqlite_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / f"{USER_DB}.sqlite3").write_text("not a database, just text " * 100)
    with pytest.raises(ProvisioningError):
        provision(f"sqlite:///{tmp_path}/", database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG)
    with pytest.raises(ConfigurationError):
        provision("sqlite://", database=USER_DB, app_user=USER_APP, migrator_user=USER_MIG)


# -- credentials output ---------------------------------------------------------------------------------


def fake_result(password: str, username: str = "kbFV66oHabEtRud.svc_app") -> ProvisionResult:
    where = DatabaseSettings.from_url(
        "mysql+pymysql://gateway01.eu-central-1.prod.aws.tidbcloud.com:4000/svc_db?ssl_mode=verify_identity"
    )
    accounts = (
        AccountResult("migrator", username.replace("app", "mig"), "%", "created", password[::-1]),
        AccountResult("app", username, "%", "created", password),
    )
    return ProvisionResult("tidb", "svc_db", True, where, True, accounts)


def test_credentials_lines_encode_every_character() -> None:
    result = fake_result(SPECIAL_PASSWORD)
    lines = credentials_lines(result, "user_service")
    assert [line.split("=", 1)[0] for line in lines] == ["USER_SERVICE_DATABASE_URL",
                                                         "USER_SERVICE_MIGRATOR_DATABASE_URL"]
    for line in lines:
        value = line.split("=", 1)[1]
        assert not set(value) & set(" \t$'\"`\\#")  # safe unquoted in a .env file and a shell
    environ = dict(line.split("=", 1) for line in lines)
    app = DatabaseSettings.from_env("USER_SERVICE", environ)
    assert app.password == SPECIAL_PASSWORD and app.username == "kbFV66oHabEtRud.svc_app"
    assert app.host == "gateway01.eu-central-1.prod.aws.tidbcloud.com" and app.port == 4000
    assert app.ssl_mode == "verify_identity" and app.database == "svc_db"
    assert DatabaseSettings.from_env("USER_SERVICE_MIGRATOR", environ).password == SPECIAL_PASSWORD[::-1]
    assert SPECIAL_PASSWORD not in repr(result) and SPECIAL_PASSWORD not in repr(result.accounts)
    assert render_url(result.database_settings).startswith("mysql+pymysql://gateway01")
    with pytest.raises(ConfigurationError):
        credentials_lines(result, "bad prefix")


def test_credentials_file_is_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # a permissive umask must not widen the file
    try:
        path = write_credentials(tmp_path / "svc.env", fake_result("Pa55-word-1"), "SVC")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("SVC_DATABASE_URL=mysql+pymysql://kbFV66oHabEtRud.svc_app:Pa55-word-1@")
    with pytest.raises(ConfigurationError):  # never silently replaced
        write_credentials(path, fake_result("Pa55-word-2"), "SVC")
    other = tmp_path / "existing.env"
    other.write_text("old")
    other.chmod(0o644)
    write_credentials(other, fake_result("Pa55-word-3"), "SVC", overwrite=True)
    assert stat.S_IMODE(other.stat().st_mode) == 0o600 and "Pa55-word-3" in other.read_text()
    link = tmp_path / "link.env"
    link.symlink_to(tmp_path / "elsewhere.env")
    with pytest.raises(OSError, match="symbolic links"):  # a planted symbolic link is not followed
        write_credentials(link, fake_result("Pa55-word-4"), "SVC", overwrite=True)
    assert not (tmp_path / "elsewhere.env").exists()
