"""Portable column types: the same values in and out on TiDB, MySQL, MariaDB, PostgreSQL
and SQLite.  See each module for the storage per backend and what is accepted or refused."""

from __future__ import annotations

from .array import PortableArray, multi_valued_index
from .datetime import MAX_YEAR, MIN_YEAR, UTCDateTime, utcnow
from .json import MAX_JSON_BYTES, MAX_JSON_DEPTH, PortableJSON
from .query import array_contains, array_overlap, json_contains, json_path_text

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_YEAR",
    "MIN_YEAR",
    "PortableArray",
    "PortableJSON",
    "UTCDateTime",
    "array_contains",
    "array_overlap",
    "json_contains",
    "json_path_text",
    "multi_valued_index",
    "utcnow",
]
