"""Durable ingest over HTTP against a bare Litestar handler, in the same run.

Every server is a real uvicorn process on 127.0.0.1, on one worker and then on two.
calltrail (``calltrail serve``) stores every signed hangup form durably (SQLite file, group
commit) before replying; the bare handler (``uvicorn --workers N``) parses the same form
and stores nothing. One load generator process keeps 64 keep-alive connections busy for
``BENCH_SECONDS`` (default 10) against each, with pre-built signed requests (a distinct
``CallUUID`` each, so every one is really stored); ``BENCH_WORKERS=1`` runs the one-worker
rows only. Each row also gives the server's CPU
time per request (its processes' user + system time over the run) and the load average
when it started: the machine is shared, and CPU per request moves less with other load
than the rates do.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple
from urllib.parse import urlencode

from litestar import Litestar, Request, Response, post

from api.forms import parse_form
from store.application import open_call_log
from tests.api.payloads import ANSWERED_OUTBOUND_HANGUP
from tests.e2e.server import free_port, running_server
from tests.plivo_client import TOKEN, sdk_signature

CONNECTIONS = 64
PATH = "/plivo/hangup"


@post(PATH, status_code=200)
async def bare_hangup(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Parse the form as calltrail does, store nothing."""
    parse_form(await request.body())
    return Response(b"<Response/>", media_type="application/xml")


def bare_app() -> Litestar:
    """The baseline: one handler, no signature check, no store."""
    return Litestar([bare_hangup])


def requests(port: int, count: int) -> list[bytes]:
    """``count`` signed hangup POSTs, each for a new call."""
    built = []
    url = f"http://127.0.0.1:{port}{PATH}"
    for i in range(count):
        params = ANSWERED_OUTBOUND_HANGUP | {"CallUUID": str(uuid.uuid4())}
        nonce = f"{i:020d}"
        body = urlencode(params).encode()
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Plivo-Signature-V3: {sdk_signature('POST', url, params, TOKEN, nonce)}\r\n"
            f"X-Plivo-Signature-V3-Nonce: {nonce}\r\n\r\n"
        )
        built.append(head.encode() + body)
    return built


async def _connection(port: int, pending: list[bytes], until: float, out: list[Any]) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as error:  # counted as a failure, so that the run still reports
        print(f"connection to port {port} failed: {error}", file=sys.stderr)
        out.append((0, 0.0))
        return
    while pending and time.perf_counter() < until:
        request = pending.pop()
        started = time.perf_counter()
        writer.write(request)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        out.append((status, time.perf_counter() - started))
    writer.close()


def drive(port: int, pending: list[bytes], seconds: float, result: Any) -> None:
    """Load generator (its own process): 64 connections until time or requests run out."""
    out: list[Any] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_connection(port, pending, until, out) for _ in range(CONNECTIONS)))

    started = time.perf_counter()
    asyncio.run(main())
    result.put((out, time.perf_counter() - started))


class Row(NamedTuple):
    """One server's figures under the load."""

    name: str
    rate: float  # acknowledged requests per second
    p50: float  # ms
    p99: float  # ms
    ok: int
    bad: int
    cpu_us: float  # the server's CPU time per acknowledged request
    load: float  # the 1-minute load average when the run started


def cpu_seconds(pid: int) -> float:
    """User + system time of ``pid`` and every process under it, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, total = {pid}, 0.0
    for child in sorted(parents):  # children have higher ids than their parents here
        if parents[child] in tree:
            tree.add(child)
    for member in tree:
        total += times.get(member, 0.0)
    return total


def measure(name: str, port: int, pid: int, count: int, seconds: float) -> Row:
    """Drive the server on ``port`` (process ``pid``) and return its figures."""
    load = os.getloadavg()[0]
    queue: Any = multiprocessing.Queue()
    worker = multiprocessing.Process(
        target=drive, args=(port, requests(port, count), seconds, queue)
    )
    cpu_before = cpu_seconds(pid)
    worker.start()
    out, elapsed = queue.get()
    cpu = cpu_seconds(pid) - cpu_before
    worker.join()
    ok = [latency for status, latency in out if status == 200]
    cuts = statistics.quantiles(ok, n=100) if len(ok) > 1 else [0.0] * 99
    cpu_us = cpu / max(len(ok), 1) * 1e6
    return Row(
        name,
        len(ok) / elapsed,
        cuts[49] * 1000,
        cuts[98] * 1000,
        len(ok),
        len(out) - len(ok),
        cpu_us,
        load,
    )


@contextmanager
def bare_server(workers: int = 1) -> Iterator[tuple[int, int]]:
    """The bare handler under uvicorn: its port and process id, once every worker started."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "benchmarks.bench_ingest:bare_app", "--factory"]
    command += ["--port", str(port), "--no-access-log", "--log-level", "info"]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    started = 0
    for line in process.stderr:
        started += "Application startup complete" in line
        if started == workers:
            break
    threading.Thread(target=lambda: [*(process.stderr or ())], daemon=True).start()
    _await_listening(port)
    try:
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _await_listening(port: int, timeout: float = 30) -> None:
    """Return once ``port`` accepts connections: a uvicorn worker logs its start-up before
    it listens, so the first connections could otherwise be refused."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def run_calltrail(url: str, workers: int, count: int, seconds: float) -> Row:
    """``calltrail serve`` on ``url`` with ``workers`` workers, measured."""
    env = {"CALLTRAIL_PROJECTIONS": "off", "CALLTRAIL_LOG_LEVEL": "info"}
    with running_server(url, workers=workers, extra=env) as server:
        port = int(server.url.rsplit(":", 1)[1])
        return measure(f"calltrail, {workers}w", port, server.process.pid, count, seconds)


def report(bare: Row, ours: Row) -> None:
    """Both rows and the goals' ratios."""
    for row in (bare, ours):
        print(
            f"{row.name:<16} {row.rate:8,.0f} req/s  p50 {row.p50:7.1f} ms"
            f"  p99 {row.p99:7.1f} ms  {row.cpu_us:5.0f} CPU µs/req  load {row.load:4.2f}"
            f"  ({row.ok} ok, {row.bad} not 200)"
        )
    print(f"  throughput calltrail/bare: {ours.rate / bare.rate:.2f}  (goal >= 0.5)")
    print(f"  p99 calltrail/bare:        {ours.p99 / bare.p99:.2f}  (goal <= 3)")


def main() -> None:
    """Measure bare and calltrail on one worker, then on two; check every 200 was stored."""
    seconds = float(os.environ.get("BENCH_SECONDS", "10"))
    count = int(seconds * 8000)
    for workers in [int(n) for n in os.environ.get("BENCH_WORKERS", "1,2").split(",")]:
        with bare_server(workers) as (port, pid):
            bare = measure(f"bare Litestar, {workers}w", port, pid, count, seconds)
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            ours = run_calltrail(url, workers, count, seconds)
            store = open_call_log(url)
            events = store.recorder.max_notification_id() or 0
            store.close()
        report(bare, ours)
        durable = "ok" if events == 2 * ours.ok else "MISMATCH"
        print(f"  durability: {events} events for {ours.ok} acknowledged calls: {durable}")
