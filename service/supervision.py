"""A small process supervisor: fork children, restart any that exits, stop them together;
and, in each child, the means to die with it.

``calltrail serve --workers N`` runs N web workers and the projection runner as children
of one supervising process. Children are forked (multiprocessing's "fork"), so the
modules the supervisor loaded are shared and a child starts in a fraction of a second.
A child that exits is started again, after a back-off if it keeps failing at start.
SIGTERM or SIGINT stops them all: SIGTERM to each, then SIGKILL to whichever has not
exited within the grace period. If the supervisor itself is killed (SIGKILL, OOM), each
child learns it at once from Linux's parent-death signal and, as a second line, from a
parent-pid check every second, and shuts down, so a new supervisor can take the port.
gunicorn and uvicorn's own supervisor leave their workers serving in that case
(docs/operations.md, "Processes").
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

from service.logs import flush_logs

log = logging.getLogger("calltrail.supervision")

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
QUICK_EXIT = 5.0  # seconds: a child that exits sooner after its start is failing at start
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass
class Child:
    """A process to keep running: its name (also its name in ``ps -o comm``) and what it
    runs (a function that exits the process with its status)."""

    name: str
    target: Callable[[], None]
    stops_last: bool = False  # stopped once the others have exited (they depend on it)
    process: BaseProcess | None = None
    started: float = 0.0
    failures: int = 0  # exits in a row soon after start
    due: float = 0.0  # when to start it again

    def start(self) -> None:
        """Fork the process."""
        context = multiprocessing.get_context("fork")
        self.process = context.Process(
            target=_child, args=(self.name, self.target, os.getpid()), name=self.name
        )
        self.process.start()
        self.started = time.monotonic()
        log.info("started %s (pid %s)", self.name, self.process.pid)

    def reap(self) -> None:
        """If the process has exited, log it and schedule its restart."""
        assert self.process is not None
        if self.process.is_alive():
            return
        now = time.monotonic()
        self.failures = self.failures + 1 if now - self.started < QUICK_EXIT else 0
        delay = min(0.25 * 2**self.failures, 30.0) if self.failures else 0.0
        self.due = now + delay
        status = self.process.exitcode
        log.error(
            "%s (pid %s) exited with status %s; starting it again in %.1f s",
            *(self.name, self.process.pid, status, delay),
        )
        self.process.close()
        self.process = None


class Supervisor:
    """Keeps ``children`` running until SIGTERM or SIGINT, then stops them."""

    def __init__(self, children: Sequence[Child], grace: float = 30.0) -> None:
        self.children = list(children)
        self.grace = grace

    def run(self) -> int:
        """Start every child, restart those that exit, stop all on SIGTERM/SIGINT."""
        with _signals_to_pipe() as signals:
            for child in self.children:
                child.start()
            while not self._wait(signals):
                for child in self.children:
                    if child.process is not None:
                        child.reap()
                    elif time.monotonic() >= child.due:
                        child.start()
            self._stop_all()  # signals still go to the pipe: a second one cannot cut it short
        return 0

    def _wait(self, signals: int) -> bool:
        """Block until a child exits, a restart is due, or a signal says stop (True)."""
        sentinels = [child.process.sentinel for child in self.children if child.process]
        due = [child.due for child in self.children if child.process is None]
        timeout = max(0.0, min(due) - time.monotonic()) if due else None
        if signals in wait([signals, *sentinels], timeout):
            return bool(set(_STOP_SIGNALS) & set(os.read(signals, 512)))
        return False

    def _stop_all(self) -> None:
        for last in (False, True):
            self._stop([c for c in self.children if c.stops_last is last])

    def _stop(self, children: Sequence[Child]) -> None:
        running = [child.process for child in children if child.process is not None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + self.grace
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                log.error("pid %s did not stop within %.0f s; killing it", process.pid, self.grace)
                process.kill()
                process.join()


@contextlib.contextmanager
def _signals_to_pipe() -> Iterator[int]:
    """A pipe that receives the number of each SIGTERM and SIGINT."""
    read, write = os.pipe()
    os.set_blocking(write, False)
    previous = {signum: signal.signal(signum, _ignore) for signum in _STOP_SIGNALS}
    old_fd = signal.set_wakeup_fd(write)
    try:
        yield read
    finally:
        signal.set_wakeup_fd(old_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(read)
        os.close(write)


def _ignore(*_: object) -> None:
    """A Python-level handler, so that the signal reaches the wakeup pipe."""


def _child(name: str, target: Callable[[], None], parent: int) -> None:
    """A forked child: the signal handling of a fresh process, tied to its parent."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    follow_parent(parent)
    try:
        target()
    finally:
        flush_logs()  # multiprocessing ends its children with os._exit: no atexit


def follow_parent(parent: int, check_every: float = 1.0, grace: float = 30.0) -> None:
    """Shut this process down (SIGTERM to itself) when ``parent`` is no longer its parent.

    Linux sends the parent-death signal the moment the parent exits; the pid check
    covers a parent that died before the signal was asked for. A process still running
    ``grace`` seconds after its SIGTERM exits at once.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(check_every)
        log.error("the supervisor (pid %d) is gone; shutting down", parent)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        os._exit(1)

    threading.Thread(target=watch, name="calltrail-parent", daemon=True).start()
