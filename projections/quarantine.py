"""The quarantine of events a view cannot apply: its table, what it holds, and which
failures put an event there.

An event a view cannot apply (its topic names no class this version knows, its state
cannot be decoded, folding it raises, or the store refuses the rows it leads to) is held
in the view's ``quarantine`` table instead of stopping the view: its position, the call,
the error and when. The table belongs to the view, so an entry commits with the view's
rows and tracking position: a crash neither loses nor repeats one.

A call with an event held is held from there on: the view keeps the call as it stood
before that event (its *cause*) and holds the call's later events too, until
``calltrail quarantine retry`` applies them (``retry.py``). A view is never wrong about
a call, only behind on it, and the call's timeline entries, cut at the position its row
reflects, never reach the event that could not be read.

A failure of the store itself (unreachable, locked, out of connections, damaged) is
*transient*: the same events are tried again later and nothing is held.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    DatabaseError,
    InterfaceError,
    InternalError,
    OperationalError,
)

from projections.sql import Cursor, SqlView
from projections.times import from_micros, to_micros

log = logging.getLogger("calltrail.projections")

TOTAL = "quarantined_total"  # meta row: events these tables ever held (a counter)
_ERROR_CHARS = 2000


def transient(error: BaseException) -> bool:
    """Whether ``error`` is the store failing (try the same events again later), not an
    event that cannot be applied: it cannot be reached or used now (operational and
    interface errors, the OS), or is broken whatever is written (an internal error, a
    database error of no finer kind, such as a damaged file)."""
    kinds: list[type[BaseException]] = [
        OperationalError,
        InterfaceError,
        InternalError,
        ConnectionPoolClosedError,
        sqlite3.OperationalError,
        sqlite3.InterfaceError,
        sqlite3.InternalError,
        OSError,
        MemoryError,
    ]
    plain = [DatabaseError, sqlite3.DatabaseError]
    psycopg = sys.modules.get("psycopg")  # not imported on SQLite
    if psycopg is not None:
        kinds += [psycopg.OperationalError, psycopg.InterfaceError, psycopg.InternalError]
        plain.append(psycopg.DatabaseError)
    return isinstance(error, tuple(kinds)) or type(error) in plain


def describe(error: BaseException) -> str:
    """An error as one storable text: its type and message, without NUL characters or
    lone surrogates (the message may quote the value a store refused), and not too long."""
    text = f"{type(error).__name__}: {error}".replace("\x00", "\\x00")
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Held:
    """An event a view holds in quarantine."""

    position: int  # the event's position in the log
    call_id: str  # its call (the aggregate id, as the views key calls)
    cause: int  # the position of the call's first event held: the one that failed
    error: str  # why that event could not be applied
    held_at: datetime  # when it was held (UTC)

    @property
    def follows(self) -> bool:
        """Whether the event is held only because an earlier event of its call is."""
        return self.position != self.cause


@dataclass(frozen=True, slots=True)
class ViewState:
    """Where a view stands: its position, and the calls it holds (id → cause)."""

    position: int
    held: dict[str, int]


def view_state(view: SqlView, application_name: str) -> ViewState:
    """The view's position and held calls, in one read (one statement when none is held)."""
    with view.transaction(commit=False) as cursor:
        cursor.execute(
            view.sql(
                "SELECT (SELECT notification_id FROM {t} WHERE application_name = ?) AS at,"
                " (SELECT COUNT(*) FROM {p}quarantine) AS held"
            ),
            (application_name,),
        )
        row = cursor.fetchone()
        held = held_calls(view, cursor) if row["held"] else {}
        return ViewState(int(row["at"] or 0), held)


def held_calls(view: SqlView, cursor: Cursor) -> dict[str, int]:
    """Each held call's id and cause."""
    cursor.execute(
        view.sql("SELECT call_id, MIN(cause) AS cause FROM {p}quarantine GROUP BY call_id")
    )
    return {row["call_id"]: int(row["cause"]) for row in cursor.fetchall()}


def hold(view: SqlView, cursor: Cursor, entries: Sequence[Held], fresh: int | None = None) -> None:
    """Write ``entries`` in the open transaction, and count ``fresh`` of them (default:
    all) as newly held."""
    if not entries:
        return
    cursor.executemany(
        view.sql(
            "INSERT INTO {p}quarantine (position, call_id, cause, error, held_at)"
            " VALUES (?, ?, ?, ?, ?)"
        ),
        [(e.position, e.call_id, e.cause, e.error, to_micros(e.held_at)) for e in entries],
    )
    count = len(entries) if fresh is None else fresh
    if count:
        cursor.execute(
            view.sql(
                "INSERT INTO {p}meta (name, value) VALUES (?, ?) ON CONFLICT (name)"
                " DO UPDATE SET value = CAST(CAST({p}meta.value AS BIGINT)"
                " + CAST(excluded.value AS BIGINT) AS TEXT)"
            ),
            (TOTAL, str(count)),
        )


def release(view: SqlView, cursor: Cursor, call_id: str) -> list[int]:
    """Delete a call's entries in the open transaction; return their positions."""
    cursor.execute(
        view.sql("DELETE FROM {p}quarantine WHERE call_id = ? RETURNING position"),
        (call_id,),
    )
    return sorted(int(row["position"]) for row in cursor.fetchall())


def report(view_name: str, entries: Sequence[Held]) -> None:
    """Tell the operator, at ERROR, after the commit: a line per event that failed, and
    one per call for the events held behind it."""
    behind: dict[tuple[str, int], list[int]] = {}
    for entry in entries:
        if entry.follows:
            behind.setdefault((entry.call_id, entry.cause), []).append(entry.position)
            continue
        log.error(
            "event %d of call %s put in quarantine by the %s view: %s"
            " (see `calltrail quarantine list`)",
            entry.position,
            entry.call_id,
            view_name,
            entry.error,
        )
    for (call_id, cause), positions in behind.items():
        log.error(
            "events %s of call %s held in quarantine by the %s view, behind its event %d",
            ", ".join(map(str, positions)),
            call_id,
            view_name,
            cause,
        )


def entries(view: SqlView) -> list[Held]:
    """Every event the view holds, in log order."""
    rows = view.rows(
        "SELECT position, call_id, cause, error, held_at FROM {p}quarantine ORDER BY position"
    )
    return [
        Held(
            int(row["position"]),
            row["call_id"],
            int(row["cause"]),
            row["error"],
            from_micros(int(row["held_at"])),
        )
        for row in rows
    ]


def counts(view: SqlView) -> tuple[int, int]:
    """How many events the view holds now, and how many its tables ever held."""
    row = view.rows(
        "SELECT (SELECT COUNT(*) FROM {p}quarantine) AS held,"
        " (SELECT value FROM {p}meta WHERE name = ?) AS total",
        (TOTAL,),
    )[0]
    return int(row["held"]), int(row["total"] or 0)
