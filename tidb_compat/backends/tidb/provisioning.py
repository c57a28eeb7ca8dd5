"""TiDB provisioning SQL (TiDB Cloud user names carry the cluster prefix)."""

from __future__ import annotations

from ..mysql.provisioning import DatabaseProvisioning as MySQLProvisioning


class DatabaseProvisioning(MySQLProvisioning):
    max_user_name_length = 32
    """The whole user name, the Serverless cluster prefix (``xxxxxxxx.``) included."""
