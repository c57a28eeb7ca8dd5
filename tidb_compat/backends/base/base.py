"""``DatabaseBackend``: wires one collaborator per concern for one server family."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sqlalchemy.engine import Dialect

from .driver import BaseDriver
from .errors import BaseErrorClassifier
from .features import BaseDatabaseFeatures
from .operations import BaseOperations
from .provisioning import BaseProvisioning

VersionTuple = tuple[int, ...]

_LEADING_VERSION = re.compile(r"^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def parse_leading_version(text: str) -> VersionTuple | None:
    """``"10.11.6-MariaDB"`` -> ``(10, 11, 6)``; missing parts are 0; ``None`` if no digits."""
    match = _LEADING_VERSION.match(text)
    if match is None:
        return None
    return tuple(int(part or 0) for part in match.groups())


class DatabaseBackend:
    """One server family behind the common contract.

    Subclasses set the class attributes below and point the ``*_class`` attributes at
    their own collaborators.  An instance describes one server version: it is built from
    one probe of the server (``server_version``) or, for compile-only use without a
    server, from :attr:`default_version`.
    """

    vendor: ClassVar[str] = ""
    """Registry name: ``tidb``, ``mysql``, ``mariadb``, ``postgresql``, ``sqlite``."""

    display_name: ClassVar[str] = ""
    """Human-readable name for reports."""

    family: ClassVar[str] = ""
    """The SQLAlchemy dialect name this backend speaks (``mysql`` for TiDB and MariaDB)."""

    generic: ClassVar[bool] = False
    """True for the fallback backend of a family (tried last when identifying a server)."""

    default_version: ClassVar[VersionTuple] = ()
    """The version assumed when no server has been probed (compile-only use)."""

    features_class: ClassVar[type[BaseDatabaseFeatures]] = BaseDatabaseFeatures
    driver_class: ClassVar[type[BaseDriver]] = BaseDriver
    ops_class: ClassVar[type[BaseOperations]] = BaseOperations
    errors_class: ClassVar[type[BaseErrorClassifier]] = BaseErrorClassifier
    provisioning_class: ClassVar[type[BaseProvisioning]] = BaseProvisioning

    def __init__(self, server_version: VersionTuple | None = None, *, version_string: str | None = None) -> None:
        self.probed = server_version is not None
        """True when ``server_version`` comes from a real server, False when assumed."""
        self.server_version: VersionTuple = server_version if server_version is not None else self.default_version
        self.version_string = version_string
        self.features = self.features_class(self)
        self.driver = self.driver_class(self)
        self.ops = self.ops_class(self)
        self.errors = self.errors_class(self)
        self.provisioning = self.provisioning_class(self)

    def __repr__(self) -> str:
        version = ".".join(map(str, self.server_version))
        origin = "probed" if self.probed else "assumed"
        return f"<{type(self).__name__} {self.vendor} {version} ({origin})>"

    # -- identification -------------------------------------------------------------

    @classmethod
    def parse_version(cls, version_string: str) -> VersionTuple | None:
        """This vendor's own version from a server version string, or ``None`` if the
        string belongs to another vendor.  The generic backend of a family accepts any
        version string of its family."""
        return parse_leading_version(version_string)

    @classmethod
    def read_version_string(cls, driver_connection: Any) -> str:
        """The server's version string, read from a driver connection without a query
        where the driver already has it (family level: overridden by generic backends)."""
        raise NotImplementedError

    # -- compile-only use -----------------------------------------------------------

    def dialect(self) -> Dialect:
        """A SQLAlchemy dialect configured like this server, for compiling SQL offline."""
        raise NotImplementedError
