"""Fixtures shared by the type tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import AsyncRunner, async_runner


@pytest.fixture(scope="module")
def aio(database_url: str) -> Iterator[AsyncRunner]:
    """One event loop and async engine per test module."""
    yield from async_runner(database_url)
