"""The real server on 127.0.0.1: concurrent deliveries, and SIGKILL under load."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from domain.callbacks import Callback
from domain.status import CallStatus
from store.application import open_call_log
from tests.e2e.server import free_port, running_server
from tests.factories import inbound, outbound
from tests.plivo_client import PlivoSender


def test_concurrent_deliveries_for_one_call_over_real_http(database_url: str) -> None:
    spec = outbound(CallStatus.COMPLETED, losers=2)
    with running_server(database_url) as server:

        def deliver(offset: int) -> list[int]:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                sender = PlivoSender(http, public_url=server.url)
                order = spec.callbacks[offset:] + spec.callbacks[:offset]
                return [
                    sender.deliver(c, "GET" if offset % 2 else "POST").status_code for c in order
                ]

        with ThreadPoolExecutor(max_workers=16) as pool:
            codes = [code for run in pool.map(deliver, range(16)) for code in run]
    assert set(codes) == {200}
    call_log = open_call_log(database_url)
    call = call_log.call(spec.call_uuid)
    assert call.fingerprints == {c.fingerprint for c in spec.callbacks}
    assert call.version == 1 + len(spec.callbacks)
    assert (call.status, call.answered) == (CallStatus.COMPLETED, True)


def test_sigkill_mid_load_loses_no_acknowledged_callback(sqlite_url: str) -> None:
    specs = [outbound(CallStatus.COMPLETED) if i % 2 else inbound(True) for i in range(150)]
    callbacks = [c for spec in specs for c in spec.callbacks]
    acknowledged: list[Callback] = []
    lock = threading.Lock()
    enough = threading.Event()
    port = free_port()
    with running_server(sqlite_url, port=port) as server:

        def deliver(share: list[Callback]) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                sender = PlivoSender(http, public_url=server.url)
                for callback in share:
                    try:
                        response = sender.deliver(callback)
                    except httpx.TransportError:
                        return  # the server is gone: this callback was never acknowledged
                    if response.status_code == 200:
                        with lock:
                            acknowledged.append(callback)
                            if len(acknowledged) >= 300:
                                enough.set()

        threads = [
            threading.Thread(target=deliver, args=(callbacks[i::8],), daemon=True) for i in range(8)
        ]
        for thread in threads:
            thread.start()
        assert enough.wait(timeout=120)
        server.kill()
        for thread in threads:
            thread.join(timeout=60)
    assert 300 <= len(acknowledged) < len(callbacks)
    call_log = open_call_log(sqlite_url)
    missing = [
        c for c in acknowledged if c.fingerprint not in call_log.call(c.call_uuid).fingerprints
    ]
    assert missing == []
    # The server restarts cleanly on the same file and takes the whole load again.
    with (
        running_server(sqlite_url, port=port) as again,
        httpx.Client(base_url=again.url, timeout=30) as http,
    ):
        sender = PlivoSender(http, public_url=again.url)
        codes = {sender.deliver(c).status_code for c in callbacks}
    assert codes == {200}
    final = open_call_log(sqlite_url)
    assert all(final.call(s.call_uuid).status is s.status for s in specs)
