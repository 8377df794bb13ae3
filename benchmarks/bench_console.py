"""The console's pages against the ``/v1`` reads they are built on, through a real server.

Generates a SQLite event log of simulated calls (``BENCH_CONSOLE_EVENTS``, default
1,000,000 events, as ``bench_replay`` does), builds its views with ``calltrail rebuild
all``, serves it with ``calltrail serve`` (one worker) and times, over keep-alive
connections, in the same run and interleaved request by request:

- the calls page (``/console/calls``, newest first, 50 rows) against ``/v1/calls``
  (``order=desc&limit=50``), unfiltered and filtered by status;
- a call page (``/console/calls/{id}``: the summary, the drawn timeline and every
  callback's parameters) against ``/v1/calls/{id}`` plus ``/v1/calls/{id}/timeline``,
  the two reads it replaces, over ``BENCH_CONSOLE_CALLS`` (default 50) calls spread
  through the log; and against ``/v1/calls/{id}/timeline`` alone (which holds the
  summary too), the stricter comparison.

Each page is requested ``BENCH_CONSOLE_ROUNDS`` times (default 200); the median and
p95 of each are printed, with the ratio of medians (the issue's goal: at most 2).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx

from benchmarks.bench_replay import generate, rebuild
from tests.e2e.server import running_server

KEY = "bench-console-key"


def timed(client: httpx.Client, paths: list[str]) -> float:
    """Seconds to GET each of ``paths`` in turn (all must answer 200)."""
    started = time.perf_counter()
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    return time.perf_counter() - started


def sample_calls(client: httpx.Client, count: int) -> list[str]:
    """``count`` CallUUIDs spread through the log: a few from each of five places."""

    def first_seen(order: str) -> datetime:
        items = client.get("/v1/calls", params={"limit": 1, "order": order}).json()["items"]
        return datetime.fromisoformat(items[0]["first_seen_at"])

    oldest, newest = first_seen("asc"), first_seen("desc")
    each = max(1, count // 5)
    calls: list[str] = []
    for step in range(5):
        since = oldest + (newest - oldest) * step / 5
        params: dict[str, str | int] = {"limit": each, "since": since.isoformat()}
        calls += [
            item["call_uuid"] for item in client.get("/v1/calls", params=params).json()["items"]
        ]
    return list(dict.fromkeys(calls))[:count]


def main() -> None:
    """Generate and build the store, serve it, and time the pages against the reads."""
    target = int(os.environ.get("BENCH_CONSOLE_EVENTS", "1000000"))
    rounds = int(os.environ.get("BENCH_CONSOLE_ROUNDS", "200"))
    count = int(os.environ.get("BENCH_CONSOLE_CALLS", "50"))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'console.db'}"
        started = time.perf_counter()
        total = generate(url, target)
        built = rebuild(url)
        print(
            f"generated {total:,} events in {time.perf_counter() - started - built.seconds:.0f} s,"
            f" views built in {built.seconds:.0f} s"
        )
        os.sync()
        extra = {"CALLTRAIL_API_KEYS": KEY}
        with running_server(url, extra=extra) as server, httpx.Client(base_url=server.url) as web:
            api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"})
            signed = web.post("/console/sign-in", data={"key": KEY, "next": "/console/calls"})
            assert signed.status_code == 303, signed.status_code
            calls = sample_calls(api, count)
            print(f"load average {os.getloadavg()[0]:.2f}; {len(calls)} calls sampled")
            both = _Both(web, api)
            ratios = [
                both.compare(
                    "calls page", rounds, ["/console/calls"], ["/v1/calls?order=desc&limit=50"]
                ),
                both.compare(
                    "calls page, status=busy",
                    rounds,
                    ["/console/calls?status=busy"],
                    ["/v1/calls?order=desc&limit=50&status=busy"],
                ),
                both.compare_calls("call page", rounds, calls),
                both.compare_calls("call page, timeline only", rounds, calls, summary=False),
            ]
            api.close()
        print(f"worst ratio {max(ratios):.2f}x (goal: at most 2x)")


class _Both:
    """Alternates console pages (on the signed-in client) with /v1 reads (bearer key)."""

    def __init__(self, web: httpx.Client, api: httpx.Client) -> None:
        self.web, self.api = web, api

    def _run(
        self,
        name: str,
        rounds: int,
        page: Callable[[int], list[str]],
        read: Callable[[int], list[str]],
    ) -> float:
        pages, reads = [], []
        for i in range(rounds):
            pages.append(timed(self.web, page(i)))
            reads.append(timed(self.api, read(i)))
        p50, r50 = statistics.median(pages), statistics.median(reads)
        p95, r95 = statistics.quantiles(pages, n=20)[-1], statistics.quantiles(reads, n=20)[-1]
        print(
            f"{name:<24} console {p50 * 1000:7.2f} ms (p95 {p95 * 1000:7.2f})"
            f"   /v1 {r50 * 1000:7.2f} ms (p95 {r95 * 1000:7.2f})   ratio {p50 / r50:.2f}x"
        )
        return p50 / r50

    def compare(self, name: str, rounds: int, page: list[str], read: list[str]) -> float:
        """The same page and read every round."""
        return self._run(name, rounds, lambda _: page, lambda _: read)

    def compare_calls(
        self, name: str, rounds: int, calls: list[str], summary: bool = True
    ) -> float:
        """A call page against its summary and timeline reads (or its timeline read
        alone, which holds the summary too), call after call."""

        def reads(i: int) -> list[str]:
            call = calls[i % len(calls)]
            timeline = [f"/v1/calls/{call}/timeline"]
            return [f"/v1/calls/{call}", *timeline] if summary else timeline

        return self._run(name, rounds, lambda i: [f"/console/calls/{calls[i % len(calls)]}"], reads)


if __name__ == "__main__":
    main()
