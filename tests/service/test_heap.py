"""A serving process freezes its start-up heap and collects garbage less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from api.app import served_app
from service.heap import THRESHOLDS
from tests.api.conftest import settings_for


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Put the collector back as it was: other tests run in this process."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_the_served_app_freezes_its_start_up_heap(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, restored_gc: None
) -> None:
    settings = settings_for(sqlite_url)
    monkeypatch.setenv("CALLTRAIL_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CALLTRAIL_AUTH_TOKEN", settings.auth_tokens[0])
    assert gc.get_freeze_count() == 0
    with TestClient(app=served_app()) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == THRESHOLDS
