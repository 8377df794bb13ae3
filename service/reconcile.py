"""Reconciliation with Plivo's Call API: complete the calls whose webhooks never came.

A pass has two steps. **Open calls**: every call with no final status whose latest
callback is older than ``older_than`` is looked up by its CallUUID (``calls.get``); a
call still up (``live_calls``, asked once a pass) is left alone, and a record not
written yet (404: Plivo writes it some seconds after the call) is asked for again on a
later pass. **Unknown calls**: the records of calls that ended in the window
(``calls.list``, every page, by end time) that calltrail has never heard of are added,
with their B legs' records (``parent_call_uuid``) as the legs of their A leg's call.

Every record is recorded through ``CallLog.record`` as a ``Call.Reconciled`` event, with
the same duplicate check as webhooks (the call's fingerprints): an interrupted pass run
again, or two passes at once (several service instances on one PostgreSQL), store
nothing twice. The store arbitrates concurrent writers; a record the other pass stored
first is a duplicate here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from eventsourcing.application import AggregateNotFoundError

from domain.call import Call
from domain.reconciled import ApiRecord
from domain.status import Verdict
from projections.open_calls import open_calls
from projections.queries import find_call
from projections.sql import SqlView
from service.plivo_calls import CallApi, CallApiAuthError, CallApiError, Record
from store.application import CallLog

log = logging.getLogger("calltrail.reconcile")

Progress = Callable[[int], object]
MAX_ERRORS_IN_A_ROW = 3  # the Call API is down: stop the pass, the next one carries on


@dataclass(frozen=True, slots=True)
class PassOptions:
    """One pass: its moment, which open calls are due, which ended calls to list."""

    now: datetime
    older_than: timedelta = timedelta(minutes=15)
    since: datetime | None = None  # list calls ended from then (None: do not list)
    dry_run: bool = False

    @property
    def until(self) -> datetime:
        """The window's end: calls that ended since then may still see their webhooks."""
        return self.now - self.older_than


@dataclass(slots=True)
class Summary:
    """What a pass did."""

    looked_up: int = 0  # open calls asked for by CallUUID
    completed: int = 0  # open calls a record ended
    added: int = 0  # calls calltrail had never heard of
    legs: int = 0  # B legs' records attached to their A leg's call
    live: int = 0  # open calls still up: left alone
    not_written: int = 0  # no record yet (404): asked again next pass
    unresolved: int = 0  # a record that did not end the call (unreadable outcome)
    conflicts: int = 0  # records that disagree with the outcome calltrail has
    errors: int = 0
    requests: int = 0  # HTTP requests to the Call API, retries included
    verdicts: dict[str, int] = field(default_factory=dict)

    @property
    def still_open(self) -> int:
        """Open calls left open by this pass."""
        return self.live + self.not_written + self.unresolved

    @property
    def reconciled(self) -> int:
        """Calls this pass completed or added."""
        return self.completed + self.added

    def line(self) -> str:
        """The summary as one line."""
        per = f"{self.requests / self.reconciled:.2f}" if self.reconciled else "-"
        return (
            f"looked up {self.looked_up:,}, completed {self.completed:,},"
            f" added {self.added:,} (+{self.legs:,} B legs), still open {self.still_open:,}"
            f" ({self.live:,} live, {self.not_written:,} not written yet,"
            f" {self.unresolved:,} unresolved), conflicts {self.conflicts:,},"
            f" errors {self.errors:,}; {self.requests:,} Call API requests"
            f" ({per} per reconciled call)"
        )


class Reconciler:
    """Runs passes against one call log, its timeline view, and one Call API client."""

    def __init__(self, call_log: CallLog, timeline: SqlView, api: CallApi) -> None:
        self.call_log = call_log
        self.timeline = timeline
        self.api = api

    def due(self, options: PassOptions) -> list[str]:
        """The open calls a pass looks up."""
        return open_calls(self.timeline, options.until)

    def run(
        self,
        options: PassOptions,
        looked_up: Progress | None = None,
        listed: Progress | None = None,
        due: list[str] | None = None,
    ) -> Summary:
        """One pass: open calls, then unknown calls. ``CallApiAuthError`` stops it."""
        summary = Summary()
        before = self.api.stats.requests
        try:
            self.look_up(options, summary, self.due(options) if due is None else due, looked_up)
            if options.since is not None:
                self.add_unknown(options, summary, listed)
        finally:
            summary.requests = self.api.stats.requests - before
        return summary

    def look_up(
        self, options: PassOptions, summary: Summary, due: list[str], progress: Progress | None
    ) -> None:
        """Ask for each open call's record; record those found."""
        live = self.api.live_ids() if due else set()
        failures = 0
        for call_uuid in due:
            if progress is not None:
                progress(1)
            if call_uuid in live:
                summary.live += 1
                continue
            summary.looked_up += 1
            try:
                record = self.api.lookup(call_uuid)
            except CallApiAuthError:
                raise
            except CallApiError as error:
                summary.errors += 1
                failures += 1
                log.warning("Call API lookup of %s failed: %s", call_uuid, error)
                if failures >= MAX_ERRORS_IN_A_ROW:
                    log.error("the Call API keeps failing; this pass stops here")
                    return
                continue
            failures = 0
            if record is None:
                summary.not_written += 1
                continue
            verdict = self._record(record, "calls.get", options, summary)
            if verdict is Verdict.ADVANCED:
                summary.completed += 1
            elif verdict is Verdict.UNRECOGNISED:
                summary.unresolved += 1

    def add_unknown(
        self, options: PassOptions, summary: Summary, progress: Progress | None
    ) -> None:
        """Add the calls in the window that calltrail never heard of, with their B legs."""
        assert options.since is not None
        added: set[str] = set()  # calls this pass created: their other records belong too
        try:
            for record in self.api.ended_between(options.since, options.until):
                if progress is not None:
                    progress(1)
                own = str(record.get("call_uuid") or "")
                target = str(record.get("parent_call_uuid") or "") or own
                if not own or (target not in added and self._known(target)):
                    continue
                added.add(target)
                verdict = self._record(record, "calls.list", options, summary)
                if own != target:
                    summary.legs += verdict is not Verdict.DUPLICATE
                elif verdict is not Verdict.DUPLICATE:
                    summary.added += 1
        except CallApiAuthError:
            raise
        except CallApiError as error:
            summary.errors += 1
            log.error("listing the Call API's records failed: %s", error)

    def _known(self, call_uuid: str) -> bool:
        """Whether calltrail has the call: in the timeline view, or (if the view is
        behind) in the log."""
        if find_call(self.timeline, call_uuid) is not None:
            return True
        try:
            self.call_log.call(call_uuid)
        except AggregateNotFoundError:
            return False
        return True

    def _record(
        self, record: Record, source: str, options: PassOptions, summary: Summary
    ) -> Verdict:
        observed = ApiRecord.of(record, source, options.now)
        if options.dry_run:
            verdict = self._decide(observed)
        else:
            verdict = self.call_log.record(observed).verdict
        summary.verdicts[verdict.value] = summary.verdicts.get(verdict.value, 0) + 1
        summary.conflicts += verdict is Verdict.CONFLICT
        return verdict

    def _decide(self, observed: ApiRecord) -> Verdict:
        """The verdict ``observed`` would get, stored nowhere (``--dry-run``)."""
        try:
            call = self.call_log.call(observed.call_uuid)
        except AggregateNotFoundError:
            call = Call.register(observed.call_uuid, observed.received_at)
        return call.receive(observed)
