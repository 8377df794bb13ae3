"""Fixtures for the console's HTTP tests: the real app over a real store, signed in or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from tests.api.conftest import READ_KEY, settings_for
from tests.factories import CallSpec
from tests.plivo_client import PlivoSender

# The tests' public URL is https, so the session cookie is Secure: the client speaks https.
BASE = "https://calltrail.test"


def open_client(database_url: str, **extra: str) -> TestClient[Litestar]:
    """A test client of the app with settings ``extra`` on ``database_url``."""
    app = create_app(settings_for(database_url, **extra))
    return TestClient(app=app, base_url=BASE)


def sign_in(client: TestClient[Litestar], key: str = READ_KEY) -> Any:
    """Sign in through the form, as a person would."""
    return client.post(
        "/console/sign-in", data={"key": key, "next": "/console/calls"}, follow_redirects=False
    )


def deliver(client: TestClient[Litestar], specs: list[CallSpec]) -> int:
    """Send every callback of ``specs``, signed; the highest position acknowledged."""
    sender = PlivoSender(client)
    last = 0
    for spec in specs:
        for callback in spec.callbacks:
            response = sender.deliver(callback)
            assert response.status_code == 200
            last = max(last, int(response.headers.get("x-calltrail-position", 0)))
    return last


def wait_for(client: TestClient[Litestar], position: int) -> None:
    """Wait (through the read API's own min_position) until the views reach ``position``."""
    for path in ("/v1/calls", "/v1/metrics/hangup-causes"):
        response = client.get(
            path,
            params={"min_position": position},
            headers={"Authorization": f"Bearer {READ_KEY}"},
        )
        assert response.status_code == 200, response.text


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient[Litestar]]:
    """A client of the console, not signed in."""
    with open_client(sqlite_url) as test_client:
        yield test_client


@pytest.fixture
def signed_in(client: TestClient[Litestar]) -> TestClient[Litestar]:
    """The same client, signed in with a read key."""
    assert sign_in(client).status_code == 303
    return client
