"""The careful path: a page of events applied so that what a view cannot apply is held in
quarantine (``quarantine.py``) and the rest is applied, once.

The runner takes it for a page the fast path could not apply, or one that touches a call
a view holds. Each event is folded on its own (a failure is that event's), and each
view writes the page in one transaction as on the fast path: tracking first (which
takes the write lock and refuses a stale position), then the rows of every call in a
savepoint; only if the store refuses those rows, each event's call again in a savepoint
of its own, to find which. The held calls are read inside that transaction, so an
entry released meanwhile by ``calltrail quarantine retry`` is seen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking

from domain.call import Call
from projections.building import BuildableView
from projections.quarantine import (
    Held,
    ViewState,
    describe,
    held_calls,
    hold,
    report,
    transient,
    view_state,
)
from projections.sql import Batch, Cursor, StalePositionError

_NEVER = 2**63  # a cause after every position: the call is not held


@dataclass(slots=True)
class Folded:
    """One event, and its call as folded up to it (or why it could not be)."""

    position: int
    key: str  # the call's id, as the views key it
    call: Call | None = None  # a copy of the call after this event
    error: str | None = None  # why it could not be folded; neither: no view wanted it


def fold_each(
    notifications: Sequence[Notification],
    to_event: Callable[[Notification], Any],
    fold: Callable[[Any], Call],
    wanted: Callable[[Folded], bool],
) -> list[Folded]:
    """Fold each wanted event on its own; a failure is recorded as that event's, and the
    call's later events are not folded (its history no longer folds past it)."""
    folded = []
    failed: dict[str, int] = {}  # call id → its event that could not be folded
    for notification in notifications:
        item = Folded(notification.id, str(notification.originator_id))
        if item.key in failed:
            item.error = f"its event {failed[item.key]} could not be folded"
        elif wanted(item):
            try:
                # A copy: the call goes on changing as its later events are folded.
                item.call = copy.deepcopy(fold(to_event(notification)))
            except Exception as error:
                if transient(error):
                    raise
                item.error = describe(error)
                failed[item.key] = item.position
        folded.append(item)
    return folded


def write_or_hold(
    view: BuildableView, cursor: Cursor, folded: Sequence[Folded], held: dict[str, int]
) -> list[Held]:
    """Write the rows of ``folded`` (in log order) in the open transaction, holding what
    cannot be written or follows an event held (``held``: call id → cause, updated).
    Return the new entries."""
    holding = _Holding(held)
    todo: list[Folded] = []
    for item in folded:
        if holding.behind(item):
            holding.follower(item)
        elif item.call is None:
            if item.error is None:  # not folded: held when the page was read, not now
                raise StalePositionError("the quarantine changed since the page was read")
            holding.cause(item, item.error)
        else:
            todo.append(item)
    if todo and _write(view, cursor, todo) is not None:
        for item in todo:
            if holding.behind(item):
                holding.follower(item)
            elif (error := _write(view, cursor, [item])) is not None:
                holding.cause(item, error)
    return sorted(holding.entries, key=lambda entry: entry.position)


class _Holding:
    """The entries one view's transaction makes, and the calls it holds."""

    def __init__(self, held: dict[str, int]) -> None:
        self.held = held
        self.entries: list[Held] = []
        self.now = datetime.now(UTC)

    def behind(self, item: Folded) -> bool:
        """Whether an earlier event of the item's call is held."""
        return self.held.get(item.key, _NEVER) < item.position

    def follower(self, item: Folded) -> None:
        """Hold ``item`` behind its call's held event."""
        cause = self.held[item.key]
        self.entries.append(
            Held(item.position, item.key, cause, f"behind its event {cause}", self.now)
        )

    def cause(self, item: Folded, error: str) -> None:
        """Hold ``item`` for ``error``, and its call from here on."""
        self.held[item.key] = item.position
        self.entries.append(Held(item.position, item.key, item.position, error, self.now))


def _write(view: BuildableView, cursor: Cursor, items: Sequence[Folded]) -> str | None:
    """Write each call's rows as of its last event in ``items``, in a savepoint; return
    why the store refused them (and nothing is written), or ``None``."""
    batch = Batch()
    for item in items:
        assert item.call is not None
        batch.add(item.call, item.position, item.key)
    cursor.execute("SAVEPOINT calltrail_rows")
    try:
        view.write_rows(cursor, batch)
    except Exception as error:
        if transient(error):
            raise
        cursor.execute("ROLLBACK TO SAVEPOINT calltrail_rows")
        return describe(error)
    cursor.execute("RELEASE SAVEPOINT calltrail_rows")
    return None


def apply_carefully(
    app: Application[Any],
    views: Sequence[BuildableView],
    page: Sequence[Notification],
    fold: Callable[[Any], Call],
) -> int:
    """Apply ``page`` to each view that has not yet, holding what it cannot apply;
    return how many events the page holds."""
    states = [view_state(view, app.name) for view in views]

    def wanted(item: Folded) -> bool:
        # Some view still to apply it does not hold its call.
        return any(
            item.position > state.position and state.held.get(item.key, _NEVER) > item.position
            for state in states
        )

    folded = fold_each(page, app.mapper.to_domain_event, fold, wanted)
    tracking = Tracking(app.name, page[-1].id)
    for view, state in zip(views, states, strict=True):
        if tracking.notification_id > state.position:
            with view.transaction(commit=True) as cursor:
                view.move_tracking(cursor, tracking, state.position)
                todo = [item for item in folded if item.position > state.position]
                entries = write_or_hold(view, cursor, todo, held_calls(view, cursor))
                hold(view, cursor, entries)
            report(view.view_name, entries)
    return len(page)


def touches_held(page: Sequence[Notification], states: Sequence[ViewState]) -> bool:
    """Whether an event of ``page`` belongs to a call that a view still to apply it holds."""
    return any(
        notification.id > state.position and str(notification.originator_id) in state.held
        for state in states
        if state.held
        for notification in page
    )
