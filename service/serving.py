"""``calltrail serve``'s processes: the listening sockets, and the web workers serving
on them beside the projection runner, each a supervised process (service/supervision.py).

With N workers each gets a listening socket of its own on the same port (SO_REUSEPORT),
so the kernel spreads new connections over the workers by their address hash; one shared
socket let one worker accept most of a burst. The sockets are made here, before any
worker starts, so connections wait in the kernel's queue meanwhile instead of being
refused, and a restarted worker takes over its predecessor's socket and queue. Each is
handed to uvicorn as a socket object of its real family, so accepted connections get
TCP_NODELAY.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import logging
import os
import resource
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import uvicorn

from service.bootstrap import WRITER_SOCKET
from service.heap import freeze_startup_heap
from service.http import Limits, protocol_class
from service.logs import flush_logs, logging_config
from service.settings import Settings
from service.supervision import Child, Supervisor
from store.application import open_call_log
from store.writer_frames import listening_socket
from store.writer_process import WriterServer

log = logging.getLogger("calltrail")

BACKLOG = 2048
RESERVED_FILES = 64  # files a worker keeps open besides connections: stores, pipes, logs
STARTUP_FAILURE = 3  # uvicorn's exit status when the app fails to start
GRACE_SECONDS = 20  # longest a worker waits for requests in flight when told to stop


class PortInUseError(OSError):
    """Something else listens on the port."""


def listen(host: str, port: int, count: int, wait: float = 10.0) -> list[socket.socket]:
    """``count`` sockets listening on ``host:port``; waits up to ``wait`` s for the port."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return _bind(host, port, count)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            if time.monotonic() > deadline:
                detail = f"address already in use (waited {wait:.0f} s for it)"
                raise PortInUseError(error.errno, detail) from None
        time.sleep(0.2)  # a previous server's workers may still be finishing


def _bind(host: str, port: int, count: int) -> list[socket.socket]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if count == 1:
        return [socket.create_server((host, port), family=family, backlog=BACKLOG)]
    # A plain bind first: SO_REUSEPORT would silently share the port with anything else
    # listening on it (another calltrail), where a plain bind fails.
    socket.create_server((host, port), family=family).close()
    return [
        socket.create_server((host, port), family=family, backlog=BACKLOG, reuse_port=True)
        for _ in range(count)
    ]


def connection_limits(settings: Settings) -> Limits:
    """The HTTP limits for this process, the connection cap within its file limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    cap = min(settings.max_connections, soft - RESERVED_FILES)
    if cap < settings.max_connections:
        log.warning(
            "CALLTRAIL_MAX_CONNECTIONS=%d needs more open files than allowed (%d): "
            "%d connections per process at most",
            settings.max_connections,
            soft,
            cap,
        )
    return Limits(settings.max_header_bytes, float(settings.header_timeout), max(cap, 1))


class _Server(uvicorn.Server):
    """uvicorn's server, saying when it serves (uvicorn is silent when given sockets), and
    writing the log lines still waiting before it ends the process with the SIGTERM it
    caught (which runs no ``finally``)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                flush_logs()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            log.info("serving on http://%s:%d (pid %d)", host, port, os.getpid())


def serve_on(settings: Settings, sockets: list[socket.socket]) -> bool:
    """Serve the app on ``sockets`` until SIGTERM or Ctrl-C; whether it had started."""
    config = uvicorn.Config(
        "api.app:served_app",
        factory=True,
        http=protocol_class(connection_limits(settings)),
        ws="none",
        log_config=logging_config(settings.log_level),
        log_level=settings.log_level,
        access_log=False,  # every request already logs one JSON line (api/access.py)
        # Forwarded headers count only from CALLTRAIL_TRUSTED_PROXIES (api/webhooks.py).
        proxy_headers=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    server = _Server(config)
    server.run(sockets=sockets)
    return server.started


def supervise(settings: Settings, sockets: Sequence[socket.socket]) -> int:
    """Run a worker per socket, the writer process (with group commit), and the projection
    runner when the service projects, as supervised children of this process, until
    SIGTERM or Ctrl-C."""
    importlib.import_module("api.app")  # loaded once, before the fork, for every worker
    with contextlib.ExitStack() as stack:
        writes = None
        if settings.group_commit:  # else each worker saves its own callbacks
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="calltrail-"))
            writes = stack.enter_context(listening_socket(os.path.join(folder, "writer.sock")))
            os.environ[WRITER_SOCKET] = writes.getsockname()
            stack.callback(os.environ.pop, WRITER_SOCKET, None)
        listening = [*sockets, *([writes] if writes else [])]

        def keeping(kept: socket.socket | None, run: Callable[[], int]) -> Callable[[], None]:
            """A child's target: close the listening sockets it does not serve (a worker
            holding the writer's would let workers connect to a writer that is gone),
            then run."""

            def target() -> None:
                for sock in listening:
                    if sock is not kept:
                        sock.close()
                sys.exit(run())

            return target

        def serving(sock: socket.socket) -> Callable[[], int]:
            def run() -> int:
                os.environ["CALLTRAIL_PROJECTIONS"] = "off"  # one runner, in its own process
                return 0 if serve_on(Settings.from_env(), [sock]) else STARTUP_FAILURE

            return run

        children = [
            Child(f"web worker {n}", keeping(sock, serving(sock)))
            for n, sock in enumerate(sockets, 1)
        ]
        if settings.embedded_projections:
            children.insert(0, Child("projections", keeping(None, follow_views)))
        if writes is not None:
            # Stopped last: the workers answer what they hold, then the writer commits
            # what they sent.
            target = keeping(writes, functools.partial(run_writer, writes))
            children.insert(0, Child("writer", target, stops_last=True))
        return Supervisor(children, grace=GRACE_SECONDS + 10).run()


def run_writer(sock: socket.socket) -> int:
    """The writer process: record what the web workers send on ``sock``, until SIGTERM
    (then finish the batch in hand, and exit)."""
    settings = Settings.from_env()
    os.environ.pop(WRITER_SOCKET, None)
    app = open_call_log(settings.database)
    server = WriterServer(sock, app, settings.batch_max, settings.batch_wait_ms / 1000)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: server.stop())
    freeze_startup_heap()
    log.info("writer serving the workers (pid %d)", os.getpid())
    try:
        server.run()
    finally:
        app.close()
    return 0


def follow_views(batch_size: int = 2000) -> int:
    """Keep the views up to date in this process until SIGTERM or Ctrl-C (``calltrail
    project``, and the runner of ``calltrail serve --workers N``)."""
    from service.bootstrap import projection_runner  # noqa: PLC0415
    from service.reconcile_task import reconciling  # noqa: PLC0415

    settings = Settings.from_env()
    runner = projection_runner(settings)
    runner.batch_size = batch_size
    stop = threading.Event()

    def finish(*_: object) -> None:
        stop.set()
        runner.wake.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, finish)
    log.info("following the event log; positions %s", runner.positions())
    with reconciling(settings):  # the one process of the service that reconciles
        runner.follow(stop, watch=True)
    return 0
