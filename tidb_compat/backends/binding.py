"""Which backend an engine talks to: one probe per engine, cached on its dialect.

The binding lives on the engine's dialect object (one per engine, shared by the engine's
``execution_options()`` copies), so it has the engine's lifetime and needs no global cache.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Dialect

from ..errors import ConfigurationError
from .base.base import DatabaseBackend
from .registry import backend_from_connection, registry

if TYPE_CHECKING:
    from ..engine import EngineSetup

_ATTR = "_tidb_compat_binding"


class EngineBinding:
    """The backend of one engine.

    ``expected`` is a vendor named explicitly (``backend="tidb"``): until a connection is
    made the backend is that vendor at its assumed version, which is enough to compile
    SQL; the first connection replaces it by the probed server and refuses a server of
    another vendor.
    """

    def __init__(self, family: str, expected: str | None = None) -> None:
        self.family = family
        self.expected = expected
        self.backend: DatabaseBackend | None = registry.get(expected)() if expected else None
        self.setup: EngineSetup | None = None
        """Set by :func:`tidb_compat.create_engine`: the settings and TLS decision used."""
        self._lock = threading.Lock()

    def resolve(self, dbapi_connection: Any) -> DatabaseBackend:
        """The probed backend; probes ``dbapi_connection`` if no probe was made yet."""
        backend = self.backend
        if backend is not None and backend.probed:
            return backend
        with self._lock:
            if self.backend is None or not self.backend.probed:
                probed = backend_from_connection(dbapi_connection, self.family)
                if self.expected is not None and probed.vendor != self.expected:
                    raise ConfigurationError(
                        "backend",
                        f"configured as {self.expected!r}, but the server is "
                        f"{probed.display_name} ({probed.version_string})",
                    )
                self.backend = probed
            return self.backend


def binding_for(dialect: Dialect, expected: str | None = None) -> EngineBinding:
    """The binding stored on ``dialect``, created on first use."""
    binding: EngineBinding | None = getattr(dialect, _ATTR, None)
    if binding is None:
        binding = EngineBinding(dialect.name, expected)
        setattr(dialect, _ATTR, binding)
    return binding
