"""`store`: a fresh store of each kind (SQLite, PostgreSQL) for the tests every backend must pass.
test_store.py and test_store_postgres.py define their own (with a test clock)."""

from collections.abc import Iterator

import pytest

from bot.store.model import Store
from bot.store.connect import open_store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url)
    yield opened
    opened.close()
