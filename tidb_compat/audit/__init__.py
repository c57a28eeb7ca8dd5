"""``tidb-compat audit``: a static check for what will not run, or will behave differently,
on TiDB, in code written for PostgreSQL.

Each finding has a stable rule ID (``TC001``...), a place (``path:line``, or
``table.column`` for ``--metadata``), a message and a fix hint::

    from tidb_compat.audit import audit, format_text

    result = audit(["app/"], metadata=["app.models:Base"])
    print(format_text(result.findings))

The rules are listed in :mod:`tidb_compat.audit.rules` (``rule_table()``); a
``# tidb-compat: ignore[TC011]`` comment silences a rule on its line.
"""

from __future__ import annotations

from .report import format_json, format_text
from .rules import RULES, Finding, Rule, rule_by_id, rule_table
from .runner import AuditResult, audit, audit_metadata, audit_python_source, load_metadata

__all__ = [
    "RULES",
    "AuditResult",
    "Finding",
    "Rule",
    "audit",
    "audit_metadata",
    "audit_python_source",
    "format_json",
    "format_text",
    "load_metadata",
    "rule_by_id",
    "rule_table",
]
