"""``design-synapse up``: bring the whole platform up on a target.

For each service (user, project, knowledge), on the database its environment names (embedded
SQLite files under ``./.data`` by default; TiDB via ``<PREFIX>_DATABASE_URL``): provision it
when an admin URL is given, migrate to head, check the connection, run the smoke test, and
print a short report (backend, version, TLS, tables, timings).  Exit 0 when every step of
every service succeeded; 1 otherwise (one line per failure, no traceback, no password).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from tidb_compat.cli import _describe_error
from tidb_compat.errors import ConfigurationError
from tidb_compat.service import ServiceDatabase, ServiceSpec
from tidb_compat.settings import DatabaseSettings, redact_url

from . import SERVICES


def _timed(step: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def bring_up(spec: ServiceSpec, settings: DatabaseSettings, *, admin_url: str | None = None,
             env_url_given: bool = False, rotate: bool = False) -> dict[str, Any]:
    """Provision (with an admin URL), migrate, check and smoke one service."""
    row: dict[str, Any] = {"service": spec.name, "database": spec.database}
    migrator: DatabaseSettings | None = None
    if admin_url:
        from .provision import provision_service

        provisioned, row["provision_s"] = _timed(
            lambda: provision_service(spec, admin_url, env_settings=settings if env_url_given else None,
                                      rotate=rotate)
        )
        settings, migrator = provisioned.app, provisioned.migrator
        row["provision"] = provisioned.summary
        if provisioned.credentials_file is not None:
            row["credentials_file"] = str(provisioned.credentials_file)
    database = ServiceDatabase(spec, settings, migrator)
    try:
        revision, row["migrate_s"] = _timed(database.migrate)
        report, row["check_s"] = _timed(database.check)
        _, row["smoke_s"] = _timed(database.smoke)
        tls = report.get("tls") or {}
        row.update(
            revision=revision,
            backend=f"{report['display_name']} {report['server_version']}",
            url=report["url"],
            tls=tls.get("version") or ("off" if tls else "n/a"),
            tables=len(spec.metadata.tables),
            round_trip_ms=report["round_trip_ms"],
            ok=True,
        )
    finally:
        database.dispose()
    return row


def _print_table(rows: list[dict[str, Any]], out: Any) -> None:
    out.write(f"{'service':<10} {'backend':<22} {'TLS':<8} {'tables':>6} {'migrate':>8} {'check':>7} {'smoke':>7}\n")
    for row in rows:
        if not row.get("ok"):
            out.write(f"{row['service']:<10} FAILED: {row['error']}\n")
            continue
        out.write(
            f"{row['service']:<10} {row['backend']:<22} {row['tls']:<8} {row['tables']:>6} "
            f"{row['migrate_s']:>7.2f}s {row['check_s']:>6.2f}s {row['smoke_s']:>6.2f}s\n"
        )
    for row in rows:
        if row.get("ok"):
            extra = f"; provision: {row['provision']}" if "provision" in row else ""
            extra += f"; credentials in {row['credentials_file']}" if "credentials_file" in row else ""
            out.write(f"  {row['service']}: {row['url']} at revision {row['revision']}{extra}\n")


def up(argv: Sequence[str] | None = None) -> int:
    description = __doc__.split("\n\n")[0] if __doc__ else None
    parser = argparse.ArgumentParser(prog="design-synapse up", description=description)
    parser.add_argument("--admin-url", help="provision each service's database and accounts first (TiDB/MySQL/"
                        "MariaDB/PostgreSQL admin URL; also <PREFIX>_ADMIN_DATABASE_URL)")
    parser.add_argument("--rotate", action="store_true", help="with --admin-url: set new account passwords")
    parser.add_argument("--only", action="append", choices=[s.name for s in SERVICES], help="bring up only these")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for spec in SERVICES:
        if args.only and spec.name not in args.only:
            continue
        admin_url = args.admin_url or _admin_url_from_env(spec)
        settings: DatabaseSettings | None = None
        try:
            settings = DatabaseSettings.from_env(spec.env_prefix, default_database=spec.database)
            env_url_given = bool(os.environ.get(f"{spec.env_prefix}_DATABASE_URL") or
                                 os.environ.get(f"{spec.env_prefix}_DB_HOST"))
            rows.append(bring_up(spec, settings, admin_url=admin_url, env_url_given=env_url_given,
                                 rotate=args.rotate))
        except ConfigurationError as exc:
            rows.append({"service": spec.name, "ok": False, "error": f"configuration error: {redact_url(str(exc))}"})
        except Exception as exc:
            rows.append({"service": spec.name, "ok": False, "error": redact_url(_describe_error(exc, settings))})
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
    else:
        _print_table(rows, sys.stdout)
    failed = [row for row in rows if not row.get("ok")]
    for row in failed:
        sys.stderr.write(f"design-synapse up: {row['service']}: {row['error']}\n")
    return 1 if failed else 0


def _admin_url_from_env(spec: ServiceSpec) -> str | None:
    return os.environ.get(f"{spec.env_prefix}_ADMIN_DATABASE_URL") or None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] != "up":
        sys.stderr.write("usage: design-synapse up [--admin-url URL] [--only SERVICE] [--json]\n")
        return 2
    return up(arguments[1:])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
