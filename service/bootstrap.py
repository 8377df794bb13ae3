"""The composition root: every part a calltrail process runs is built here, from settings.

``bootstrap`` takes each part as a parameter with a default, so a test (or another entry
point) can assemble the service with parts of its own. The HTTP app (``api/app.py``) and
the commands (``entrypoints/``) start from what it returns.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from projections.building import BuildableView
from projections.runner import ViewRunner, following
from projections.views import VIEW_NAMES, ViewName, Views, open_view
from service.settings import Settings, SettingsError
from store.application import CallLog, open_call_log
from store.schema import schema_lock
from store.writer import BatchStats, DirectWriter, GroupCommitWriter, Writer
from store.writer_client import ProcessWriter

log = logging.getLogger("calltrail")


def check_security(settings: Settings) -> None:
    """Refuse to serve unsigned webhooks unless explicitly told to, and say so every start."""
    if not settings.api_keys:
        log.warning(
            "CALLTRAIL_API_KEYS is not set: every read of /v1%s will be 401",
            "" if settings.metrics_key else " and of /metrics",
        )
    if settings.insecure_skip_signature:
        log.warning(
            "CALLTRAIL_INSECURE_SKIP_SIGNATURE=1: webhook signatures are NOT checked; "
            "anyone who can reach this service can write calls"
        )
        return
    if not settings.auth_tokens:
        raise SettingsError(
            "CALLTRAIL_AUTH_TOKEN is not set: set it to your Plivo auth token "
            "(or CALLTRAIL_INSECURE_SKIP_SIGNATURE=1 for unsigned local testing)"
        )


def open_views(settings: Settings, names: tuple[ViewName, ...] = VIEW_NAMES) -> list[BuildableView]:
    """The read-model views ``names`` on the settings' store."""
    database = settings.database
    with schema_lock(database):
        return [
            open_view(name, database.eventsourcing_env(name), settings.account_timezone)
            for name in names
        ]


def projection_runner(settings: Settings, names: tuple[ViewName, ...] = VIEW_NAMES) -> ViewRunner:
    """A runner keeping ``names`` up to date, reading the log through its own application."""
    return ViewRunner(open_call_log(settings.database), open_views(settings, names))


WRITER_SOCKET = "CALLTRAIL_WRITER_SOCKET"
"""Set by ``calltrail serve`` for its web workers: the writer process's Unix socket."""


def make_writer(settings: Settings, call_log: CallLog) -> Writer:
    """The writer the settings ask for: group commit (in ``calltrail serve``'s writer
    process when it has one), or one transaction per callback."""
    if not settings.group_commit:
        return DirectWriter(call_log)
    path = os.environ.get(WRITER_SOCKET)
    if path:
        return ProcessWriter(path)
    return GroupCommitWriter(call_log, settings.batch_max, settings.batch_wait_ms / 1000)


@dataclass
class Services:
    """The parts of a running service: the log and its writer, the views, and (when this
    process keeps the views up to date) the projection runner."""

    settings: Settings
    call_log: CallLog
    writer: Writer
    views: Views
    runner: ViewRunner | None
    # Told of every committed batch (metrics); the runner is woken as well.
    on_batch: list[Callable[[BatchStats], None]] = field(default_factory=list)

    def batch_committed(self, stats: BatchStats) -> None:
        """A batch was committed: tell the listeners, wake the runner."""
        for listener in self.on_batch:
            listener(stats)
        if self.runner is not None:
            self.runner.wake.set()

    @contextlib.contextmanager
    def running(self) -> Iterator[Services]:
        """Run the writer and the runner during the block, then stop them and close all."""
        from service.reconcile_task import reconciling  # noqa: PLC0415

        self.writer.start()
        try:
            # The periodic reconciliation runs where the views are kept: one place.
            with (
                following(self.runner) if self.runner is not None else contextlib.nullcontext(),
                reconciling(self.settings) if self.runner is not None else contextlib.nullcontext(),
            ):
                yield self
        finally:
            self.writer.stop()
            self.call_log.close()
            self.views.close()


def bootstrap(
    settings: Settings | None = None,
    *,
    call_log: CallLog | None = None,
    writer: Writer | None = None,
    views: Views | None = None,
    runner: ViewRunner | None = None,
    project: bool | None = None,
) -> Services:
    """Build the service's parts; each one given is used instead of the default.

    ``project`` (default: ``CALLTRAIL_PROJECTIONS=embedded``) says whether this process
    keeps the views up to date; the runner is built for it unless one is given.
    """
    settings = settings or Settings.from_env()
    call_log = call_log or open_call_log(settings.database)
    writer = writer or make_writer(settings, call_log)
    views = views or Views.of(dict(zip(VIEW_NAMES, open_views(settings), strict=True)))
    if project is None:
        project = settings.embedded_projections
    if project and runner is None:
        runner = projection_runner(settings)
    services = Services(settings, call_log, writer, views, runner if project else None)
    if isinstance(writer, GroupCommitWriter | ProcessWriter):
        writer.on_batch = services.batch_committed
    return services
