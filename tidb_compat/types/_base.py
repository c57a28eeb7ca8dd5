"""What the portable types share: knowing their column, and refusing values clearly."""

from __future__ import annotations

import weakref
from typing import Any, NoReturn

from sqlalchemy import Column

from ..errors import PortableValueError

_SHARED = object()


class PortableTypeMixin:
    """Remembers the column a type is attached to, so refusals name it.

    SQLAlchemy attaches a type that is a ``SchemaEventTarget`` (every TypeDecorator is) to its
    column, and copies it with the column (declarative mixins, ``Table.to_metadata``).  One
    instance used for columns of different names cannot name one of them: its messages then
    name the type only.
    """

    _column_ref: Any = None

    def _set_parent(self, parent: Any, outer: bool = False, **kw: Any) -> None:
        if isinstance(parent, Column):
            current = self._column_ref
            previous = current() if current is not None and current is not _SHARED else None
            if current is None or previous is None or previous.name == parent.name:
                self._column_ref = weakref.ref(parent)
            elif previous is not parent:
                self._column_ref = _SHARED
        super()._set_parent(parent, outer=outer, **kw)  # type: ignore[misc]

    def _resolve_for_python_type(self, python_type: Any, matched_on: Any, matched_on_flattened: Any) -> Any:
        """A fresh instance for each column a ``type_annotation_map`` entry serves, so each
        can name its own column."""
        copied = self.copy()  # type: ignore[attr-defined]
        copied._column_ref = None
        return copied

    @property
    def column_label(self) -> str | None:
        """``table.column`` (or ``column`` before the table is known), if known."""
        ref = self._column_ref
        if ref is None or ref is _SHARED:
            return None
        column = ref()
        if column is None:
            return None
        table = getattr(column, "table", None)
        name = getattr(table, "name", None)
        return f"{name}.{column.name}" if name else str(column.name)

    def refuse(self, message: str) -> NoReturn:
        """Raise :class:`PortableValueError` naming the column (or the type)."""
        label = self.column_label
        if label is None:
            message = f"{type(self).__name__} value refused: {message}"
        raise PortableValueError(message, label)
