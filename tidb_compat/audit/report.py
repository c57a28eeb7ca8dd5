"""Reporters: one line per finding (``path:line: RULE-ID message (hint: ...)``) or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable

from .rules import Finding

__all__ = ["format_json", "format_text"]


def format_text(findings: Iterable[Finding]) -> str:
    """``path:line: RULE-ID message (hint: ...)``, one per line, sorted; empty when clean."""
    lines = [f"{f.path}:{f.line}: {f.rule} {f.message} (hint: {f.hint})" for f in sorted(findings)]
    return "".join(line + "\n" for line in lines)


def format_json(findings: Iterable[Finding]) -> str:
    """A JSON list of ``{rule, path, line, message, hint}`` objects, sorted."""
    return json.dumps([finding.as_dict() for finding in sorted(findings)], indent=2) + "\n"
