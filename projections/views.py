"""The read models by name, and how to open them on a store.

Each view is an eventsourcing tracking recorder of the store in use (``sqlite.py``,
``postgres.py``) with a feature's tables (``timeline_sql.py``, ``metrics_sql.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Literal

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment, resolve_topic

from projections.building import BuildableView
from projections.metrics_sql import MetricsSql
from projections.timeline_sql import TimelineSql

ViewName = Literal["timeline", "metrics"]
VIEW_NAMES: tuple[ViewName, ...] = ("timeline", "metrics")

# By topic: only the store in use is imported (psycopg alone takes a fifth of a second,
# paid again by every rebuild worker).
_VIEW_CLASSES: Mapping[tuple[str, str], str] = {
    ("eventsourcing.sqlite", "timeline"): "projections.sqlite:SQLiteTimelineView",
    ("eventsourcing.sqlite", "metrics"): "projections.sqlite:SQLiteMetricsView",
    ("eventsourcing.postgres", "timeline"): "projections.postgres:PostgresTimelineView",
    ("eventsourcing.postgres", "metrics"): "projections.postgres:PostgresMetricsView",
}


def open_view(name: ViewName, env: Mapping[str, str], account_tz: tzinfo = UTC) -> BuildableView:
    """The view ``name`` on the store ``env`` describes (eventsourcing's settings)."""
    factory = InfrastructureFactory.construct(Environment(name, dict(env)))
    view = factory.tracking_recorder(resolve_topic(_VIEW_CLASSES[env["PERSISTENCE_MODULE"], name]))
    assert isinstance(view, BuildableView)
    view.account_tz = account_tz
    view.ensure_schema()
    view.reopen = functools.partial(open_view, name, dict(env), account_tz)
    return view


@dataclass(frozen=True, slots=True)
class Views:
    """The views a service reads and keeps up to date."""

    timeline: TimelineSql
    metrics: MetricsSql

    @classmethod
    def of(cls, views: Mapping[ViewName, BuildableView]) -> Views:
        """The views from a mapping of name to view (both must be there)."""
        timeline, metrics = views["timeline"], views["metrics"]
        assert isinstance(timeline, TimelineSql)
        assert isinstance(metrics, MetricsSql)
        return cls(timeline, metrics)

    def named(self) -> dict[ViewName, BuildableView]:
        """Every view by name, in ``VIEW_NAMES`` order."""
        return {"timeline": self.timeline, "metrics": self.metrics}

    def close(self) -> None:
        """Close every view's connections."""
        for view in self.named().values():
            view.close()
