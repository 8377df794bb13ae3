"""Durable ingest over HTTP against a bare Litestar handler, in the same run.

Both servers are real uvicorn processes (1 worker) on 127.0.0.1. calltrail stores every
signed hangup form durably (SQLite file, group commit) before replying; the bare handler
parses the same form and stores nothing. One load generator process keeps 64 keep-alive
connections busy for ``BENCH_SECONDS`` (default 10) against each, with pre-built signed
requests (a distinct ``CallUUID`` each, so every one is really stored).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from litestar import Litestar, Request, Response, post

from api.forms import parse_form
from store.application import open_call_log
from tests.api.payloads import ANSWERED_OUTBOUND_HANGUP
from tests.e2e.server import READY, free_port, running_server
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
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
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


def measure(port: int, count: int, seconds: float) -> tuple[float, float, float, int, int]:
    """Requests/s, p50 and p99 (ms), 200s and non-200s."""
    queue: Any = multiprocessing.Queue()
    worker = multiprocessing.Process(
        target=drive, args=(port, requests(port, count), seconds, queue)
    )
    worker.start()
    out, elapsed = queue.get()
    worker.join()
    ok = [latency for status, latency in out if status == 200]
    cuts = statistics.quantiles(ok, n=100) if len(ok) > 1 else [0.0] * 99
    return len(ok) / elapsed, cuts[49] * 1000, cuts[98] * 1000, len(ok), len(out) - len(ok)


@contextmanager
def bare_server() -> Iterator[int]:
    """The bare handler under uvicorn; ready when its log says so."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "benchmarks.bench_ingest:bare_app", "--factory"]
    command += ["--port", str(port), "--no-access-log", "--log-level", "info"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if READY in line:
            break
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    """Measure both servers with the same load, then check every 200 was stored."""
    seconds = float(os.environ.get("BENCH_SECONDS", "10"))
    count = int(seconds * 8000)
    with bare_server() as port:
        bare = measure(port, count, seconds)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        with running_server(url, extra={"CALLTRAIL_PROJECTIONS": "off"}) as server:
            ours = measure(int(server.url.rsplit(":", 1)[1]), count, seconds)
        store = open_call_log(url)
        stored = store.recorder.max_notification_id() or 0
        store.close()
    for name, (rate, p50, p99, ok, bad) in (("bare Litestar", bare), ("calltrail", ours)):
        print(f"{name:<14} {rate:9,.0f} req/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms", end="")
        print(f"  ({ok} ok, {bad} not 200)")
    print(f"throughput calltrail/bare: {ours[0] / bare[0]:.2f}  (goal >= 0.5)")
    print(f"p99 calltrail/bare:        {ours[2] / bare[2]:.2f}  (goal <= 3)")
    print(
        f"durability: {stored} events stored for {ours[3]} acknowledged calls (expect 2 each):"
        f" {'ok' if stored == 2 * ours[3] else 'MISMATCH'}"
    )
