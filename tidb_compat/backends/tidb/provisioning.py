"""TiDB provisioning SQL: MySQL's, with TiDB Cloud Serverless's user name prefix.

On TiDB Cloud Serverless every user name carries the cluster prefix (``kbFV66oHabEtRud.``):
the admin is ``<prefix>.root`` and ``CREATE USER`` needs ``<prefix>.<name>``.  The prefix is
derived from the admin user name when it has that form (or given explicitly), and the
*whole* name, prefix included, must fit TiDB's 32 characters: checked before any SQL.
"""

from __future__ import annotations

import re
from typing import ClassVar

from ...errors import ConfigurationError
from ..mysql.provisioning import DatabaseProvisioning as MySQLProvisioning

_ADMIN_WITH_PREFIX = re.compile(r"^([A-Za-z0-9]{1,24})\.root$")
_PREFIX = re.compile(r"^[A-Za-z0-9]{1,24}\.$")


class DatabaseProvisioning(MySQLProvisioning):
    max_user_name_length = 32
    """The whole user name, the Serverless cluster prefix (``xxxxxxxx.``) included."""
    uses_user_prefix = True
    reserved_database_names: ClassVar[frozenset[str]] = MySQLProvisioning.reserved_database_names | {
        "metrics_schema"
    }

    def user_prefix(self, admin_username: str | None) -> str:
        """``kbFV66oHabEtRud.root`` -> ``kbFV66oHabEtRud.``; any other admin name -> ``""``
        (self-hosted TiDB has no prefix)."""
        match = _ADMIN_WITH_PREFIX.fullmatch(admin_username or "")
        return f"{match[1]}." if match else ""

    def validate_user_prefix(self, prefix: str, *, setting: str = "user_prefix") -> str:
        if not prefix:
            return ""
        normalized = prefix if prefix.endswith(".") else f"{prefix}."
        if not _PREFIX.fullmatch(normalized):
            raise ConfigurationError(
                setting, f"{prefix!r} is not a TiDB Cloud user prefix (letters and digits, then '.')"
            )
        return normalized
