"""Connection abuse against a real server, over real sockets, before any signature is
checked: oversized or unfinished request heads, idle connections by the hundred, and
HTTP the parser rejects. Attacks are scaled down here; full-scale figures are in
docs/operations.md."""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.e2e.server import Server, running_server

HEAD = b"GET /healthz HTTP/1.1\r\nHost: test\r\n"


def reply(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """Read a whole response (the server closes after it): its status and JSON body."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@contextmanager
def connection(server: Server, timeout: float = 15) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        yield sock


def healthz(server: Server) -> int:
    with connection(server) as sock:
        sock.sendall(HEAD + b"Connection: close\r\n\r\n")
        return int(sock.recv(4096).split()[1])


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_an_oversized_head_is_refused_before_it_ends(sqlite_url: str) -> None:
    with running_server(sqlite_url, extra={"CALLTRAIL_MAX_HEADER_BYTES": "4096"}) as server:
        with connection(server) as sock:
            sock.sendall(HEAD + b"X-Padding: " + b"a" * 65536)  # and never ends it
            status, body = reply(sock)
        assert status == 431
        assert set(body) == {"error", "detail"}  # the API's error shape, nothing else
        assert body["error"] == "request_header_fields_too_large"
        assert "4096 bytes" in body["detail"]
        with connection(server) as sock:
            sock.sendall(b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\nHost: test\r\n\r\n")
            assert reply(sock)[0] == 414
        assert healthz(server) == 200


def test_many_large_heads_do_not_grow_the_server(sqlite_url: str) -> None:
    def attack(port: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(HEAD + b"X-Padding: ")
                for _ in range(8):
                    sock.sendall(b"a" * (1 << 20))
        except OSError:
            pass  # refused and reset: what should happen

    with running_server(sqlite_url) as server:
        [worker] = server.workers()
        before = rss_mib(worker)
        threads = [threading.Thread(target=attack, args=(server.port,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        grown = rss_mib(worker) - before
        assert grown < 16, f"{grown:.0f} MiB more after 64 MiB of unfinished headers"
        assert healthz(server) == 200


def test_malformed_http_gets_the_json_error_shape(sqlite_url: str) -> None:
    with running_server(sqlite_url) as server:
        for request in (
            HEAD + b"X-Bad: a\x01b\r\n\r\n",  # a control character in a header value
            b"NOT AN HTTP REQUEST\r\n\r\n",  # a malformed request line
            b"GET /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: x\r\n\r\n",
        ):
            with connection(server) as sock:
                sock.sendall(request)
                status, body = reply(sock)
            assert status == 400
            assert set(body) == {"error", "detail"}
            assert body["error"] == "malformed_request"
            assert body["detail"].startswith("the request is not valid HTTP/1.1")


def test_a_connection_that_does_not_finish_its_head_in_time_is_closed(
    sqlite_url: str,
) -> None:
    with running_server(sqlite_url, extra={"CALLTRAIL_HEADER_TIMEOUT": "1"}) as server:
        with connection(server) as silent, connection(server) as slow:
            slow.sendall(HEAD)  # and never the blank line
            assert silent.recv(1) == b""  # closed by the server (or recv times out: fail)
            assert slow.recv(1) == b""
        assert healthz(server) == 200


def test_idle_connections_cannot_take_every_file_and_the_oldest_make_room(
    sqlite_url: str,
) -> None:
    # 256 open files per process: the cap becomes 192 connections (64 kept for the
    # stores and pipes). 300 idle connections owing a head would take every file.
    extra = {"CALLTRAIL_HEADER_TIMEOUT": "600"}
    with running_server(sqlite_url, extra=extra, max_files=256) as server:
        idle = []
        try:
            for _ in range(300):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
                sock.sendall(HEAD)
                idle.append(sock)
            assert healthz(server) == 200
            readable, _, _ = select.select(idle, [], [], 5)
            closed = [sock for sock in idle if sock in readable and sock.recv(1) == b""]
            assert closed == idle[: len(closed)]  # the oldest first
            assert len(closed) >= 300 - 192
            assert not readable[len(closed) :]  # the rest still open
        finally:
            for sock in idle:
                sock.close()
        assert any("CALLTRAIL_MAX_CONNECTIONS=1000 needs more" in line for line in server.log)
