"""Durable ingest on PostgreSQL over HTTP: 1 and 2 workers with group commit, against the
plain path in the same run: ``CALLTRAIL_GROUP_COMMIT=off``, where each request saves its
callback with one eventsourcing save in its own transaction, 16 at a time on a thread pool.

Every server is ``calltrail serve`` on 127.0.0.1 with its own fresh PostgreSQL schema and
projections off (the documented scale-out deployment runs them in ``calltrail project``).
The load is bench_ingest's: one generator process, 64 keep-alive connections, pre-signed
hangup POSTs for distinct calls, ``BENCH_SECONDS`` (default 10) per server. Afterwards
the stored events are counted: each acknowledged call must have exactly two.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from benchmarks.bench_ingest import measure
from tests.conftest import PG_DSN
from tests.e2e.server import running_server

SERVERS = [  # name, workers, extra environment
    ("plain: 1 save per callback", 1, {"CALLTRAIL_GROUP_COMMIT": "off"}),
    ("group commit, 1 worker", 1, {}),
    ("group commit, 2 workers", 2, {}),
]


@contextmanager
def schema() -> Iterator[tuple[str, str]]:
    """A fresh schema: its database URL and name; dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{PG_DSN}?schema={name}", name
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def stored(name: str) -> int:
    """Events in the schema's event table (positions have gaps, so count rows)."""
    with psycopg.connect(PG_DSN) as conn:
        row = conn.execute(f"SELECT count(*) FROM {name}.calllog_events").fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    """Measure each server under the same load; print rates, latencies and ratios."""
    seconds = float(os.environ.get("BENCH_SECONDS", "10"))
    count = int(seconds * 8000)
    results = []
    for name, workers, extra in SERVERS:
        with schema() as (url, schema_name):
            env = {"CALLTRAIL_PROJECTIONS": "off"} | extra
            with running_server(url, workers=workers, extra=env) as server:
                port = int(server.url.rsplit(":", 1)[1])
                row = measure(name, port, server.process.pid, count, seconds)
            events = stored(schema_name)
        rate, p50, p99, ok, bad = row.rate, row.p50, row.p99, row.ok, row.bad
        results.append((name, rate))
        durable = "ok" if events == 2 * ok else f"MISMATCH ({events} events)"
        print(
            f"{name:<28} {rate:8,.0f} req/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
            f"  {row.cpu_us:5.0f} CPU µs/req  load {row.load:4.2f}"
            f"  ({ok} ok, {bad} not 200; durability {durable})",
            flush=True,
        )
    plain = results[0][1]
    for name, rate in results[1:]:
        print(f"{name} / plain: {rate / plain:.2f}x")
    print("goal: 2 workers >= 3x the plain path")
