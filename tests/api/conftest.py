"""Fixtures for HTTP tests: the real app over a real store, and a Plivo-like sender."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from service.bootstrap import Services, bootstrap
from service.settings import Settings
from store.application import CallLog
from tests.plivo_client import MAIN_TOKEN, PUBLIC_URL, TOKEN, PlivoSender

READ_KEY = "read-key-1"
METRICS_KEY = "scrape-key-1"


def settings_for(database_url: str, **extra: str) -> Settings:
    """Settings as a deployment would set them, on ``database_url``."""
    env = {
        "CALLTRAIL_DATABASE_URL": database_url,
        "CALLTRAIL_AUTH_TOKEN": f"{TOKEN},previous-token-abc",
        "CALLTRAIL_MAIN_AUTH_TOKEN": MAIN_TOKEN,
        "CALLTRAIL_PUBLIC_URL": PUBLIC_URL,
        "CALLTRAIL_DIAL_NUMBERS": "+14155550100",
        "CALLTRAIL_DIAL_SIP_USERS": "sip:alice@phone.plivo.com",
        "CALLTRAIL_CALLER_ID": "+14155550199",
        "CALLTRAIL_GREETING": "Connecting you now",
        "CALLTRAIL_MAX_BODY_BYTES": "4096",
        "CALLTRAIL_API_KEYS": READ_KEY,
        "CALLTRAIL_METRICS_KEY": METRICS_KEY,
    }
    return Settings.from_env(env | {f"CALLTRAIL_{k}": v for k, v in extra.items()})


@pytest.fixture
def services(database_url: str) -> Services:
    """The service's parts on each store, as the composition root builds them."""
    return bootstrap(settings_for(database_url))


@pytest.fixture
def app(services: Services) -> Litestar:
    """The service over those parts."""
    return create_app(services=services)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    """Real HTTP requests through Litestar's test client (lifespan included)."""
    with TestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
def sender(client: TestClient[Litestar]) -> PlivoSender:
    """Signs requests with the plivo SDK, as Plivo does."""
    return PlivoSender(client)


@pytest.fixture
def call_log(client: TestClient[Litestar], services: Services) -> CallLog:
    """The service's own call log, to look at what was stored."""
    return services.call_log


def stored(call_log: CallLog) -> int:
    """How many events the store holds."""
    return len(call_log.recorder.select_notifications(start=None, limit=1_000_000))
