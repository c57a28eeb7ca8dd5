"""``tidb-compat``: the command line.

``tidb-compat check --url URL`` (or ``--env-prefix PREFIX``) connects, then prints the server
vendor and version, the session time zone, the TLS state, the round-trip latency and the
capability flags.  Exit status 0 when the database answered; 1 when it did not (one line,
no traceback, no password); 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from .backends import get_backend
from .backends.registry import registry
from .engine import create_engine, engine_setup, to_settings
from .errors import ConfigurationError, TidbCompatError
from .settings import DatabaseSettings, redact_url

EXIT_OK = 0
EXIT_UNREACHABLE = 1
EXIT_CONFIG = 2


def _settings(args: argparse.Namespace) -> DatabaseSettings:
    if args.url:
        return to_settings(DatabaseSettings.from_url(args.url, setting="--url"), args.backend)
    if args.env_prefix:
        return to_settings(DatabaseSettings.from_env(args.env_prefix), args.backend)
    raise ConfigurationError("--url", "give --url URL or --env-prefix PREFIX")


def _describe_error(exc: BaseException, settings: DatabaseSettings | None) -> str:
    if isinstance(exc, TidbCompatError):
        return redact_url(str(exc))
    if isinstance(exc, sa_exc.DBAPIError) and settings is not None:
        backend_class = registry.get(settings.backend) if settings.backend else registry.generic_for(settings.family)
        where = settings.redacted()
        return f"cannot use {where}: {redact_url(backend_class().errors.describe(exc))}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact_url(text)


def check(engine: Engine, *, samples: int = 5) -> dict[str, Any]:
    """Connect and collect what ``tidb-compat check`` reports."""
    with engine.connect() as connection:
        backend = get_backend(connection)
        dbapi_connection = connection.connection.dbapi_connection
        time_zone = backend.ops.session_time_zone(dbapi_connection)
        setup = engine_setup(engine)
        tls_status = backend.driver.tls_status(dbapi_connection, setup.tls) if setup is not None else None
        timings = []
        for _ in range(max(1, samples)):
            started = time.perf_counter()
            connection.exec_driver_sql(backend.ops.ping_query).all()
            timings.append((time.perf_counter() - started) * 1000.0)
        connection.rollback()
    report: dict[str, Any] = {
        "vendor": backend.vendor,
        "display_name": backend.display_name,
        "server_version": ".".join(map(str, backend.server_version)),
        "version_string": backend.version_string,
        "url": setup.settings.redacted() if setup is not None else engine.url.render_as_string(hide_password=True),
        "session_time_zone": time_zone,
        "round_trip_ms": round(statistics.median(timings), 3),
        "features": backend.features.as_dict(),
    }
    if tls_status is not None and setup is not None:
        report["tls"] = {
            "mode": setup.tls.mode,
            "version": tls_status.version,
            "cipher": tls_status.cipher,
            "chain_verified": tls_status.encrypted and tls_status.chain_verified,
            "hostname_verified": tls_status.encrypted and tls_status.hostname_verified,
            "ca": setup.tls.ca_file if setup.tls.verify_chain else None,
        }
    return report


def _print_report(report: dict[str, Any], out: TextIO) -> None:
    out.write(f"server:      {report['display_name']} {report['server_version']} ({report['version_string']})\n")
    out.write(f"url:         {report['url']}\n")
    out.write(f"time zone:   {report['session_time_zone'] or 'n/a (no session time zone)'}\n")
    tls = report.get("tls")
    if tls is None:
        out.write("tls:         n/a (embedded database)\n")
    elif tls["version"] is None:
        out.write(f"tls:         not encrypted (ssl_mode={tls['mode']})\n")
    else:
        chain = f"chain verified against {tls['ca']}" if tls["chain_verified"] else "chain NOT verified"
        host = "host name verified" if tls["hostname_verified"] else "host name NOT verified"
        out.write(f"tls:         {tls['version']} {tls['cipher']} (ssl_mode={tls['mode']}; {chain}; {host})\n")
    out.write(f"round trip:  {report['round_trip_ms']:.3f} ms (median)\n")
    out.write("features:\n")
    for name, value in report["features"].items():
        out.write(f"  {name:<30} {value}\n")


def _cmd_check(args: argparse.Namespace) -> int:
    settings: DatabaseSettings | None = None
    try:
        settings = _settings(args)
        engine = create_engine(settings, poolclass=NullPool)
        try:
            report = check(engine, samples=args.samples)
        finally:
            engine.dispose()
    except ConfigurationError as exc:
        sys.stderr.write(f"tidb-compat check: configuration error: {_describe_error(exc, settings)}\n")
        return EXIT_CONFIG
    except Exception as exc:
        sys.stderr.write(f"tidb-compat check: {_describe_error(exc, settings)}\n")
        return EXIT_UNREACHABLE
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    else:
        _print_report(report, sys.stdout)
    return EXIT_OK


def _cmd_audit(args: argparse.Namespace) -> int:
    """``tidb-compat audit``: exit 0 when clean, 1 on findings, 2 for a configuration error."""
    from .audit import audit, format_json, format_text, rule_table

    if args.list_rules:
        for rule_id, title, hint in rule_table():
            sys.stdout.write(f"{rule_id}  {title}\n       hint: {hint}\n")
        return EXIT_OK
    paths = args.paths or ([] if args.metadata else ["."])
    try:
        result = audit(paths, args.metadata, exclude=args.exclude)
    except ConfigurationError as exc:
        sys.stderr.write(f"tidb-compat audit: configuration error: {' '.join(str(exc).split())}\n")
        return EXIT_CONFIG
    if args.format == "json":
        sys.stdout.write(format_json(result.findings))
    else:
        sys.stdout.write(format_text(result.findings))
        scope = [f"{result.files} file{'s' if result.files != 1 else ''}"] if paths else []
        if args.metadata:
            scope.append(f"{result.tables} table{'s' if result.tables != 1 else ''}")
        count = len(result.findings)
        sys.stderr.write(f"tidb-compat audit: {count} finding{'s' if count != 1 else ''} ({', '.join(scope)})\n")
    return 1 if result.findings else EXIT_OK  # 1: findings


def _cmd_init_migrations(args: argparse.Namespace) -> int:
    """``tidb-compat init-migrations DIR``: a migration environment from the shipped template."""
    import re
    from pathlib import Path

    from alembic import command
    from alembic.util import CommandError

    from .migrations import TEMPLATE_DIR, make_config

    ini = Path(args.ini)
    if ini.exists():
        sys.stderr.write(f"tidb-compat init-migrations: {ini} already exists\n")
        return EXIT_CONFIG
    try:
        command.init(make_config(args.directory, ini_file=ini, stdout=sys.stdout), args.directory,
                     template=str(TEMPLATE_DIR))
    except CommandError as exc:
        sys.stderr.write(f"tidb-compat init-migrations: {exc}\n")
        return EXIT_CONFIG
    text = ini.read_text()
    for option, value in (("tidb_compat.env_prefix", args.env_prefix), ("tidb_compat.metadata", args.metadata),
                          ("tidb_compat.async", "true" if args.use_async else None)):
        if value:
            text = re.sub(rf"(?m)^{re.escape(option)} =.*$", f"{option} = {value}", text)
    ini.write_text(text)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tidb-compat", description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="connect and report server, TLS, latency and capability flags")
    source = check_parser.add_mutually_exclusive_group()
    source.add_argument("--url", help="database URL (ssl_mode and ssl_ca may be given in its query)")
    source.add_argument("--env-prefix", help="read {PREFIX}_DATABASE_URL / {PREFIX}_DB_* from the environment")
    check_parser.add_argument("--backend", help="name the vendor explicitly (tidb, mysql, mariadb, postgresql, sqlite)")
    check_parser.add_argument("--samples", type=int, default=5, help="round trips to time (default 5)")
    check_parser.add_argument("--json", action="store_true", help="print the report as JSON")
    check_parser.set_defaults(handler=_cmd_check)
    audit_parser = commands.add_parser(
        "audit", help="find what will not run, or behaves differently, on TiDB (static, no server)"
    )
    audit_parser.add_argument(
        "paths", nargs="*", metavar="PATHS",
        help=".py files, requirements*.txt, pyproject.toml, setup.cfg or directories (default: . without --metadata)",
    )
    audit_parser.add_argument(
        "--metadata", action="append", default=[], metavar="MODULE:ATTR",
        help="import a SQLAlchemy MetaData or declarative base and check its tables (repeatable)",
    )
    audit_parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    audit_parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="skip matching files or directories"
    )
    audit_parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    audit_parser.set_defaults(handler=_cmd_audit)
    init_parser = commands.add_parser("init-migrations", help="create an Alembic environment for portable migrations")
    init_parser.add_argument("directory", help="where the migration scripts go (must not exist or be empty)")
    init_parser.add_argument("--ini", default="alembic.ini", help="the alembic.ini to write (default ./alembic.ini)")
    init_parser.add_argument("--env-prefix", help="settings prefix, e.g. USER_SERVICE")
    init_parser.add_argument("--metadata", help="the models, e.g. user_service.models:Base")
    init_parser.add_argument("--async", dest="use_async", action="store_true", help="migrate through the async driver")
    init_parser.set_defaults(handler=_cmd_init_migrations)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Any = args.handler
    return int(handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
