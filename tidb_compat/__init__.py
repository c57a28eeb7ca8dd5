"""tidb_compat: pluggable database backends for SQLAlchemy 2.x, portable across TiDB, MySQL,
MariaDB, PostgreSQL and SQLite.

The same models, migrations and data behave the same on every backend::

    import tidb_compat

    settings = tidb_compat.DatabaseSettings.from_env("USER_SERVICE")
    engine = tidb_compat.create_engine(settings)
    backend = tidb_compat.get_backend(engine)
    backend.vendor, backend.server_version, backend.features.supports_returning
"""

from __future__ import annotations

from .backends import get_backend, get_backend_async, identify, load_backend
from .backends.base.base import DatabaseBackend
from .engine import create_async_engine, create_engine
from .errors import (
    BackendNotFoundError,
    CommitOutcomeUnknown,
    ConfigurationError,
    ForeignKeysNotEnforcedError,
    InsecureTransportError,
    PortableValueError,
    TidbCompatError,
    UnsupportedServerError,
)
from .provisioning import (
    AccountResult,
    ProvisioningError,
    ProvisionResult,
    credentials_lines,
    generate_password,
    provision,
    render_credentials,
    write_credentials,
)
from .retry import run_transaction, run_transaction_async
from .settings import SSL_MODES, DatabaseSettings
from .types import (
    PortableArray,
    PortableJSON,
    UTCDateTime,
    array_contains,
    array_overlap,
    json_contains,
    json_path_text,
    multi_valued_index,
    utcnow,
)

__version__ = "0.1.0"

__all__ = [
    "SSL_MODES",
    "AccountResult",
    "BackendNotFoundError",
    "CommitOutcomeUnknown",
    "ConfigurationError",
    "DatabaseBackend",
    "DatabaseSettings",
    "ForeignKeysNotEnforcedError",
    "InsecureTransportError",
    "PortableArray",
    "PortableJSON",
    "PortableValueError",
    "ProvisionResult",
    "ProvisioningError",
    "TidbCompatError",
    "UTCDateTime",
    "UnsupportedServerError",
    "__version__",
    "array_contains",
    "array_overlap",
    "create_async_engine",
    "create_engine",
    "credentials_lines",
    "generate_password",
    "get_backend",
    "get_backend_async",
    "identify",
    "json_contains",
    "json_path_text",
    "load_backend",
    "multi_valued_index",
    "provision",
    "render_credentials",
    "run_transaction",
    "run_transaction_async",
    "utcnow",
    "write_credentials",
]
