"""``DatabaseSettings``: where the database is and how to reach it, from the environment.

One object describes a database for every backend.  It is built from a URL
(``DatabaseSettings.from_url``) or from environment variables
(``DatabaseSettings.from_env("USER_SERVICE")``), with typed fields: a string ``"false"``
becomes ``False``, a port becomes an ``int``, and a value that cannot be parsed is a
:class:`~tidb_compat.ConfigurationError` naming the variable.  With nothing set, the
database is an embedded SQLite file ``./.data/<database name>.sqlite3``.

The password is kept out of ``repr``, ``str`` and every error message.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigurationError

__all__ = ["SSL_MODES", "DatabaseSettings", "parse_bool", "redact_url"]

SSL_MODES: Final = ("disabled", "preferred", "required", "verify_ca", "verify_identity")
"""The values of ``ssl_mode``, as MySQL's and libpq's clients use them."""

DEFAULT_DATA_DIR: Final = "./.data"
DEFAULT_CONNECT_TIMEOUT: Final = 10

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f"})

_FAMILY_ALIASES: Final = {"postgres": "postgresql", "mariadb": "mysql"}

# Query keys consumed by tidb_compat before SQLAlchemy sees the URL.
_OWN_QUERY_KEYS: Final = ("ssl_mode", "ssl_ca", "backend")

# Driver-specific TLS spellings whose string forms are traps (``ssl_verify_identity=false``
# switches verification ON in PyMySQL): refused in favour of ssl_mode / ssl_ca.
_DRIVER_TLS_KEYS: Final = frozenset(
    {"ssl", "ssl_disabled", "ssl_verify_cert", "ssl_verify_identity", "ssl_cert", "ssl_key", "ssl_key_password",
     "sslmode", "sslrootcert", "ssl_check_hostname", "ssl_capath", "ssl_cipher"}
)

_URL_CREDENTIALS = re.compile(
    r"(?P<head>(?:[A-Za-z][\w+.-]*)?://[^:/@\s]*:)"  # scheme (even empty) :// user :
    r"(?P<password>.*?)"  # the password: anything, spaces and '@' included ...
    r"(?P<tail>@[^@\s/'\"]*(?=[/\s'\"]|$))"  # ... up to the '@' that starts the host
)


def redact_url(text: str) -> str:
    """Replace the password of every URL in ``text`` by ``***`` (works on malformed URLs)."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['head']}***{m['tail']}", text)


def parse_bool(value: str | bool, setting: str) -> bool:
    """``"true"/"1"/"yes"/"on"`` -> True, ``"false"/"0"/"no"/"off"`` -> False, else an error."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(setting, f"expected a boolean (true/false, 1/0, yes/no, on/off), got {value!r}")


def _parse_int(value: str | int, setting: str, *, minimum: int | None = None) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigurationError(setting, f"expected an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigurationError(setting, f"must be at least {minimum}, got {number}")
    return number


def _parse_float(value: str | float, setting: str) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ConfigurationError(setting, f"expected a number of seconds, got {value!r}") from None
    if number < 0:
        raise ConfigurationError(setting, f"must not be negative, got {number}")
    return number


def _parse_ssl_mode(value: str, setting: str) -> str:
    mode = value.strip().lower().replace("-", "_")
    if mode not in SSL_MODES:
        raise ConfigurationError(setting, f"expected one of {', '.join(SSL_MODES)}; got {value!r}")
    return mode


@dataclass(frozen=True, repr=False)
class DatabaseSettings:
    """Connection settings for one database, on any backend.

    ``drivername`` is the URL scheme as written (``mysql+pymysql``, ``postgresql``,
    ``sqlite``); the engine builder chooses the sync or async driver of the backend.
    ``backend`` names the vendor explicitly (``tidb``, ``mysql``, ``mariadb``, ...); when it
    is ``None`` the server is identified from its version string at first connect.
    Pool fields left at ``None`` take the backend's defaults.
    """

    drivername: str = "sqlite"
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, compare=False)
    database: str | None = None
    query: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    backend: str | None = None
    ssl_mode: str | None = None
    ssl_ca: str | None = None
    pool_size: int | None = None
    max_overflow: int | None = None
    pool_timeout: float | None = None
    pool_recycle: int | None = None
    pool_pre_ping: bool | None = None
    pool_ping_after: float | None = None
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
    echo: bool = False
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Field name -> the setting it came from (``USER_SERVICE_DB_SSL_CA``, ``url (ssl_mode)``),
    so errors name what the user wrote."""

    def __post_init__(self) -> None:
        if self.ssl_mode is not None:
            object.__setattr__(self, "ssl_mode", _parse_ssl_mode(self.ssl_mode, "ssl_mode"))
        if self.backend is not None:
            object.__setattr__(self, "backend", self.backend.strip().lower())
        if self.port is not None and not 0 < self.port < 65536:
            raise ConfigurationError("port", f"must be between 1 and 65535, got {self.port}")

    # -- derived values ---------------------------------------------------------------

    def source_of(self, name: str) -> str:
        """The setting a field came from, for error messages (the field name by default)."""
        return self.sources.get(name, name)

    @property
    def family(self) -> str:
        """The SQLAlchemy dialect name: ``mysql`` (TiDB, MySQL, MariaDB), ``postgresql``, ``sqlite``."""
        name = self.drivername.split("+", 1)[0].lower()
        return _FAMILY_ALIASES.get(name, name)

    @property
    def driver(self) -> str | None:
        """The driver named in the URL (``pymysql`` in ``mysql+pymysql``), if any."""
        parts = self.drivername.split("+", 1)
        return parts[1] if len(parts) == 2 else None

    @property
    def is_loopback(self) -> bool:
        """True when the host is loopback as written (no DNS lookup), or there is no host."""
        from .tls import is_loopback_host

        return is_loopback_host(self.host)

    def _backend_driver(self) -> Any:
        from .backends.registry import registry

        vendor = self.backend or registry.generic_for(self.family).vendor
        return registry.get(vendor)().driver

    def _url_with_driver(self, driver: str) -> URL:
        query = {k: v for k, v in self.query.items()}
        return URL.create(
            drivername=f"{self.family}+{driver}",
            username=self.username,
            password=self.password,
            host=self.host,
            port=self.port,
            database=self.database,
            query=query,
        )

    @property
    def url(self) -> URL:
        """The URL for a synchronous engine (PyMySQL, psycopg, pysqlite by default)."""
        driver = self._backend_driver()
        chosen = self.driver if self.driver and self.driver not in driver.async_drivers else driver.sync_driver
        return self._url_with_driver(chosen)

    @property
    def async_url(self) -> URL:
        """The URL for an asynchronous engine (aiomysql, psycopg, aiosqlite by default)."""
        driver = self._backend_driver()
        chosen = self.driver if self.driver and self.driver in driver.async_drivers else driver.async_driver
        return self._url_with_driver(chosen)

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite URL (``None`` for other backends and ``:memory:``)."""
        if self.family != "sqlite" or not self.database or self.database == ":memory:":
            return None
        if self.database.startswith("file:"):
            return None
        return Path(self.database)

    def redacted(self) -> str:
        """The sync URL with the password replaced by ``***``."""
        return self.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        shown = [f"url={self.redacted()!r}"]
        for name in ("backend", "ssl_mode", "ssl_ca", "pool_size", "max_overflow", "pool_timeout",
                     "pool_recycle", "pool_pre_ping", "pool_ping_after"):
            value = getattr(self, name)
            if value is not None:
                shown.append(f"{name}={value!r}")
        return f"DatabaseSettings({', '.join(shown)})"

    __str__ = __repr__

    def replace(self, **changes: Any) -> DatabaseSettings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    # -- constructors -----------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str | URL, *, setting: str = "url", **fields: Any) -> DatabaseSettings:
        """Settings from a SQLAlchemy URL.  ``ssl_mode``, ``ssl_ca`` and ``backend`` in the
        query are consumed here; driver-specific TLS keys are refused (their string forms
        are traps): use ``ssl_mode``/``ssl_ca``.  ``setting`` names the source in errors."""
        try:
            parsed = make_url(url) if isinstance(url, str) else url
        except (ArgumentError, ValueError):
            shown = redact_url(str(url))
            raise ConfigurationError(setting, f"not a valid database URL: {shown!r}") from None
        query = dict(parsed.query)
        own: dict[str, str] = {}
        for key in _OWN_QUERY_KEYS:
            if key in query:
                value = query.pop(key)
                if isinstance(value, tuple):
                    raise ConfigurationError(f"{setting} ({key})", "given more than once")
                own[key] = value
        bad = sorted(set(query) & _DRIVER_TLS_KEYS)
        if bad:
            raise ConfigurationError(
                f"{setting} ({bad[0]})",
                "driver-specific TLS options are not accepted (their string forms mean different "
                "things per driver); use ssl_mode=disabled|preferred|required|verify_ca|verify_identity "
                "and ssl_ca=PATH",
            )
        values: dict[str, Any] = {
            "drivername": parsed.drivername,
            "host": parsed.host,
            "port": parsed.port,
            "username": parsed.username,
            "password": parsed.password if parsed.password is None else str(parsed.password),
            "database": parsed.database,
            "query": query,
        }
        sources = {"url": setting}
        if "ssl_mode" in own:
            values["ssl_mode"] = _parse_ssl_mode(own["ssl_mode"], f"{setting} (ssl_mode)")
        if "backend" in own:
            values["backend"] = own["backend"]
        for key in own:
            if key != "ssl_mode":
                values[key] = own[key]
            sources[key] = f"{setting} ({key})"
        values["sources"] = sources
        values.update(fields)
        return cls(**values)

    @classmethod
    def from_env(
        cls,
        prefix: str,
        environ: Mapping[str, str] | None = None,
        *,
        default_database: str | None = None,
    ) -> DatabaseSettings:
        """Settings from ``{PREFIX}_*`` environment variables.

        ``{PREFIX}_DATABASE_URL`` wins; otherwise ``{PREFIX}_DB_HOST`` (with ``_PORT``,
        ``_USER``, ``_PASSWORD``, ``_NAME``, ``_BACKEND``) describes a server; otherwise the
        database is the SQLite file ``{PREFIX}_DB_DATA_DIR/<name>.sqlite3`` (``./.data``),
        where the name is ``{PREFIX}_DB_NAME``, ``default_database`` or the prefix in lower
        case.  ``_DB_SSL_MODE``, ``_DB_SSL_CA``, ``_DB_BACKEND``, the pool options
        (``_DB_POOL_SIZE``, ``_DB_MAX_OVERFLOW``, ``_DB_POOL_TIMEOUT``, ``_DB_POOL_RECYCLE``,
        ``_DB_POOL_PRE_PING``, ``_DB_POOL_PING_AFTER``), ``_DB_CONNECT_TIMEOUT`` and ``_DB_ECHO`` apply in
        every case.
        """
        env = os.environ if environ is None else environ
        p = prefix.strip().upper().rstrip("_")
        if not p:
            raise ConfigurationError("prefix", "an environment prefix is required, e.g. USER_SERVICE")

        def get(name: str) -> str | None:
            value = env.get(f"{p}_{name}")
            return value if value not in (None, "") else None

        url_var = f"{p}_DATABASE_URL"
        backend = get("DB_BACKEND")
        name = get("DB_NAME") or default_database or p.lower()
        if get("DATABASE_URL") is not None:
            settings = cls.from_url(env[url_var], setting=url_var)
        elif get("DB_HOST") is not None:
            from .backends.registry import registry

            family = registry.get(backend, setting=f"{p}_DB_BACKEND").family if backend else "mysql"
            port = get("DB_PORT")
            settings = cls(
                drivername=family,
                host=get("DB_HOST"),
                port=_parse_int(port, f"{p}_DB_PORT", minimum=1) if port is not None else None,
                username=get("DB_USER"),
                password=get("DB_PASSWORD"),
                database=name,
            )
        else:
            data_dir = get("DB_DATA_DIR") or DEFAULT_DATA_DIR
            settings = cls(drivername="sqlite", database=str(Path(data_dir) / f"{name}.sqlite3"))

        changes: dict[str, Any] = {}
        sources = dict(settings.sources)
        if backend is not None:
            changes["backend"] = backend
            sources["backend"] = f"{p}_DB_BACKEND"
        if (mode := get("DB_SSL_MODE")) is not None:
            changes["ssl_mode"] = _parse_ssl_mode(mode, f"{p}_DB_SSL_MODE")
            sources["ssl_mode"] = f"{p}_DB_SSL_MODE"
        if (ca := get("DB_SSL_CA")) is not None:
            changes["ssl_ca"] = ca
            sources["ssl_ca"] = f"{p}_DB_SSL_CA"
        for key, parse in (
            ("pool_size", lambda v, s: _parse_int(v, s, minimum=1)),
            ("max_overflow", lambda v, s: _parse_int(v, s, minimum=-1)),
            ("pool_timeout", _parse_float),
            ("pool_recycle", lambda v, s: _parse_int(v, s, minimum=-1)),
            ("pool_pre_ping", parse_bool),
            ("pool_ping_after", _parse_float),
            ("connect_timeout", lambda v, s: _parse_int(v, s, minimum=1)),
            ("echo", parse_bool),
        ):
            env_name = "DB_" + key.upper()
            raw = get(env_name)
            if raw is not None:
                changes[key] = parse(raw, f"{p}_{env_name}")
                sources[key] = f"{p}_{env_name}"
        if get("DATABASE_URL") is None:
            for key, env_name in (("host", "DB_HOST"), ("port", "DB_PORT"), ("database", "DB_NAME")):
                sources[key] = f"{p}_{env_name}"
            sources["url"] = f"{p}_DB_HOST" if get("DB_HOST") is not None else f"{p}_DB_NAME"
        changes["sources"] = sources
        return settings.replace(**changes)
