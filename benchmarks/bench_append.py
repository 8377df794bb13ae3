"""In-process append throughput: one save per callback vs group commit, SQLite and PostgreSQL.

Both paths run in the same process on the same store with the same realistic callbacks
(tests/factories.py), at full durability. The baseline is eventsourcing's plain path (one
``save`` and one transaction per callback); group commit saves a batch in one transaction.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

from domain.callbacks import Callback
from domain.status import CallStatus
from store.application import CallLog, open_call_log
from tests.factories import CallSpec, inbound, outbound

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 256


def workload(calls: int) -> list[Callback]:
    """Callbacks of ``calls`` realistic calls, interleaved as concurrent calls would be."""
    shapes: list[Callable[[], CallSpec]] = [
        lambda: outbound(CallStatus.COMPLETED, losers=1),
        lambda: outbound(CallStatus.BUSY),
        lambda: inbound(answered=True),
        lambda: outbound(CallStatus.NO_ANSWER),
    ]
    specs = [shapes[i % len(shapes)]() for i in range(calls)]
    return [spec.callbacks[i] for i in range(12) for spec in specs if i < len(spec.callbacks)]


def rate(app: CallLog, callbacks: Sequence[Callback], batch: int) -> float:
    """Stored events per second recording ``callbacks`` in batches of ``batch`` (1: plain)."""
    started = time.perf_counter()
    if batch == 1:
        for callback in callbacks:
            app.record(callback)
    else:
        for i in range(0, len(callbacks), batch):
            app.record_batch(callbacks[i : i + batch])
    elapsed = time.perf_counter() - started
    events = len(app.recorder.select_notifications(start=None, limit=10_000_000))
    return events / elapsed


def compare(store: str, url_for: Callable[[str], str], calls: int) -> None:
    """Print plain and group-commit rates on one store, and their ratio."""
    plain = rate(open_call_log(url_for("plain")), workload(calls), 1)
    grouped = rate(open_call_log(url_for("grouped")), workload(calls), BATCH)
    print(f"{store:<10} plain (1 save/callback): {plain:9,.0f} events/s")
    print(f"{store:<10} group commit ({BATCH}/txn):  {grouped:9,.0f} events/s")
    print(f"{store:<10} ratio group/plain:       {grouped / plain:9.1f}x")


def main() -> None:
    """Run on a SQLite file, then on PostgreSQL if it is reachable."""
    with tempfile.TemporaryDirectory() as folder:
        compare("sqlite", lambda name: f"sqlite:///{Path(folder) / name}.db", 1000)
    try:
        conn = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        print(f"postgres   skipped: {error}")
        return
    schemas: list[str] = []

    def pg_url(name: str) -> str:
        schemas.append(f"bench_{name}_{uuid.uuid4().hex[:8]}")
        conn.execute(f"CREATE SCHEMA {schemas[-1]}")
        return f"{PG_DSN}?schema={schemas[-1]}"

    try:
        compare("postgres", pg_url, 1000)
    finally:
        for schema in schemas:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


if __name__ == "__main__":
    main()
