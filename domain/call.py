"""The ``Call`` aggregate: one Plivo call (its A leg), fed by every callback Plivo sends for it.

``receive`` decides; the events only assign state (they re-run on every replay, so a
stored history must always replay). Nothing received is dropped: a callback that does
not advance the call is still stored, with the verdict that says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.callbacks import Callback, CallbackKind, shows_answer
from domain.hangup import AUTHORITY, HangupReport, Parties, better_parties, hangup_report
from domain.ids import call_id
from domain.legs import DialOutcome, Leg, dial_outcome, merge_action, merge_callback
from domain.reconciled import API_AUTHORITY, API_KIND, ApiRecord, judge
from domain.status import TERMINAL, UNANSWERED, CallStatus, Verdict, classify, parse_status

Received = Callback | ApiRecord
"""What a call is told: a webhook, or Plivo's record of the call read from the Call API."""


class CallbackFacts(Protocol):
    """What ``Call.evolve`` reads of a recorded callback: a ``Call.CallbackEvent``, or the
    same fields decoded by a replay without building the event."""

    @property
    def timestamp(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def params(self) -> Mapping[str, str]: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def status(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class CallSummary:
    """A call's state as plain values: what tests compare and read models show."""

    call_uuid: str
    status: CallStatus | None
    answered: bool
    hangup: HangupReport | None
    parties: Parties
    legs: tuple[Leg, ...]
    dials: tuple[DialOutcome, ...]
    late: int
    conflicts: int


class Call(Aggregate):
    """A call, identified by uuid5 of Plivo's ``CallUUID``."""

    class Registered(Aggregate.Created):
        """The first callback for this ``CallUUID`` arrived."""

        call_uuid: str

    class CallbackEvent(Aggregate.Event):
        """A recorded callback: its verbatim params, the verdict, and the status after it."""

        kind: str
        params: dict[str, str]
        fingerprint: str
        verdict: str
        status: str | None

        def apply(self, aggregate: Any) -> None:
            """Fold the callback into the call; total, never raises."""
            assert isinstance(aggregate, Call)
            aggregate.evolve(self)

    class Rang(CallbackEvent):
        """The call started ringing."""

    class Answered(CallbackEvent):
        """The call was reported in progress (answered)."""

    class Ended(CallbackEvent):
        """The call reached a terminal status."""

    class DialLegUpdated(CallbackEvent):
        """A Dial action or callback reported on a B leg without moving the call."""

    class CallbackRecorded(CallbackEvent):
        """A callback that did not move the call: late, conflict, repeated or unrecognised."""

    class Reconciled(CallbackEvent):
        """Plivo's record of the call, read from the Call API (``source``: which request).

        ``record`` is verbatim; ``params`` are the same facts in the webhooks' terms, and
        ``kind`` is ``call_api``. Decided like a hangup: ``advanced`` when it ends an open
        call, ``repeated`` when it agrees with the outcome already known, ``conflict``
        when it disagrees (kept and shown, the summary unchanged).
        """

        record: dict[str, Any]
        source: str

    def __init__(self, call_uuid: str) -> None:
        self.call_uuid = call_uuid
        self.status: CallStatus | None = None
        self.answered = False
        self.hangup: HangupReport | None = None
        self.parties = _NOBODY
        self.legs: dict[str, Leg] = {}
        self.dials: dict[str, DialOutcome] = {}
        self.fingerprints: set[str] = set()
        self.late = 0
        self.conflicts = 0
        self.rang_at: datetime | None = None
        self.session_start = ""
        self.hangup_from_api = False  # the hangup facts came from a Call API record
        self.completed_by_api = False  # a Call API record ended the call
        self.last_at: datetime | None = None  # the latest thing received

    def __deepcopy__(self, memo: dict[int, Any]) -> Call:
        """A copy safe to mutate, made fast: every value held is immutable but the containers.

        The application copies a cached call before each command; a generic deepcopy of
        the frozen legs and reports was the largest cost of recording a callback.
        """
        clone = object.__new__(Call)
        clone.__dict__.update(self.__dict__)
        clone.legs = dict(self.legs)
        clone.dials = dict(self.dials)
        clone.fingerprints = set(self.fingerprints)
        clone._pending_events = list(self._pending_events)
        return clone

    @staticmethod
    def create_id(call_uuid: str) -> UUID:
        """The aggregate id for a ``CallUUID``."""
        return call_id(call_uuid)

    @classmethod
    def register(cls, call_uuid: str, at: datetime, known_id: UUID | None = None) -> Call:
        """Start the history of a call first seen ``at`` (``known_id``: its id, if known)."""
        return cls._create(cls.Registered, id=known_id, call_uuid=call_uuid, timestamp=at)

    @classmethod
    def restored(cls, call_id: UUID, version: int, created_on: datetime, call_uuid: str) -> Call:
        """The call a stored ``Registered`` event makes, from that event's fields.

        What eventsourcing's ``Registered.mutate`` does, for a replay that reads the
        fields itself instead of building an event object for every call of the log.
        """
        call = cls.__new__(cls)
        call.__base_init__(call_id, version, created_on)
        Call.__init__(call, call_uuid)
        return call

    def receive(self, callback: Received) -> Verdict:
        """Decide what ``callback`` does to this call, record it, and return the verdict.

        A redelivery (same fingerprint) is acknowledged and not stored twice.
        """
        if callback.call_uuid != self.call_uuid:
            raise ValueError(f"callback for {callback.call_uuid!r} sent to {self.call_uuid!r}")
        if callback.fingerprint in self.fingerprints:
            return Verdict.DUPLICATE
        if isinstance(callback, ApiRecord):
            return self._reconcile(callback)
        verdict = classify(self.status, callback.status)
        after = callback.status if verdict is Verdict.ADVANCED else self.status
        self.trigger_event(
            _event_class(verdict, after, callback.kind),
            kind=callback.kind.value,
            params=dict(callback.params),
            fingerprint=callback.fingerprint,
            verdict=verdict.value,
            status=after.value if after else None,
            timestamp=callback.received_at,
        )
        return verdict

    def _reconcile(self, observed: ApiRecord) -> Verdict:
        """Decide a Call API record (``domain.reconciled.judge``) and record it."""
        if observed.leg_uuid:
            leg = self.legs.get(observed.leg_uuid)
            known = leg.hangup_cause_code if leg else ""
        else:
            known = self.hangup.cause_code if self.hangup else ""
        verdict = judge(observed, self.status, known)
        after = observed.status if verdict is Verdict.ADVANCED else self.status
        self.trigger_event(
            Call.Reconciled,
            kind=API_KIND,
            params=dict(observed.params),
            fingerprint=observed.fingerprint,
            verdict=verdict.value,
            status=after.value if after else None,
            timestamp=observed.received_at,
            record=dict(observed.record),
            source=observed.source,
        )
        return verdict

    def evolve(self, event: CallbackFacts) -> None:
        """Assign the state an event implies. Called by every event, live and on replay.

        The summary is always consistent, whatever arrives in whatever order:

        - A ``conflict`` (a second, different outcome) is counted and kept in the
          timeline, and changes nothing else: status, answered, hangup cause, durations,
          times, parties, legs and dials stay those of the first outcome, whole.
        - An unanswered outcome (``UNANSWERED``: busy, no-answer, cancel, timeout,
          failed) means the call was not answered. Plivo's hangup request is its call
          record, and it says so with an empty ``AnswerTime`` and ``Duration=0``; an
          ``in-progress`` callback or an ``AnswerTime`` on another callback does not
          overrule it, before the outcome (the flag is cleared) or after it (a late
          ``in-progress`` is kept in the timeline and counted, and leaves it unset).
        - Otherwise answered-ness is an "or" over every callback that is not a
          conflict, so it does not depend on arrival order either.

        Total (never raises: it re-runs on every replay) and written for speed (a
        replay runs it for every callback ever stored): the kind and status values are
        looked up, not re-parsed, when they are the canonical ones the events carry, and
        enum members are module constants (an enum class's attribute costs as much as a
        dict lookup and a function call).
        """
        params = event.params
        self.fingerprints.add(event.fingerprint)
        status = event.status
        self.status = (_STATUSES.get(status) or parse_status(status)) if status else None
        at, last = event.timestamp, self.last_at
        if isinstance(at, datetime) and (last is None or at > last):
            self.last_at = at
        verdict = event.verdict
        if verdict == _CONFLICT:
            self.conflicts += 1
            return
        self.late += verdict == _LATE
        # Facts that are true whatever the order: see the docstring for answered-ness;
        # the hangup details come from the (one) hangup request.
        self.answered = self.status not in UNANSWERED and (self.answered or shows_answer(params))
        kind = _KINDS.get(event.kind)
        if kind is None:  # a Call API record (no other kind is ever stored)
            self._evolve_record(event.kind, params, verdict)
            return
        if AUTHORITY[kind] > self.parties.authority:  # else better_parties keeps them
            self.parties = better_parties(self.parties, kind, params)
        self._fold_webhook(kind, event, params)

    def _fold_webhook(
        self, kind: CallbackKind, event: CallbackFacts, params: Mapping[str, str]
    ) -> None:
        """Fold what only a webhook of ``kind`` tells: its leg, hangup facts, ring or Dial."""
        if kind is _DIAL_CALLBACK:
            uuid = params.get("DialBLegUUID", "").strip()
            if uuid:
                self.legs[uuid] = merge_callback(self.legs.get(uuid), uuid, params)
        elif kind is _HANGUP:
            # The hangup request's own facts win over a Call API record's, whichever came
            # first: the same outcome, and the webhook also names the cause in text.
            if self.hangup is None or self.hangup_from_api:
                self.hangup = hangup_report(params)
                self.hangup_from_api = False
        elif kind is _RING:
            # The earliest ring, whatever order the rings arrive in (post-dial delay).
            if self.rang_at is None or event.timestamp < self.rang_at:
                self.rang_at = event.timestamp
            self.session_start = self.session_start or params.get("SessionStart", "").strip()
        elif kind is _DIAL_ACTION:
            outcome = dial_outcome(params)
            self.dials[event.fingerprint] = outcome
            if outcome.b_leg_uuid:
                leg = self.legs.get(outcome.b_leg_uuid)
                self.legs[outcome.b_leg_uuid] = merge_action(leg, outcome)

    def _evolve_record(self, kind: str, params: Mapping[str, str], verdict: str) -> None:
        """Fold a Call API record (not a conflict): a B leg's into its leg; an A leg's
        into the call's parties and, unless a hangup request gave them, its hangup facts."""
        if kind != API_KIND:
            return
        leg_uuid = params.get("DialBLegUUID", "")
        if leg_uuid:
            self.legs[leg_uuid] = merge_callback(self.legs.get(leg_uuid), leg_uuid, params)
            return
        if verdict == _ADVANCED and self.status in TERMINAL:
            self.completed_by_api = True
        if self.parties.authority < API_AUTHORITY:
            get = params.get
            self.parties = Parties(
                get("Direction", ""), get("From", ""), get("To", ""), API_AUTHORITY
            )
        if self.hangup is None:
            self.hangup = hangup_report(params)
            self.hangup_from_api = True

    def summary(self) -> CallSummary:
        """The call's state as plain, comparable values (legs and dials in a stable order).

        Consistent by the rules of ``evolve``: an unanswered outcome is never answered,
        and the facts are the first outcome's, whatever conflicting ones came after.
        """
        return CallSummary(
            call_uuid=self.call_uuid,
            status=self.status,
            answered=self.answered,
            hangup=self.hangup,
            parties=self.parties,
            legs=tuple(sorted(self.legs.values(), key=lambda leg: leg.uuid)),
            dials=tuple(sorted(self.dials.values(), key=repr)),
            late=self.late,
            conflicts=self.conflicts,
        )


_KINDS: Mapping[str, CallbackKind] = {kind.value: kind for kind in CallbackKind}
_STATUSES: Mapping[str, CallStatus] = {status.value: status for status in CallStatus}
_LATE, _CONFLICT, _ADVANCED = Verdict.LATE.value, Verdict.CONFLICT.value, Verdict.ADVANCED.value
_HANGUP, _RING = CallbackKind.HANGUP, CallbackKind.RING
_DIAL_CALLBACK, _DIAL_ACTION = CallbackKind.DIAL_CALLBACK, CallbackKind.DIAL_ACTION
_NOBODY = Parties()  # a new call's parties (immutable: every call may start with this one)


def _event_class(
    verdict: Verdict, after: CallStatus | None, kind: CallbackKind
) -> type[Call.CallbackEvent]:
    if verdict is Verdict.ADVANCED:
        if after is CallStatus.RINGING:
            return Call.Rang
        if after in TERMINAL:
            return Call.Ended
        return Call.Answered
    if kind in (CallbackKind.DIAL_ACTION, CallbackKind.DIAL_CALLBACK):
        return Call.DialLegUpdated
    return Call.CallbackRecorded
