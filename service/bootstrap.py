"""The composition root: builds calltrail's parts from settings, in one place."""

from __future__ import annotations

import logging

from service.application import CallLog
from service.persistence import Database, parse_database_url
from service.settings import Settings, SettingsError

log = logging.getLogger("calltrail")


def open_call_log(database: Database | str) -> CallLog:
    """The call log on ``database`` (a parsed ``Database`` or a database URL)."""
    if isinstance(database, str):
        database = parse_database_url(database)
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
