"""``calltrail quarantine retry``: apply the events a view holds again, once their cause is
fixed (the code upgraded, an old topic registered, an upcaster added).

A view's rows of a call are a function of the call's whole state (the timeline upserts
the call's row; the metrics replace the call's contribution), so folding the call again
from the log up to the view's position and writing its rows, while deleting its entries
in the same transaction, applies the held events exactly once: a second retry finds
nothing held. Whatever still cannot be applied is held again, with the error of now.
The transaction first takes the view's tracking row, as the runner's writes do, so the
two never interleave.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from projections.building import BuildableView
from projections.careful import Folded, write_or_hold
from projections.log import call_events
from projections.quarantine import Held, describe, entries, hold, release, report, transient
from projections.sql import Cursor


@dataclass
class Retried:
    """What a retry did on one view."""

    view: str
    applied: list[int] = field(default_factory=list)  # positions released and applied
    held: list[Held] = field(default_factory=list)  # still held, with the error of now


def retry(
    app: Application[Any], view: BuildableView, positions: Collection[int] | None = None
) -> Retried:
    """Apply again the calls ``view`` holds: those of the events at ``positions``, or all."""
    held = entries(view)
    calls = {e.call_id for e in held if positions is None or e.position in positions}
    outcome = Retried(view.view_name)
    for call_id in sorted(calls):
        released, still = retry_call(app, view, call_id)
        again = {entry.position for entry in still}
        outcome.applied += [position for position in released if position not in again]
        outcome.held += still
    return outcome


def retry_call(
    app: Application[Any], view: BuildableView, call_id: str
) -> tuple[list[int], list[Held]]:
    """Apply again one call's held events in ``view``, in one transaction; return the
    positions released and the entries held again."""
    with view.transaction(commit=True) as cursor:
        position = _take_tracking(view, cursor, app.name)
        released = release(view, cursor, call_id) if position else []
        if not released:
            return [], []
        folded = refold(app, call_id, position, released[0])
        again = write_or_hold(view, cursor, folded, {})
        hold(view, cursor, again, fresh=len({e.position for e in again} - set(released)))
    report(view.view_name, again)
    return released, again


def _take_tracking(view: BuildableView, cursor: Cursor, application_name: str) -> int:
    """The view's position, with its tracking row locked to the end of the transaction."""
    cursor.execute(
        view.sql(
            "UPDATE {t} SET notification_id = notification_id WHERE application_name = ?"
            " RETURNING notification_id"
        ),
        (application_name,),
    )
    row = cursor.fetchone()
    return int(row["notification_id"]) if row else 0


def refold(app: Application[Any], call_id: str, until: int, cause: int) -> list[Folded]:
    """The call's events from ``cause`` (or from the first that cannot be folded) up to
    ``until``, each with the call as folded from the log up to it."""
    key = UUID(call_id)
    call: Any = None
    folded: list[Folded] = []
    failed = False
    for position, _, version, topic, state in call_events(app, key, until):
        item = Folded(position, call_id)
        if not failed:
            try:
                event: Any = app.mapper.to_domain_event(StoredEvent(key, version, topic, state))
                call = event.mutate(call)
            except Exception as error:
                if transient(error):
                    raise
                item.error, failed = describe(error), True
            else:
                if position >= cause:
                    item.call = copy.deepcopy(call)
        if position >= cause or failed:
            folded.append(item)
    return folded
