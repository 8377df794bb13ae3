"""``create_app``: the Litestar application, its routes, and the resources its lifespan owns."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, get

from api.errors import EXCEPTION_HANDLERS
from api.responses import Replies
from api.signature import SignatureVerifier
from api.webhooks import Webhooks, webhook_handlers
from service.bootstrap import check_security, open_call_log
from service.settings import Settings
from service.writer import GroupCommitWriter

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
        writer = GroupCommitWriter(call_log, settings.batch_max, settings.batch_wait_ms / 1000)
        verifier = None
        if not settings.insecure_skip_signature:
            verifier = SignatureVerifier(settings.auth_tokens, settings.main_auth_tokens)
        app.state.webhooks = Webhooks(settings, verifier, writer, Replies.from_settings(settings))
        app.state.call_log = call_log
        writer.start()
        try:
            yield
        finally:
            writer.stop()
            call_log.close()

    return Litestar(
        route_handlers=[healthz, *webhook_handlers()],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
    )
