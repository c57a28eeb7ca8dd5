"""The backend registry, server identification and the engine -> backend binding."""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterable, Iterator
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from ..errors import BackendNotFoundError
from .base.base import DatabaseBackend, VersionTuple

ENTRY_POINT_GROUP = "tidb_compat.backends"
"""Entry-point group through which other packages add backends.  The entry point's name is
the vendor, its value a :class:`DatabaseBackend` subclass, e.g.
``cockroachdb = "tidb_compat_cockroach.base:DatabaseBackend"``."""

_BUILTIN: tuple[str, ...] = ("tidb", "mariadb", "mysql", "postgresql", "sqlite")

_FAMILY_MARKERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\s*PostgreSQL\b", re.IGNORECASE), "postgresql"),
    (re.compile(r"^\s*SQLite\b", re.IGNORECASE), "sqlite"),
)


class BackendRegistry:
    """Vendor name -> backend class.  Built-ins are registered on first use, then the
    ``tidb_compat.backends`` entry points of installed distributions."""

    def __init__(self, *, load_entry_points: bool = True) -> None:
        self._classes: dict[str, type[DatabaseBackend]] = {}
        self._loaded = False
        self._load_entry_points = load_entry_points
        self._lock = threading.Lock()

    # -- registration -----------------------------------------------------------------

    def register(self, backend_class: type[DatabaseBackend]) -> type[DatabaseBackend]:
        """Add a backend class (usable as a decorator).  Vendor names are unique."""
        vendor = backend_class.vendor
        if not vendor or not backend_class.family:
            raise BackendNotFoundError("backend", f"{backend_class.__qualname__} must set vendor and family")
        existing = self._classes.get(vendor)
        if existing is not None and existing is not backend_class:
            raise BackendNotFoundError("backend", f"a backend named {vendor!r} is already registered")
        self._classes[vendor] = backend_class
        return backend_class

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            for vendor in _BUILTIN:
                module = import_module(f"{__package__}.{vendor}.base")
                self.register(module.DatabaseBackend)
            if self._load_entry_points:
                for ep in entry_points(group=ENTRY_POINT_GROUP):
                    try:
                        loaded = ep.load()
                        backend_class = getattr(loaded, "DatabaseBackend", loaded)
                        if not (isinstance(backend_class, type) and issubclass(backend_class, DatabaseBackend)):
                            raise TypeError(f"{ep.value} is not a DatabaseBackend subclass")
                        if backend_class.vendor != ep.name:
                            raise TypeError(f"entry point {ep.name!r} names vendor {backend_class.vendor!r}")
                        self.register(backend_class)
                    except Exception as exc:  # a broken plugin must not break the built-ins
                        warnings.warn(
                            f"tidb_compat: skipped backend entry point {ep.name!r}: {exc}",
                            RuntimeWarning,
                            stacklevel=2,
                        )
            self._loaded = True

    # -- lookup -----------------------------------------------------------------------

    def vendors(self) -> list[str]:
        self._ensure_loaded()
        return list(self._classes)

    def __iter__(self) -> Iterator[type[DatabaseBackend]]:
        self._ensure_loaded()
        return iter(list(self._classes.values()))

    def get(self, vendor: str, *, setting: str = "backend") -> type[DatabaseBackend]:
        self._ensure_loaded()
        try:
            return self._classes[vendor.strip().lower()]
        except KeyError:
            known = ", ".join(sorted(self._classes))
            raise BackendNotFoundError(setting, f"unknown backend {vendor!r}; known: {known}") from None

    def generic_for(self, family: str) -> type[DatabaseBackend]:
        """The fallback backend of a SQLAlchemy dialect family (``mysql`` -> MySQL)."""
        for backend_class in self:
            if backend_class.family == family and backend_class.generic:
                return backend_class
        raise BackendNotFoundError("url", f"no backend handles the SQLAlchemy dialect {family!r}")

    def _candidates(self, family: str | None) -> Iterable[type[DatabaseBackend]]:
        classes = [c for c in self if family is None or c.family == family]
        return [c for c in classes if not c.generic] + [c for c in classes if c.generic]

    def identify(self, version_string: str, family: str | None = None) -> tuple[str, VersionTuple]:
        """``(vendor, version tuple)`` for a server version string.

        Specific backends (TiDB, MariaDB, plug-ins) are asked first; then the generic
        backend of ``family`` (guessed from a ``PostgreSQL``/``SQLite`` prefix when not
        given, else MySQL) accepts any version of its family.
        """
        text = str(version_string)
        for backend_class in self._candidates(family):
            if backend_class.generic:
                continue
            version = backend_class.parse_version(text)
            if version is not None:
                return backend_class.vendor, version
        if family is None:
            family = next((fam for pattern, fam in _FAMILY_MARKERS if pattern.match(text)), "mysql")
        generic = self.generic_for(family)
        version = generic.parse_version(text)
        if version is None:
            raise BackendNotFoundError("server version", f"cannot identify the server from {text!r}")
        return generic.vendor, version


registry = BackendRegistry()
"""The default registry used by :func:`tidb_compat.create_engine` and :func:`get_backend`."""


def identify(version_string: str, family: str | None = None) -> tuple[str, VersionTuple]:
    """Identify a server from its version string with the default registry.

    >>> identify("8.0.11-TiDB-v8.5.5")
    ('tidb', (8, 5, 5))
    >>> identify("5.5.5-10.11.6-MariaDB")
    ('mariadb', (10, 11, 6))
    """
    return registry.identify(version_string, family)


def load_backend(vendor: str, server_version: VersionTuple | None = None) -> DatabaseBackend:
    """A backend instance by name, for compile-only use (no server needed)."""
    return registry.get(vendor)(server_version)


def backend_from_connection(dbapi_connection: Any, family: str) -> DatabaseBackend:
    """Probe a DBAPI connection (sync, or SQLAlchemy's async adaptation) once."""
    generic = registry.generic_for(family)
    driver_connection = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    version_string = generic.read_version_string(driver_connection)
    vendor, version = registry.identify(version_string, family)
    return registry.get(vendor)(version, version_string=version_string)
