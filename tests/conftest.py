"""Shared fixtures: a real SQLite file and a real PostgreSQL schema per test.

PostgreSQL tests use the server at 127.0.0.1:5432 (trust auth, database ``test``, user
``postgres``). With ``CI=true`` an unreachable server fails those tests; elsewhere they
are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

PG_DSN = os.environ.get("CALLTRAIL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_unavailable(error: Exception) -> None:
    message = f"PostgreSQL at {PG_DSN} is unreachable: {error}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (mandatory in CI)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards; yields its database URL."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as error:
        _pg_unavailable(error)
    yield f"{PG_DSN}?schema={schema}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A database URL for a SQLite file in a fresh temporary folder."""
    return f"sqlite:///{tmp_path / 'calltrail.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store calltrail supports, in turn: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_schema"))
