"""The periodic reconciliation of a running service (``CALLTRAIL_RECONCILE_EVERY``).

It runs beside the projection runner, in the one process that keeps the views up to
date (the ``projections`` child of ``calltrail serve --workers N``, ``calltrail project``,
or the single process of ``--workers 1``), never in the web workers: one service runs
one pass at a time. Several instances on one PostgreSQL each run their own passes; that
is harmless, as every record goes through the call log's duplicate check (the second
instance's recording of a record is a duplicate, stored once), at the cost of their
Call API requests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from service.plivo_calls import CallApi, call_api_options
from service.reconcile import PassOptions, Reconciler, Summary
from service.settings import Settings

log = logging.getLogger("calltrail.reconcile")

FIRST_WINDOW = timedelta(days=1)  # the first pass lists the calls that ended in the last day


class PeriodicReconciler:
    """A thread that runs a pass every ``settings.reconcile_every`` seconds."""

    def __init__(
        self, settings: Settings, on_pass: Callable[[Summary], object] | None = None
    ) -> None:
        self.settings = settings
        self.on_pass = on_pass  # told each pass's summary (tests wait on it)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="calltrail-reconcile", daemon=True)
        self.passes = 0

    def start(self) -> None:
        """Start the thread; the first pass runs one period after."""
        self.thread.start()

    def stop(self) -> None:
        """Stop after the pass under way, if any."""
        self.stop_event.set()
        self.thread.join()

    def _run(self) -> None:
        from service.bootstrap import open_views  # noqa: PLC0415
        from store.application import open_call_log  # noqa: PLC0415

        settings = self.settings
        options = call_api_options(settings)
        assert options is not None  # the settings refuse RECONCILE_EVERY without them
        older_than = timedelta(seconds=settings.reconcile_older_than)
        since = datetime.now(UTC) - FIRST_WINDOW
        call_log = open_call_log(settings.database)
        (timeline,) = open_views(settings, ("timeline",))
        try:
            with CallApi(options) as api:
                reconciler = Reconciler(call_log, timeline, api)
                while not self.stop_event.wait(settings.reconcile_every):
                    since = self._pass(reconciler, since, older_than)
        finally:
            call_log.close()
            timeline.close()

    def _pass(self, reconciler: Reconciler, since: datetime, older_than: timedelta) -> datetime:
        """One pass; the start of the next one's window (this one's end, less a margin)."""
        options = PassOptions(datetime.now(UTC), older_than, since)
        try:
            summary = reconciler.run(options)
        except Exception:
            log.exception("reconciliation pass failed; the next one tries again")
            return since
        self.passes += 1
        log.info("reconciled with Plivo's Call API: %s", summary.line())
        if self.on_pass is not None:
            self.on_pass(summary)
        # Overlapping windows cost a few requests and store nothing twice.
        return options.until - older_than if summary.errors == 0 else since


@contextlib.contextmanager
def reconciling(settings: Settings) -> Iterator[PeriodicReconciler | None]:
    """Run periodic passes during the block when ``CALLTRAIL_RECONCILE_EVERY`` is set."""
    if not settings.reconcile_every:
        yield None
        return
    task = PeriodicReconciler(settings)
    task.start()
    log.info(
        "reconciling with Plivo's Call API every %.0f s (pid %d)",
        settings.reconcile_every,
        os.getpid(),
    )
    try:
        yield task
    finally:
        task.stop()
