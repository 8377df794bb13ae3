"""Fixtures: a call log and both views on each store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from projections.runner import ViewRunner, open_view
from service.application import CallLog
from service.bootstrap import open_call_log
from service.persistence import parse_database_url

Views = Callable[[], list[Any]]


@pytest.fixture
def call_log(database_url: str) -> CallLog:
    """The event store the views are built from."""
    return open_call_log(database_url)


@pytest.fixture
def open_views(database_url: str) -> Views:
    """Open (or reopen) the timeline and metrics views on the same store."""
    database = parse_database_url(database_url)
    return lambda: [open_view(n, database.eventsourcing_env(n)) for n in ("timeline", "metrics")]


@pytest.fixture
def runner(database_url: str, open_views: Views) -> Callable[[], ViewRunner]:
    """A fresh runner (its own application instance), as after a process restart."""
    return lambda: ViewRunner(open_call_log(database_url), open_views())
