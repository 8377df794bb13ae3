"""Table creation at first start, serialised between every process that opens the store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from store.persistence import Database

# Any constant shared by every calltrail process: it names the lock, nothing else.
_SCHEMA_LOCK = 0x6361_6C6C


@contextlib.contextmanager
def schema_lock(database: Database) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while tables are created (nothing on SQLite).

    Opening a recorder creates its tables if missing. Several processes doing so at
    once on a fresh database (workers, hosts, the projection process) make PostgreSQL
    fail one of them with "tuple concurrently updated"; the lock takes them in turn.
    """
    if database.kind != "postgres":
        yield
        return
    import psycopg  # noqa: PLC0415  # only here: SQLite deployments never load it

    env = database.eventsourcing_env("events")
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
        autocommit=True,
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        yield  # the lock ends with the session
