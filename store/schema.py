"""Table creation at first start, serialised between every process that opens the store."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator

from store.persistence import Database

# Any constant shared by every calltrail process: it names the lock, nothing else.
_SCHEMA_LOCK = 0x6361_6C6C


@contextlib.contextmanager
def schema_lock(database: Database) -> Iterator[None]:
    """Hold a lock shared by every calltrail process on ``database`` while it opens stores.

    Opening a recorder creates its tables if missing. Several processes doing so at
    once on a fresh database (workers, hosts, the projection process) make PostgreSQL
    fail one of them with "tuple concurrently updated", and SQLite with "database is
    locked"; the lock takes them in turn: an advisory lock on PostgreSQL, a lock on a
    file beside the database on SQLite (the processes share a host there).
    """
    if database.kind == "sqlite":
        with _file_lock(database):
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


@contextlib.contextmanager
def _file_lock(database: Database) -> Iterator[None]:
    path = database.sqlite_file("events")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield
