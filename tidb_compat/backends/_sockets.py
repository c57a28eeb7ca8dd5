"""Zero-round-trip liveness checks on a driver's socket (used by ``has_pending_input``)."""

from __future__ import annotations

import select
from typing import Any


def readable(fileobj: Any) -> bool | None:
    """True when ``fileobj`` (a socket or file descriptor) has input waiting or reached EOF;
    ``None`` when it cannot be checked.  An idle database connection has nothing to read."""
    if fileobj is None:
        return None
    try:
        ready, _, _ = select.select([fileobj], [], [], 0)
    except (OSError, ValueError, TypeError):
        return None
    return bool(ready)


def asyncio_pending(reader: Any, writer: Any) -> bool | None:
    """The same for an asyncio stream pair: buffered input, EOF, or a readable socket."""
    if reader is None or writer is None:
        return None
    if reader.at_eof() or getattr(reader, "_buffer", b""):
        return True
    transport = writer.transport
    if transport is None or transport.is_closing():
        return True
    return readable(transport.get_extra_info("socket"))
