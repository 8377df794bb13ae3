"""The composition root: builds calltrail's parts from settings, in one place."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from typing import Any

from projections.runner import VIEW_NAMES, ViewRunner, open_view
from service.application import CallLog
from service.persistence import Database, parse_database_url
from service.settings import Settings, SettingsError

log = logging.getLogger("calltrail")


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


def open_call_log(database: Database | str) -> CallLog:
    """The call log on ``database`` (a parsed ``Database`` or a database URL)."""
    if isinstance(database, str):
        database = parse_database_url(database)
    with schema_lock(database):
        return CallLog(env=database.eventsourcing_env("events"))


def check_security(settings: Settings) -> None:
    """Refuse to serve unsigned webhooks unless explicitly told to, and say so every start."""
    if settings.insecure_skip_signature:
        log.warning(
            "CALLTRAIL_INSECURE_SKIP_SIGNATURE=1: webhook signatures are NOT checked; "
            "anyone who can reach this service can write calls"
        )
        return
    if not settings.auth_tokens:
        raise SettingsError(
            "CALLTRAIL_AUTH_TOKEN is not set: set it to your Plivo auth token "
            "(or CALLTRAIL_INSECURE_SKIP_SIGNATURE=1 for unsigned local testing)"
        )


def open_views(settings: Settings, names: tuple[str, ...] = VIEW_NAMES) -> list[Any]:
    """The read-model views ``names`` on the settings' store."""
    database = settings.database
    with schema_lock(database):
        return [
            open_view(name, database.eventsourcing_env(name), settings.account_timezone)
            for name in names
        ]


def projection_runner(settings: Settings, names: tuple[str, ...] = VIEW_NAMES) -> ViewRunner:
    """A runner keeping ``names`` up to date, reading the log through its own application."""
    return ViewRunner(open_call_log(settings.database), open_views(settings, names))
