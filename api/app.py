"""``create_app``: the Litestar application over the service's parts.

The parts come from ``service.bootstrap`` (or are given: tests assemble the app with their
own); this module adds only what HTTP needs, the signature verifier and the XML replies,
and hands every handler what it uses as a typed dependency.
"""

from __future__ import annotations

import importlib.metadata
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from litestar import Litestar, Router, get
from litestar.di import Provide

from api import metric_reads, reads
from api.errors import EXCEPTION_HANDLERS
from api.ingest import CalltrailApp, PlainWebhooks, WebhookCounts
from api.observability import PROMETHEUS, MetricsController, Observability, readyz
from api.openapi import SECURITY, assets_router, openapi_config
from api.reading import api_key_guard, refuse_nul
from api.responses import Replies
from api.signature import SignatureVerifier
from api.webhooks import Webhooks, webhook_handlers
from console.routes import console_router, template_config
from projections.views import Views
from service.bootstrap import Services, bootstrap, check_security
from service.heap import freeze_startup_heap
from service.settings import Settings
from store.application import CallLog

VERSION = importlib.metadata.version("calltrail")


@get("/healthz", sync_to_thread=False, tags=["service"], summary="Liveness")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def make_verifier(settings: Settings) -> SignatureVerifier | None:
    """The webhook signature check; ``None`` only with signatures explicitly skipped."""
    if settings.insecure_skip_signature:
        return None
    return SignatureVerifier(settings.auth_tokens, settings.main_auth_tokens)


@dataclass
class _Started:
    """The parts the lifespan opened, for the handlers' dependencies."""

    services: Services | None = None
    observability: Observability | None = None
    webhooks: Webhooks | None = None

    def get_services(self) -> Services:
        assert self.services is not None, "the app has not started"
        return self.services

    def get_observability(self) -> Observability:
        assert self.observability is not None, "the app has not started"
        return self.observability

    def get_webhooks(self) -> Webhooks:
        assert self.webhooks is not None, "the app has not started"
        return self.webhooks


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    verifier: SignatureVerifier | None = None,
    replies: Replies | None = None,
    freeze_heap: bool = False,
) -> Litestar:
    """Build the service for ``settings`` (default: from the environment).

    Refuses to build without an auth token unless signatures are explicitly skipped. The
    parts are opened when the app starts (its lifespan), not when it is built; with
    ``freeze_heap`` (a serving process: ``served_app``), the heap is then frozen
    (``service/heap.py``).
    """
    settings = settings or (services.settings if services else Settings.from_env())
    check_security(settings)
    verifier = verifier or make_verifier(settings)
    replies = replies or Replies.from_settings(settings)
    started = _Started()
    counts: WebhookCounts = Counter()

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        running = services or bootstrap(settings)
        started.services = running
        started.observability = Observability(running, counts)
        running.on_batch.append(started.observability.observe)
        started.webhooks = Webhooks(settings, verifier, running.writer, replies)
        with running.running():
            if freeze_heap:
                freeze_startup_heap()
            yield

    app = CalltrailApp(
        route_handlers=[
            healthz,
            readyz,
            Router(
                path="/",
                route_handlers=[MetricsController],
                guards=[api_key_guard(metrics_keys(settings))],
                security=SECURITY,
            ),
            *webhook_handlers(),
            read_router(settings.api_keys),
            assets_router(),
            console_router(settings),
        ],
        template_config=template_config(),
        dependencies=_dependencies(settings, started),
        middleware=[PROMETHEUS.middleware],
        openapi_config=openapi_config(VERSION),
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
        # Logging is the process's (service/logs.py): Litestar's default config would
        # format every record twice through a queue handler and a thread of its own.
        logging_config=None,
    )
    app.plain = PlainWebhooks(started.get_webhooks, counts, settings.max_body_bytes)
    return app


def served_app() -> Litestar:
    """The app ``calltrail serve`` runs in each worker: settings from the environment,
    garbage collection tuned for a long-running server."""
    return create_app(freeze_heap=True)


def metrics_keys(settings: Settings) -> tuple[str, ...]:
    """The bearer keys ``/metrics`` accepts: CALLTRAIL_METRICS_KEY, or the API keys."""
    return (settings.metrics_key,) if settings.metrics_key else settings.api_keys


def read_router(api_keys: tuple[str, ...]) -> Router:
    """The read API under ``/v1``, guarded by the bearer ``api_keys``."""
    return Router(
        path="/v1",
        route_handlers=[
            reads.list_calls_route,
            reads.get_call,
            reads.get_timeline,
            metric_reads.hangup_causes_route,
            metric_reads.kpi_report,
            reads.events,
        ],
        guards=[api_key_guard(api_keys), refuse_nul],
        security=SECURITY,
        tags=["read API"],
    )


def _dependencies(settings: Settings, started: _Started) -> dict[str, Provide]:
    """What handlers may ask for by name, each typed by its provider."""

    def get_settings() -> Settings:
        return settings

    def get_views() -> Views:
        return started.get_services().views

    def get_call_log() -> CallLog:
        return started.get_services().call_log

    providers: dict[str, Callable[[], object]] = {
        "settings": get_settings,
        "services": started.get_services,
        "views": get_views,
        "call_log": get_call_log,
        "observability": started.get_observability,
        "webhooks": started.get_webhooks,
    }
    return {name: Provide(provider, sync_to_thread=False) for name, provider in providers.items()}
