"""Service databases and least-privilege accounts (TDB-6), on every backend.

:func:`provision` creates a service's database and its two accounts through an admin
connection:

- the **migrator** account: every privilege on that database and nothing else, without
  GRANT OPTION (it runs the migrations and writes Alembic's version table);
- the **app** account: SELECT, INSERT, UPDATE, DELETE on that database only.

All SQL comes from the backend's provisioning module (``backend.provisioning``: the backend
contract); this module asks its flags and never branches on vendor names.  SQLite has no
accounts: the database is a separate file, and the result says so.

**Idempotent.**  A second run changes nothing: the database is created only if missing,
accounts only if missing, grants are re-applied (a no-op when present) and no password is
changed unless ``rotate=True``.  The result says, per account, whether it was ``created``,
left ``unchanged`` or ``rotated``; a password is returned only when it was set in this run.

**Failures.**  Everything is validated before any SQL is sent: identifiers (quotes,
backticks, semicolons, whitespace, case, length: TiDB Cloud's 32 characters *with* the
cluster prefix), host patterns and given passwords (TiDB Cloud's policy, on every backend),
and existing accounts are refused if they hold more than provisioning would grant (a
server-wide privilege, another database, GRANT OPTION), so reusing one service's account
for another is an error, not a silent widening.  If a step then fails, what *this run*
created (the database, accounts) is dropped again, so nothing half-made is left; what
existed before is left as it was, and since every step is idempotent a re-run completes it
(e.g. an existing account that lacks its grants gets them).  Password rotation is the last
step; if it fails after one account was rotated, the :class:`ProvisioningError` carries the
partial result with that account's new password.

**Secrets.**  Passwords are generated with :mod:`secrets` (:func:`generate_password`) unless
given.  They are bound as parameters on MySQL-family servers, through an admin engine made
with ``hide_parameters=True`` so neither echo logging nor error messages show them, and sent
as SCRAM-SHA-256 verifiers on PostgreSQL.  This module logs what it does, never a password.
:func:`credentials_lines` renders ``<PREFIX>_DATABASE_URL=...`` /
``<PREFIX>_MIGRATOR_DATABASE_URL=...`` and :func:`write_credentials` writes them to a new
file with mode 0600.

Why not ``sqlalchemy_utils.create_database``: it builds its own engine from the URL, so
the connection would skip :func:`tidb_compat.create_engine`'s TLS settings (TiDB Cloud
refuses plaintext; the CA and host-name checks would be lost), its UTC/strict session setup
and backend identification, and it creates MySQL databases with the server's default
collation (``utf8mb4_general_ci`` or ``utf8mb4_0900_ai_ci``, not ``utf8mb4_bin``); it knows
nothing of accounts or grants either.
"""

from __future__ import annotations

import logging
import os
import secrets
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from .backends import get_backend
from .backends.base.base import DatabaseBackend
from .backends.base.provisioning import (
    ACCOUNT_ROLES,
    PASSWORD_SPECIALS,
    Account,
    AccountRole,
    BaseProvisioning,
    Statement,
)
from .backends.registry import registry
from .engine import create_engine, engine_setup, to_settings
from .errors import ConfigurationError, TidbCompatError
from .settings import DatabaseSettings

__all__ = [
    "AccountResult",
    "AccountRole",
    "AccountStatus",
    "ProvisionResult",
    "ProvisioningError",
    "credentials_lines",
    "deprovision",
    "generate_password",
    "provision",
    "render_credentials",
    "write_credentials",
]

logger = logging.getLogger(__name__)

AccountStatus = Literal["created", "unchanged", "rotated"]

_ENV_SUFFIX: dict[AccountRole, str] = {"app": "DATABASE_URL", "migrator": "MIGRATOR_DATABASE_URL"}
_SETTING: dict[AccountRole, str] = {"app": "app_user", "migrator": "migrator_user"}
_PASSWORD_SETTING: dict[AccountRole, str] = {"app": "app_password", "migrator": "migrator_password"}
_GENERATED_ALPHABET = string.ascii_letters + string.digits + PASSWORD_SPECIALS
_MIN_GENERATED_LENGTH = 16


class ProvisioningError(TidbCompatError):
    """A provisioning step failed on the server (after validation).

    ``step`` names it; ``undone`` lists what this run had created and dropped again;
    ``remaining`` lists what it created but could not drop.  ``result`` is the state after
    the failure when something of this run remains (a rotated password, an account that
    could not be dropped), with the passwords set in this run, else ``None``.  The message
    holds the driver's error, never a password.
    """

    def __init__(
        self,
        message: str,
        *,
        step: str,
        undone: Sequence[str] = (),
        remaining: Sequence[str] = (),
        result: ProvisionResult | None = None,
    ) -> None:
        self.step = step
        self.undone = tuple(undone)
        self.remaining = tuple(remaining)
        self.result = result
        super().__init__(message)


@dataclass(frozen=True)
class AccountResult:
    """One account after :func:`provision`."""

    role: AccountRole
    name: str
    """The full user name (TiDB Cloud prefix included)."""
    host: str | None
    """The host pattern on MySQL-family servers (``%``), ``None`` elsewhere."""
    status: AccountStatus
    password: str | None = field(default=None, repr=False, compare=False)
    """The password, only when it was set in this run (created or rotated)."""

    @property
    def password_set(self) -> bool:
        return self.password is not None


@dataclass(frozen=True)
class ProvisionResult:
    """What :func:`provision` found and did."""

    vendor: str
    database: str
    database_created: bool
    database_settings: DatabaseSettings
    """Where the database is (the admin's server, TLS and driver options), no credentials."""
    supports_accounts: bool
    """False on SQLite: there are no accounts, and ``accounts`` is empty."""
    accounts: tuple[AccountResult, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """True if the database or an account was created, or a password rotated."""
        return self.database_created or any(a.status != "unchanged" for a in self.accounts)

    def account(self, role: AccountRole) -> AccountResult | None:
        return next((a for a in self.accounts if a.role == role), None)

    def settings_for(self, role: AccountRole) -> DatabaseSettings | None:
        """Connection settings of ``role``'s account, or ``None`` when its password is not
        known (the account existed and was not rotated in this run).  On SQLite: the file."""
        if not self.supports_accounts:
            return self.database_settings
        account = self.account(role)
        if account is None or account.password is None:
            return None
        return self.database_settings.replace(username=account.name, password=account.password)

    def __repr__(self) -> str:
        accounts = ", ".join(f"{a.role}={a.name!r}:{a.status}" for a in self.accounts) or "no accounts"
        return (
            f"ProvisionResult({self.vendor} database={self.database!r} "
            f"{'created' if self.database_created else 'existing'}, {accounts})"
        )


# -- passwords ---------------------------------------------------------------------------------


def _backend_instances() -> list[DatabaseBackend]:
    return [backend_class() for backend_class in registry]


def generate_password(length: int = 32) -> str:
    """A random password (:mod:`secrets`) that meets every registered backend's policy:
    letters, digits and ``-._~`` (no percent-encoding needed in a URL)."""
    if length < _MIN_GENERATED_LENGTH:
        raise ConfigurationError("length", f"generated passwords have at least {_MIN_GENERATED_LENGTH} characters")
    policies = [b.provisioning for b in _backend_instances()]
    while True:
        password = "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(length))
        if not any(p.password_problems(password) for p in policies):
            return password


# -- the plan: everything validated before any SQL ---------------------------------------------


@dataclass(frozen=True)
class _Plan:
    database: str
    accounts: dict[AccountRole, Account]
    passwords: dict[AccountRole, str]


def _plan(
    provisioning: BaseProvisioning,
    settings: DatabaseSettings,
    *,
    database: str,
    users: dict[AccountRole, str],
    given_passwords: dict[AccountRole, str | None],
    account_host: str,
    user_prefix: str | None,
) -> _Plan:
    database = provisioning.validate_database_name(database)
    if user_prefix is None:
        prefix = provisioning.user_prefix(settings.username)
    else:
        prefix = provisioning.validate_user_prefix(user_prefix)
    host = provisioning.validate_host(account_host)
    accounts = {
        role: provisioning.account(users[role], setting=_SETTING[role], prefix=prefix, host=host)
        for role in ACCOUNT_ROLES
    }
    if accounts["app"].name == accounts["migrator"].name:
        raise ConfigurationError("app_user", "the app and migrator accounts must be different")
    for role, account in accounts.items():
        if settings.username and account.name == settings.username:
            raise ConfigurationError(_SETTING[role], "an account to provision cannot be the admin account")
    passwords: dict[AccountRole, str] = {}
    for role in ACCOUNT_ROLES:
        given = given_passwords[role]
        if given is not None:
            passwords[role] = provisioning.validate_password(given, setting=_PASSWORD_SETTING[role])
        else:
            passwords[role] = generate_password()
    return _Plan(database, accounts, passwords)


# -- execution ---------------------------------------------------------------------------------


@dataclass
class _Step:
    statements: list[Statement]
    done: Callable[[], None] = lambda: None
    """Called once the step's statements are in effect (committed)."""


class _NotInEffect(Exception):
    """Statements ran, but the backend's check finds their effect missing."""


def _apply(
    engine: Engine,
    steps: Sequence[_Step],
    *,
    transactional: bool,
    check: Callable[[Connection], list[str]] | None = None,
) -> None:
    """Run ``steps`` on a new connection: all in one transaction, or each statement
    committed on its own (``done`` after each step).  ``check`` then reads what is in
    effect (inside the transaction: problems roll it back)."""
    if not any(step.statements for step in steps) and check is None:
        for step in steps:
            step.done()
        return
    with engine.connect() as connection:
        if transactional:
            with connection.begin():
                for step in steps:
                    for statement in step.statements:
                        connection.execute(sa.text(statement.sql), dict(statement.params))
                problems = check(connection) if check is not None else []
                if problems:
                    raise _NotInEffect("grants not in effect: " + "; ".join(problems))
            for step in steps:
                step.done()
        else:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            for step in steps:
                for statement in step.statements:
                    autocommit.execute(sa.text(statement.sql), dict(statement.params))
                step.done()
            problems = check(autocommit) if check is not None else []
            if problems:
                raise _NotInEffect("grants not in effect: " + "; ".join(problems))


def _describe(exc: BaseException, passwords: Iterable[str] = ()) -> str:
    """The driver's message, without the SQL, its parameters or (should a server quote the
    statement it received) any of ``passwords``."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(cause) if isinstance(cause, _NotInEffect) else f"{type(cause).__name__}: {cause}"
    for password in passwords:
        text = text.replace(password, "***")
    return text


@dataclass
class _Progress:
    database_created: bool = False
    created: list[AccountRole] = field(default_factory=list)
    rotated: list[AccountRole] = field(default_factory=list)


def provision(
    admin: DatabaseSettings | str | URL,
    /,
    *,
    database: str,
    app_user: str,
    migrator_user: str,
    app_password: str | None = None,
    migrator_password: str | None = None,
    rotate: bool = False,
    account_host: str = "%",
    user_prefix: str | None = None,
) -> ProvisionResult:
    """Create ``database`` and its migrator and app accounts through the ``admin`` connection.

    ``admin`` is an admin URL or settings (connected with :func:`tidb_compat.create_engine`,
    so TLS, UTC and strict mode apply; its ``echo`` is honoured, parameters hidden).
    ``app_user`` / ``migrator_user`` are the names without TiDB Cloud's cluster prefix
    (``user_prefix``; derived from an admin user ``<prefix>.root`` when ``None``; a name
    already carrying it is accepted).  Passwords are generated unless given; an existing
    account's password is changed only with ``rotate=True`` (to the given one, else a new
    one).  ``account_host`` is the host part of MySQL-family accounts; other backends accept
    only ``%``.

    Raises :class:`~tidb_compat.ConfigurationError` (naming the setting) before any SQL for
    invalid input or unsuitable existing accounts, and :class:`ProvisioningError` when a
    server step fails (after undoing what this run created).
    """
    settings = to_settings(admin)
    users: dict[AccountRole, str] = {"app": app_user, "migrator": migrator_user}
    given: dict[AccountRole, str | None] = {"app": app_password, "migrator": migrator_password}

    def make_plan(backend: DatabaseBackend) -> _Plan:
        return _plan(
            backend.provisioning, settings, database=database, users=users, given_passwords=given,
            account_host=account_host, user_prefix=user_prefix,
        )

    engine = create_engine(settings, poolclass=sa.pool.NullPool, hide_parameters=True)
    try:
        setup = engine_setup(engine)  # the vendor create_engine chose (TiDB for *.tidbcloud.com hosts)
        expected = registry.get(setup.pool_backend)() if setup else registry.generic_for(settings.family)()
        plan = make_plan(expected)  # validated before anything connects
        if expected.provisioning.database_is_file:
            return _provision_file(expected, settings, plan)
        with engine.connect() as connection:
            backend = get_backend(connection)
        if type(backend) is not type(expected):
            plan = make_plan(backend)  # the server is another vendor: its rules, still before any SQL
        return _provision_server(engine, backend, settings, plan, rotate=rotate)
    finally:
        engine.dispose()


def _provision_file(backend: DatabaseBackend, admin: DatabaseSettings, plan: _Plan) -> ProvisionResult:
    provisioning = backend.provisioning
    target = provisioning.database_settings(admin, plan.database)
    created = provisioning.create_database_file(target)
    engine = create_engine(target, poolclass=sa.pool.NullPool)
    try:
        sa.inspect(engine).get_table_names()  # the file is a database (or an empty file that becomes one)
    except Exception as exc:
        raise ProvisioningError(f"{target.redacted()} is not usable: {_describe(exc)}", step="database") from exc
    finally:
        engine.dispose()
    logger.info("%s database %s %s", backend.display_name, plan.database, "created" if created else "exists")
    note = f"{backend.display_name} has no accounts: access to {target.database} is its file permissions"
    return ProvisionResult(
        vendor=backend.vendor,
        database=plan.database,
        database_created=created,
        database_settings=target,
        supports_accounts=provisioning.supports_accounts,
        notes=(note,),
    )


def _provision_server(
    engine: Engine, backend: DatabaseBackend, admin: DatabaseSettings, plan: _Plan, *, rotate: bool
) -> ProvisionResult:
    provisioning = backend.provisioning
    target = provisioning.database_settings(admin, plan.database)
    accounts = plan.accounts

    # 1. read the current state; refuse unsuitable existing accounts (still no change made)
    with engine.connect() as connection:
        reader = connection.execution_options(isolation_level="AUTOCOMMIT")
        database_existed = provisioning.database_exists(reader, plan.database)
        existed = {role: provisioning.account_exists(reader, accounts[role]) for role in ACCOUNT_ROLES}
        for role in ACCOUNT_ROLES:
            if existed[role]:
                problems = provisioning.account_problems(
                    reader, accounts[role], database=plan.database, role=role
                )
                if problems:
                    raise ConfigurationError(
                        _SETTING[role],
                        f"the existing account {accounts[role]} holds more than the {role} account of "
                        f"{plan.database!r} may: {'; '.join(problems)}. Use another name, or revoke them first",
                    )

    progress = _Progress()

    def result() -> ProvisionResult:
        return _result(backend, plan, target, progress, existed)

    def mark_created(role: AccountRole) -> Callable[[], None]:
        return lambda: progress.created.append(role)

    def mark_rotated(role: AccountRole) -> Callable[[], None]:
        return lambda: progress.rotated.append(role)

    step = "database"
    try:
        # 2. the database (never inside a transaction: PostgreSQL refuses that)
        if not database_existed:
            statements = [Statement(sql) for sql in provisioning.create_database_sql(plan.database)]
            _apply(engine, [_Step(statements, lambda: setattr(progress, "database_created", True))],
                   transactional=False)
        # 3. missing accounts, then the grants on the admin connection
        step = "accounts"
        steps = [
            _Step(provisioning.create_account_sql(accounts[role], plan.passwords[role]), mark_created(role))
            for role in ACCOUNT_ROLES
            if not existed[role]
        ]
        pair = {"migrator": accounts["migrator"], "app": accounts["app"]}
        steps.append(_Step(provisioning.grant_sql(plan.database, **pair)))
        _apply(engine, steps, transactional=provisioning.transactional_ddl,
               check=lambda c: provisioning.grant_problems(c, plan.database, **pair))
        # 4. grants that must be made inside the database itself
        step = "database grants"
        inside = provisioning.database_grant_sql(plan.database, **pair)
        if inside:
            target_engine = create_engine(
                target.replace(username=admin.username, password=admin.password),
                poolclass=sa.pool.NullPool, hide_parameters=True,
            )
            try:
                _apply(target_engine, [_Step(inside)], transactional=provisioning.transactional_ddl,
                       check=lambda c: provisioning.database_grant_problems(c, plan.database, **pair))
            finally:
                target_engine.dispose()
    except Exception as exc:
        undone, remaining = _undo(engine, provisioning, plan, progress)
        partial = result() if remaining else None
        cause = _describe(exc, plan.passwords.values())
        message = f"provisioning {plan.database!r} failed at step {step!r}: {cause}"
        if undone:
            message += f"; undone: {', '.join(undone)}"
        if remaining:
            message += f"; NOT undone: {', '.join(remaining)}"
        logger.error("%s", message)
        raise ProvisioningError(message, step=step, undone=undone, remaining=remaining, result=partial) from exc

    # 5. rotation, last: nothing above depends on it, and a rotated password cannot be undone
    if rotate:
        steps = [
            _Step(provisioning.set_password_sql(accounts[role], plan.passwords[role]), mark_rotated(role))
            for role in ACCOUNT_ROLES
            if existed[role]
        ]
        try:
            _apply(engine, steps, transactional=provisioning.transactional_ddl)
        except Exception as exc:
            cause = _describe(exc, plan.passwords.values())
            message = f"provisioning {plan.database!r} failed at step 'rotate': {cause}"
            if progress.rotated:
                message += f"; already rotated: {', '.join(str(accounts[r]) for r in progress.rotated)}"
            logger.error("%s", message)
            raise ProvisioningError(message, step="rotate", result=result()) from exc

    final = result()
    logger.info(
        "%s database %s %s; %s",
        backend.display_name,
        plan.database,
        "created" if final.database_created else "exists",
        ", ".join(f"{a.role} account {a.name} {a.status}" for a in final.accounts),
    )
    return final


def _undo(
    engine: Engine, provisioning: BaseProvisioning, plan: _Plan, progress: _Progress
) -> tuple[list[str], list[str]]:
    """Drop what this run created (database first: its privileges go with it)."""
    undone: list[str] = []
    remaining: list[str] = []
    if progress.database_created:
        label = f"database {plan.database}"
        try:
            _apply(engine, [_Step([Statement(s) for s in provisioning.drop_database_sql(plan.database)])],
                   transactional=False)
            undone.append(label)
            progress.database_created = False
        except Exception as exc:
            logger.error("could not drop %s: %s", label, _describe(exc))
            remaining.append(label)
    for role in list(progress.created):
        account = plan.accounts[role]
        label = f"account {account}"
        try:
            with engine.connect() as connection:
                exists = provisioning.account_exists(connection.execution_options(isolation_level="AUTOCOMMIT"),
                                                     account)
            if exists:
                _apply(engine, [_Step(provisioning.drop_account_sql(account))],
                       transactional=provisioning.transactional_ddl)
            undone.append(label)
            progress.created.remove(role)
        except Exception as exc:
            logger.error("could not drop %s: %s", label, _describe(exc))
            remaining.append(label)
    return undone, remaining


def _result(
    backend: DatabaseBackend,
    plan: _Plan,
    target: DatabaseSettings,
    progress: _Progress,
    existed: dict[AccountRole, bool],
) -> ProvisionResult:
    accounts: list[AccountResult] = []
    for role in ACCOUNT_ROLES:
        account = plan.accounts[role]
        status: AccountStatus
        if role in progress.created:
            status, password = "created", plan.passwords[role]
        elif role in progress.rotated:
            status, password = "rotated", plan.passwords[role]
        else:
            status, password = "unchanged", None
        if status == "unchanged" and not existed[role]:
            continue  # not created (a failed run): nothing to report
        accounts.append(AccountResult(role, account.name, account.host, status, password))
    notes: list[str] = []
    if any(a.status == "unchanged" for a in accounts):
        notes.append("existing accounts keep their passwords (not returned); rotate=True sets new ones")
    return ProvisionResult(
        vendor=backend.vendor,
        database=plan.database,
        database_created=progress.database_created,
        database_settings=target,
        supports_accounts=True,
        accounts=tuple(accounts),
        notes=tuple(notes),
    )


# -- credentials output ------------------------------------------------------------------------


def _env_prefix(prefix: str) -> str:
    normalized = prefix.strip().upper().rstrip("_")
    if not normalized or not all(c.isalnum() or c == "_" for c in normalized) or not normalized[0].isalpha():
        raise ConfigurationError("prefix", f"{prefix!r} is not an environment prefix such as USER_SERVICE")
    return normalized


def render_url(settings: DatabaseSettings) -> str:
    """``settings`` as a URL string with the password *included*, user name and password
    percent-encoded (everything but ``A-Za-z0-9-._~``), so it parses back exactly with
    :meth:`DatabaseSettings.from_url` and holds no ``$``, quote or space for a ``.env`` file.
    ``ssl_mode``, ``ssl_ca`` and ``backend`` go into the query."""
    query: dict[str, str | tuple[str, ...]] = dict(settings.query)
    for key in ("ssl_mode", "ssl_ca", "backend"):
        value = getattr(settings, key)
        if value is not None:
            query[key] = value
    base = URL.create(
        drivername=settings.drivername, host=settings.host, port=settings.port, database=settings.database,
        query=query,
    ).render_as_string(hide_password=False)
    if settings.username is None:
        return base
    userinfo = quote(settings.username, safe="")
    if settings.password is not None:
        userinfo += ":" + quote(settings.password, safe="")
    scheme, rest = base.split("://", 1)
    return f"{scheme}://{userinfo}@{rest}"


def credentials_lines(result: ProvisionResult, prefix: str) -> list[str]:
    """``<PREFIX>_DATABASE_URL=...`` (app account) and ``<PREFIX>_MIGRATOR_DATABASE_URL=...``
    lines, for the accounts whose password was set in this run (both on SQLite, with no
    credentials).  ``DatabaseSettings.from_env(PREFIX)`` and ``from_env(PREFIX + "_MIGRATOR")``
    read them back.  The lines hold passwords: never log them."""
    p = _env_prefix(prefix)
    lines: list[str] = []
    for role in ("app", "migrator"):
        settings = result.settings_for(role)
        if settings is not None:
            lines.append(f"{p}_{_ENV_SUFFIX[role]}={render_url(settings)}")
    return lines


def render_credentials(result: ProvisionResult, prefix: str) -> str:
    """:func:`credentials_lines` as the text of an env file (``""`` when there are none)."""
    lines = credentials_lines(result, prefix)
    return "".join(f"{line}\n" for line in lines)


def write_credentials(
    path: str | os.PathLike[str], result: ProvisionResult, prefix: str, *, overwrite: bool = False
) -> Path:
    """Write :func:`render_credentials` to ``path``, created with mode 0600 (``O_EXCL``: an
    existing file is an error unless ``overwrite``, which truncates it and sets 0600 before
    writing).  Symbolic links are not followed.  Raises ConfigurationError when no
    credentials were set in this run (pass ``rotate=True`` to set new ones)."""
    text = render_credentials(result, prefix)
    if not text:
        raise ConfigurationError(
            "rotate", "no credentials were set in this run (the accounts existed): provision with rotate=True"
        )
    target = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise ConfigurationError("credentials file", f"{target} exists; pass overwrite=True to replace it") from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # an existing file (overwrite), or a umask that allowed less
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            fd = -1
            handle.write(text)
    finally:
        if fd != -1:
            os.close(fd)
    logger.info("credentials for %s written to %s (mode 0600)", _env_prefix(prefix), target)
    return target



def deprovision(
    admin: DatabaseSettings | str | URL,
    /,
    *,
    database: str,
    app_user: str,
    migrator_user: str,
    account_host: str = "%",
    user_prefix: str | None = None,
) -> list[str]:
    """Drop ``database`` and the two accounts :func:`provision` made for it, where they exist
    (a service removed, or a test cleaning up).  Returns what was dropped."""
    settings = to_settings(admin)
    engine = create_engine(settings, poolclass=NullPool, hide_parameters=True)
    dropped: list[str] = []
    try:
        with engine.connect() as connection:
            backend = get_backend(connection)
            provisioning = backend.provisioning
            plan = _plan(provisioning, settings, database=database,
                         users={"app": app_user, "migrator": migrator_user},
                         given_passwords={"app": None, "migrator": None}, account_host=account_host,
                         user_prefix=user_prefix)
            if not provisioning.supports_accounts:
                return dropped
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            if provisioning.database_exists(autocommit, plan.database):
                for sql in provisioning.drop_database_sql(plan.database):
                    autocommit.execute(sa.text(sql))
                dropped.append(f"database {plan.database}")
            for account in plan.accounts.values():
                if provisioning.account_exists(autocommit, account):
                    for statement in provisioning.drop_account_sql(account):
                        autocommit.execute(sa.text(statement.sql))
                    dropped.append(f"account {account}")
    finally:
        engine.dispose()
    return dropped
