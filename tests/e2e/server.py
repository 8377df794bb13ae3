"""Runs ``calltrail serve`` as a real process on 127.0.0.1, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from tests.e2e.procs import children_of, listeners_of
from tests.plivo_client import MAIN_TOKEN, TOKEN

# uvicorn logs this once the socket listens (uvicorn's own command line: benchmarks).
READY = "Uvicorn running on"
# calltrail's server logs this once a worker serves (after "Application startup complete").
SERVING = "serving on http://"


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
    log: list[str]  # its standard error, line by line, as read so far

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        """SIGKILL to the supervisor and its children at once: no shutdown hooks, no
        flushing: what a power cut or an OOM kill of the whole service does."""
        children = children_of(self.process.pid)
        self.kill_supervisor()
        for pid in children:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def kill_supervisor(self) -> None:
        """SIGKILL to the supervising process only."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def workers(self) -> list[int]:
        """The pids of its web workers (its children listening on its port)."""
        return [pid for pid in children_of(self.process.pid) if listeners_of(pid, self.port)]


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


def _with_file_limit(command: list[str], count: int) -> list[str]:
    """``command`` (``python -m module ...``) run under a limit of ``count`` open files."""
    module, *args = command[2:]
    code = (
        "import resource, runpy, sys; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({count}, {count})); "
        f"sys.argv = {[module, *args]!r}; "
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-c", code]


@contextmanager
def running_server(
    database_url: str,
    port: int | None = None,
    workers: int = 1,
    extra: Mapping[str, str] | None = None,
    max_files: int | None = None,
) -> Iterator[Server]:
    """Start ``calltrail serve`` and wait (by reading its log, not sleeping) until each
    worker serves; ``max_files`` limits the open files of each of its processes."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    if max_files is not None:
        command = _with_file_limit(command, max_files)
    process = subprocess.Popen(
        command,
        env=server_env(database_url, url, extra),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    log: list[str] = []
    serving = 0
    for line in process.stderr:
        log.append(line)
        serving += SERVING in line
        if serving == workers:
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
