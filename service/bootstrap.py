"""The composition root: builds calltrail's parts from settings, in one place."""

from __future__ import annotations

from service.application import CallLog
from service.persistence import Database, parse_database_url


def open_call_log(database: Database | str) -> CallLog:
    """The call log on ``database`` (a parsed ``Database`` or a database URL)."""
    if isinstance(database, str):
        database = parse_database_url(database)
    return CallLog(env=database.eventsourcing_env("events"))
