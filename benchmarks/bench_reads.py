"""Read speed as the store grows: every ``/v1`` read on a small and a large store.

For each size (``BENCH_READS_EVENTS``, default ``100000,1000000`` events; e.g.
``20000,200000`` for a quick run) it generates a SQLite event log of simulated calls (the
generator of ``bench_replay``), builds the views with ``calltrail rebuild all``, serves the
store with a real ``calltrail serve`` on 127.0.0.1 and times each read over one
keep-alive connection: one call, its timeline, each filter of the call list with a common
and a rare value (the values are picked from the built view), pairs of filters, the last
page in both orders, hangup causes and KPIs over the whole range. Each read is repeated
(``BENCH_READS_REPEAT``, default 25 rounds of every read in turn) and its best time kept:
on a shared machine the best is what the read costs, a median what the neighbours cost.

It prints, per size, each read's time and its ratio to ``/v1/calls/{id}`` in the same run
(goal at the largest size: at most 3x), then each read's time at the largest size over its
time at the smallest (goal: at most 1.5x, cost flat as the store grows).
"""

from __future__ import annotations

import http.client
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.bench_replay import generate
from projections.times import from_micros
from tests.e2e.server import running_server

Reads = dict[str, str]  # name → path and query
API_KEY = "bench-read-key"


def _one(db: sqlite3.Connection, query: str, params: tuple[object, ...] = ()) -> object:
    row = db.execute(query, params).fetchone()
    return row[0] if row else None


def _common_and_rare(db: sqlite3.Connection, column: str, where: str = "TRUE") -> tuple[str, str]:
    """The most and the least frequent value of ``column`` (among calls matching ``where``)."""
    query = (
        f"SELECT {column} FROM calls WHERE {column} IS NOT NULL AND {where}"
        f" GROUP BY {column} ORDER BY COUNT(*) {{}}, {column} LIMIT 1"
    )
    return str(_one(db, query.format("DESC"))), str(_one(db, query.format("ASC")))


def _time(micros: int) -> str:
    return from_micros(micros).isoformat().replace("+00:00", "Z")


def _list(**params: str | int) -> str:
    return "/v1/calls?" + urlencode({"limit": 100, **params})


def pick_reads(timeline_file: Path) -> Reads:
    """The reads to time, with values picked from the built timeline."""
    db = sqlite3.connect(timeline_file)
    count = int(str(_one(db, "SELECT COUNT(*) FROM calls")))
    order = "ORDER BY first_seen_at, first_position"
    middle = _one(db, f"SELECT call_uuid FROM calls {order} LIMIT 1 OFFSET ?", (count // 2,))
    first = int(str(_one(db, "SELECT MIN(first_seen_at) FROM calls")))
    last = int(str(_one(db, "SELECT MAX(first_seen_at) FROM calls")))
    halfway = (first + last) // 2
    reads: Reads = {"call": f"/v1/calls/{middle}", "timeline": f"/v1/calls/{middle}/timeline"}
    reads["list, first page"] = _list()
    reads["list, newest first"] = _list(order="desc")
    for column, name in (
        ("status", "status"),
        ("direction", "direction"),
        ("hangup_cause_code", "hangup_cause_code"),
        ("from_number", "from"),
        ("to_number", "to"),
    ):
        common, rare = _common_and_rare(db, column)
        if column.endswith("_number"):  # as a user may type them: compared in E.164
            common, rare = common.lstrip("+"), rare.lstrip("+")
        reads[f"{name}, common"] = _list(**{name: common})
        reads[f"{name}, rare"] = _list(**{name: rare})
    hour = 3_600_000_000
    reads["since+until, a day"] = _list(since=_time(halfway), until=_time(halfway + 24 * hour))
    reads["since+until, a minute"] = _list(since=_time(halfway), until=_time(halfway + hour // 60))
    common_direction, _ = _common_and_rare(db, "direction")
    _, rare_status = _common_and_rare(db, "status", f"direction = '{common_direction}'")
    reads["direction+status, rare"] = _list(direction=common_direction, status=rare_status)
    common_from, _ = _common_and_rare(db, "from_number")
    _, rare_status = _common_and_rare(db, "status", f"from_number = '{common_from}'")
    reads["from+status, rare"] = _list(**{"from": common_from, "status": rare_status})
    # The last page: the cursor of the 100th call from the end, as paging would reach it.
    edges = {}
    for direction, name in (("ASC", "last page"), ("DESC", "last page, newest first")):
        edge = edges[direction] = db.execute(
            "SELECT first_seen_at, first_position FROM calls ORDER BY"
            f" first_seen_at {direction}, first_position {direction} LIMIT 1 OFFSET ?",
            (max(count - 101, 0),),
        ).fetchone()
        reads[name] = _list(cursor=f"{edge[0]}.{edge[1]}", order=direction.lower())
    edge = edges["ASC"]
    reads["since, last page"] = _list(since=_time(first), cursor=f"{edge[0]}.{edge[1]}")
    reads["hangup causes, all"] = "/v1/metrics/hangup-causes"
    reads["KPIs by hour, all"] = "/v1/metrics/kpis?bucket=hour"
    reads["KPIs by day, all"] = "/v1/metrics/kpis?bucket=day"
    db.close()
    return reads


def time_reads(port: int, reads: Reads, repeat: int) -> dict[str, float]:
    """The best time in seconds of each read, over one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def fetch(path: str) -> None:
        connection.request("GET", path, headers={"Authorization": f"Bearer {API_KEY}"})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")

    for path in reads.values():
        fetch(path)  # warm: the pages each read needs are in the cache from now on
    best = dict.fromkeys(reads, float("inf"))
    # Round after round of every read, the best of each kept: the machine is shared, and
    # a burst of other work then slows one round of every read, not every round of one.
    for _ in range(repeat):
        for name, path in reads.items():
            started = time.perf_counter()
            fetch(path)
            best[name] = min(best[name], time.perf_counter() - started)
    connection.close()
    return best


def build(folder: Path, events: int) -> tuple[str, int, float]:
    """A store of ``events`` simulated events with its views built; its URL, its event
    count and the seconds it took."""
    path = folder / f"reads-{events}.db"
    url = f"sqlite:///{path}"
    started = time.perf_counter()
    total = generate(url, events)
    env = dict(os.environ) | {"CALLTRAIL_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "rebuild", "all"],
        env=env,
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return url, total, time.perf_counter() - started


def measure(folder: Path, events: int, repeat: int) -> tuple[int, dict[str, float]]:
    """Build a store of ``events`` events, serve it, and time every read."""
    url, total, seconds = build(folder, events)
    timeline_file = folder / f"reads-{events}.timeline.db"
    reads = pick_reads(timeline_file)
    calls = int(str(_one(sqlite3.connect(timeline_file), "SELECT COUNT(*) FROM calls")))
    print(f"store of {total:,} events, {calls:,} calls: generated and rebuilt in {seconds:.0f} s")
    with running_server(url, extra={"CALLTRAIL_API_KEYS": API_KEY}) as server:
        best = time_reads(server.port, reads, repeat)
    return total, best


def _table(title: str, rows: dict[str, float], ratio: Callable[[str], str]) -> None:
    print(title)
    for name, seconds in rows.items():
        print(f"  {name:28s} {seconds * 1000:8.2f} ms  {ratio(name)}", flush=True)


def main() -> None:
    """Build each store, time its reads, print the ratios."""
    sizes = [int(s) for s in os.environ.get("BENCH_READS_EVENTS", "100000,1000000").split(",")]
    repeat = int(os.environ.get("BENCH_READS_REPEAT", "25"))
    results: list[tuple[int, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            total, best = measure(Path(folder), size, repeat)
            results.append((total, best))
            base = best["call"]
            _table(
                f"{total:,} events, best of {repeat} (x /v1/calls/{{id}}, goal <= 3):",
                best,
                lambda name, m=best, b=base: f"{m[name] / b:6.2f}x",  # type: ignore[misc]
            )
            print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if len(results) > 1:
        (small, low), (large, high) = results[0], results[-1]
        _table(
            f"{large:,} events against {small:,} (goal <= 1.5):",
            high,
            lambda name: f"{high[name] / low[name]:6.2f}x",
        )
        worst_call = max(high[name] / high["call"] for name in high)
        worst_growth = max(high[name] / low[name] for name in high)
        print(f"worst x /v1/calls/{{id}} at {large:,}: {worst_call:.2f} (goal <= 3)")
        print(f"worst {large:,} / {small:,}:        {worst_growth:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
