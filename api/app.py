"""``create_app``: the Litestar application, its routes, and the resources its lifespan owns."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext

from litestar import Litestar, get
from litestar.openapi import OpenAPIConfig

from api.errors import EXCEPTION_HANDLERS
from api.observability import PROMETHEUS, MetricsController, Observability, readyz
from api.reads import read_api
from api.responses import Replies
from api.signature import SignatureVerifier
from api.webhooks import Webhooks, webhook_handlers
from projections.runner import following
from service.bootstrap import check_security, open_call_log, open_views, projection_runner
from service.settings import Settings
from service.writer import BatchStats, DirectWriter, GroupCommitWriter

log = logging.getLogger("calltrail")


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the service for ``settings`` (default: from the environment).

    Refuses to build without an auth token unless signatures are explicitly skipped.
    """
    settings = settings or Settings.from_env()
    check_security(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        call_log = open_call_log(settings.database)
        runner = projection_runner(settings) if settings.embedded_projections else None
        observability = Observability(app.state)

        def committed(stats: BatchStats) -> None:
            observability.observe(stats)
            if runner is not None:
                runner.wake.set()

        writer: GroupCommitWriter | DirectWriter = GroupCommitWriter(
            call_log, settings.batch_max, settings.batch_wait_ms / 1000, on_batch=committed
        )
        if not settings.group_commit:
            writer = DirectWriter(call_log)
        app.state.observability = observability
        verifier = None
        if not settings.insecure_skip_signature:
            verifier = SignatureVerifier(settings.auth_tokens, settings.main_auth_tokens)
        app.state.webhooks = Webhooks(settings, verifier, writer, Replies.from_settings(settings))
        app.state.call_log = call_log
        app.state.runner = runner
        app.state.settings = settings
        views = open_views(settings)
        app.state.views = dict(zip(("timeline", "metrics"), views, strict=True))
        writer.start()
        try:
            with following(runner) if runner is not None else nullcontext():
                yield
        finally:
            writer.stop()
            call_log.close()
            for view in views:
                view.close()

    return Litestar(
        route_handlers=[healthz, readyz, MetricsController, *webhook_handlers(), read_api],
        middleware=[PROMETHEUS.middleware],
        openapi_config=OpenAPIConfig(title="calltrail", version="0.1.0", path="/schema"),
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
    )
