"""ORM conveniences for portable models: keys that batch, a portable type map, naming.

**Keys that batch.**  Without ``RETURNING`` (TiDB, MySQL) the ORM inserts one row per
statement whenever it needs a generated key back: an autoincrement key, and also a
Python-side column default (``default=uuid.uuid4``), because that runs at flush time.
A key that exists as soon as the object is built lets the ORM send one multi-row INSERT per
batch.  :func:`client_generated_keys` sets it in the constructor.

**No write hot spot on TiDB.**  Monotonically increasing keys (autoincrement, time-ordered
UUIDv7) send every insert of a large table to the same region; random UUIDv4 keys spread
them.  ``sa.Uuid`` stores them natively on PostgreSQL and as ``CHAR(32)`` elsewhere.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event

from .types import PortableJSON, UTCDateTime

__all__ = ["NAMING_CONVENTION", "client_generated_keys", "new_id", "portable_type_map"]

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names: the same on every backend, so migrations can name them."""


def new_id() -> uuid.UUID:
    """A random (version 4) UUID: no insert hot spot on TiDB."""
    return uuid.uuid4()


def portable_type_map() -> dict[Any, sa.types.TypeEngine[Any]]:
    """A ``type_annotation_map`` for a declarative base: ``Mapped[datetime]`` is a
    :class:`UTCDateTime`, ``Mapped[dict[str, Any]]`` a :class:`PortableJSON`,
    ``Mapped[uuid.UUID]`` a ``sa.Uuid``."""
    return {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: PortableJSON(),
        uuid.UUID: sa.Uuid(),
    }


def client_generated_keys(base: type[Any], attribute: str = "id", factory: Callable[[], Any] = new_id) -> None:
    """Give every mapped class under ``base`` that has ``attribute`` a key at construction
    (unless the caller passes one), so the ORM can batch inserts without ``RETURNING``."""

    @event.listens_for(base, "init", propagate=True)
    def _assign_key(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if kwargs.get(attribute) is None and attribute in sa.inspect(type(target)).column_attrs:
            kwargs[attribute] = factory()
