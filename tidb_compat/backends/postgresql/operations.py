"""PostgreSQL session setup: nothing to send (UTC comes as a startup option)."""

from __future__ import annotations

from ..base.operations import BaseOperations


class DatabaseOperations(BaseOperations):
    session_time_zone_query = "SHOW TIME ZONE"
