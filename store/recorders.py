"""The PostgreSQL event recorder, bounded for webhooks: an outage is a prompt 503.

eventsourcing retries a failed insert ten times, each attempt waiting up to the pool
timeout for a connection: with the database gone, a webhook would hang for about a
minute, past Plivo's read timeout, instead of hearing 503 and retrying later. Two
attempts keep the useful part of the retry (a pooled connection that died with a
database restart is replaced on the second) and fail in about two pool timeouts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry

TOPIC = "store.recorders:PostgresCallRecorder"
"""The ``APPLICATION_RECORDER_TOPIC`` that selects this recorder."""

_insert_once = PostgresApplicationRecorder.insert_events.__wrapped__


class PostgresCallRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder with a short insert retry."""

    @retry((InterfaceError, OperationalError), max_attempts=2, wait=0.1)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert ``stored_events`` in one transaction, trying twice at most."""
        result: Sequence[int] | None = _insert_once(self, stored_events, **kwargs)
        return result
