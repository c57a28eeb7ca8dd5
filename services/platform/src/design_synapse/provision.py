"""Provisioning during ``design-synapse up --admin-url``: each service gets its database and
its migrator and app accounts; the bring-up then runs as those accounts.

New credentials are written to ``.data/credentials/<service>.env`` (mode 0600) as
``<PREFIX>_DATABASE_URL=...`` / ``<PREFIX>_MIGRATOR_DATABASE_URL=...`` lines, and read back on
the next run (when the accounts already exist their passwords are not known otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tidb_compat.errors import ConfigurationError
from tidb_compat.provisioning import write_credentials
from tidb_compat.service import ServiceDatabase, ServiceSpec
from tidb_compat.settings import DatabaseSettings

CREDENTIALS_DIR = Path(".data") / "credentials"


@dataclass(frozen=True)
class Provisioned:
    """What the bring-up connects with after provisioning."""

    app: DatabaseSettings
    migrator: DatabaseSettings
    summary: str
    credentials_file: Path | None


def _from_file(path: Path, spec: ServiceSpec) -> tuple[DatabaseSettings, DatabaseSettings] | None:
    if not path.exists():
        return None
    environ = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    app = DatabaseSettings.from_env(spec.env_prefix, environ, default_database=spec.database)
    migrator = DatabaseSettings.from_env(f"{spec.env_prefix}_MIGRATOR", environ, default_database=spec.database)
    return app, migrator


def provision_service(spec: ServiceSpec, admin_url: str, *, env_settings: DatabaseSettings | None,
                      rotate: bool = False) -> Provisioned:
    """Provision ``spec``'s database and accounts; the settings to run the service with."""
    CREDENTIALS_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)  # before any account exists
    database = ServiceDatabase(spec)
    result = database.provision(DatabaseSettings.from_url(admin_url, setting="--admin-url"), rotate=rotate)
    summary = ", ".join(f"{a.role} {a.status}" for a in result.accounts) or "no accounts"
    app, migrator = result.settings_for("app"), result.settings_for("migrator")
    path = CREDENTIALS_DIR / f"{spec.name}.env"
    if app is not None and migrator is not None:
        written = write_credentials(path, result, spec.env_prefix, overwrite=True)
        return Provisioned(app, migrator, summary, written)
    if not result.supports_accounts:
        return Provisioned(result.database_settings, result.database_settings, summary, None)
    if env_settings is not None:
        return Provisioned(env_settings, env_settings, summary, None)
    known = _from_file(path, spec)
    if known is None:
        raise ConfigurationError(
            f"{spec.env_prefix}_DATABASE_URL",
            f"the {spec.name} accounts exist but their passwords are not known here: set it (the credentials "
            "were printed or written when the accounts were made) or run with --rotate",
        )
    return Provisioned(known[0], known[1], summary, path)
