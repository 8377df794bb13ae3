"""Runs ``calltrail serve`` as a real process on 127.0.0.1, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from tests.plivo_client import MAIN_TOKEN, TOKEN

# uvicorn logs this once the socket listens (after "Application startup complete").
READY = "Uvicorn running on"


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running server process and the URL it answers on."""

    process: subprocess.Popen[str]
    url: str
    log: list[str]  # the lines the server wrote to stderr so far

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing: what a power cut or OOM kill does."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def server_env(
    database_url: str, public_url: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a server on ``database_url`` that trusts the test tokens."""
    env = dict(os.environ)
    env |= {
        "CALLTRAIL_DATABASE_URL": database_url,
        "CALLTRAIL_AUTH_TOKEN": TOKEN,
        "CALLTRAIL_MAIN_AUTH_TOKEN": MAIN_TOKEN,
        "CALLTRAIL_PUBLIC_URL": public_url,
    }
    return env | dict(extra or {})


@contextmanager
def running_server(
    database_url: str,
    port: int | None = None,
    workers: int = 1,
    extra: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Start ``calltrail serve`` and wait (by reading its log, not sleeping) until it is ready."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command,
        env=server_env(database_url, url, extra),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    log: list[str] = []
    for line in process.stderr:
        log.append(line)
        if READY in line:
            break
    else:
        raise RuntimeError("server did not start:\n" + "".join(log))
    # Keep reading the log so a chatty server never blocks on a full pipe.
    threading.Thread(target=lambda: log.extend(process.stderr or ()), daemon=True).start()
    server = Server(process, url, log)
    try:
        yield server
    finally:
        if process.poll() not in (None, -signal.SIGKILL):
            print("server exited unexpectedly:\n" + "".join(log), file=sys.stderr)
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        process.stderr.close()
