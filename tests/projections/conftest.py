"""Fixtures: a call log and both views on each store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from projections.building import BuildableView
from projections.runner import ViewRunner
from projections.views import VIEW_NAMES, open_view
from store.application import CallLog, open_call_log
from store.persistence import parse_database_url

Views = Callable[[], list[BuildableView]]


@pytest.fixture
def call_log(database_url: str) -> Iterator[CallLog]:
    """The event store the views are built from."""
    app = open_call_log(database_url)
    yield app
    app.close()


@pytest.fixture
def opened() -> Iterator[list[Any]]:
    """Everything a test opened, closed afterwards (PostgreSQL connections are finite)."""
    things: list[Any] = []
    yield things
    for thing in things:
        thing.close()


@pytest.fixture
def open_views(database_url: str, opened: list[Any]) -> Views:
    """Open (or reopen) the timeline and metrics views on the same store."""
    database = parse_database_url(database_url)

    def views() -> list[BuildableView]:
        made = [open_view(n, database.eventsourcing_env(n)) for n in VIEW_NAMES]
        opened.extend(made)
        return made

    return views


@pytest.fixture
def runner(database_url: str, open_views: Views, opened: list[Any]) -> Callable[[], ViewRunner]:
    """A fresh runner (its own application instance), as after a process restart."""

    def make() -> ViewRunner:
        app = open_call_log(database_url)
        opened.append(app)
        return ViewRunner(app, open_views())

    return make
