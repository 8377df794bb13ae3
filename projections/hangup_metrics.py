"""The hangup-metrics read model: counters by hour, direction, final status, cause code.

A call counts once it has ended. Its contribution (one counter row for the call, one per
B leg) is kept beside the counters, so a callback that arrives after the hangup and
changes the call (a late answer, a leg's hangup) replaces the old contribution instead of
counting the call twice: the counters always equal a fresh replay.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from datetime import UTC, datetime, timedelta, tzinfo
from operator import attrgetter

import msgspec

from domain.call import Call
from domain.status import STATUS_TEXT, TERMINAL
from projections.times import PLAIN_TIME, plivo_time

# Upper bounds (seconds) of the post-dial-delay histogram; Plivo times have 1 s resolution.
PDD_BOUNDS: tuple[float, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, float("inf"))
KEY_COLUMNS = ("scope", "bucket", "direction", "status", "cause_code", "cause_source")
VALUE_COLUMNS = ("calls", "answered", "talk_seconds", *(f"pdd_{i}" for i in range(len(PDD_BOUNDS))))


class Contribution(msgspec.Struct, frozen=True, array_like=True):
    """What one call (scope ``call``) or one B leg (scope ``leg``) adds to one counter row.

    A msgspec struct: made for every ended call of a replay, and kept as a JSON array
    (fields in this order: append new ones at the end, with defaults).
    """

    scope: str
    bucket: str  # the hour, UTC, ISO 8601
    direction: str
    status: str
    cause_code: str
    cause_source: str
    cause_name: str
    answered: int
    talk_seconds: int
    pdd_index: int | None  # which PDD_BOUNDS bucket, if the call rang

    def key(self) -> tuple[str, ...]:
        """The counter row this contribution adds to."""
        return (
            self.scope,
            self.bucket,
            self.direction,
            self.status,
            self.cause_code,
            self.cause_source,
        )

    def values(self, sign: int = 1) -> tuple[int, ...]:
        """The amounts added to the row's counters (negated to take it back)."""
        pdd = [0] * len(PDD_BOUNDS)
        if self.pdd_index is not None:
            pdd[self.pdd_index] = sign
        return (sign, sign * self.answered, sign * self.talk_seconds, *pdd)


_by_uuid = attrgetter("uuid")


def contributions(call: Call, account_tz: tzinfo = UTC) -> tuple[Contribution, ...]:
    """The call's counter rows: none until it has ended."""
    if call.status not in TERMINAL or call.status is None:
        return ()
    hangup = call.hangup
    bucket = hour_bucket(hangup.start_time if hangup else "", account_tz, call.created_on)
    direction = call.parties.direction
    talk = (hangup.duration or 0) if hangup and call.answered else 0
    main = Contribution(
        scope="call",
        bucket=bucket,
        direction=direction,
        status=STATUS_TEXT[call.status],
        cause_code=hangup.cause_code if hangup else "",
        cause_source=hangup.source if hangup else "",
        cause_name=hangup.cause_name if hangup else "",
        answered=int(call.answered),
        talk_seconds=talk,
        pdd_index=pdd_index(call),
    )
    if not call.legs:
        return (main,)
    legs = [
        Contribution(
            scope="leg",
            bucket=bucket,
            direction=direction,
            status="answered" if leg.answered else "unanswered",
            cause_code=leg.hangup_cause_code,
            cause_source=leg.hangup_source,
            cause_name=leg.hangup_cause_name or leg.hangup_cause,
            answered=int(leg.answered),
            talk_seconds=(leg.duration or 0) if leg.answered else 0,
            pdd_index=None,
        )
        for leg in sorted(call.legs.values(), key=_by_uuid)  # as call.summary() orders them
    ]
    return (main, *legs)


def hour_bucket(local_time: str, account_tz: tzinfo, fallback: datetime) -> str:
    """The UTC hour of Plivo's ``StartTime`` (account-local), or of ``fallback`` if unreadable."""
    if PLAIN_TIME.fullmatch(local_time):
        # A replay meets the same minutes again and again, and in a zone whose offset is
        # whole minutes the minute decides the hour.
        bucket = _minute_bucket(local_time[:16], account_tz)
        if bucket is not None:
            return bucket
    return _utc_hour(plivo_time(local_time, account_tz) or fallback)


@functools.lru_cache(maxsize=4096)
def _minute_bucket(minute: str, zone: tzinfo) -> str | None:
    """The UTC hour of every time in ``minute``; ``None`` if there is no such minute or
    its seconds matter (an offset of odd seconds, as local mean time had)."""
    start, end = plivo_time(f"{minute}:00", zone), plivo_time(f"{minute}:59", zone)
    if start is None or end is None:
        return None
    offset = start.utcoffset()
    if offset is None or offset != end.utcoffset() or offset.seconds % 60 or offset.microseconds:
        return None
    return _utc_hour(start)


def _utc_hour(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0).isoformat()


_SECOND = timedelta(seconds=1)  # made once, not per call: a keyword constructor is slow


def pdd_index(call: Call) -> int | None:
    """Post-dial delay: the first ring's arrival after ``SessionStart`` (UTC), bucketed.

    Both ends are weak (arrival includes webhook latency), so this is approximate.
    """
    if call.rang_at is None or not call.session_start:
        return None
    started = plivo_time(call.session_start, UTC)
    if started is None:
        return None
    delay = (call.rang_at - started) / _SECOND
    if delay < 0 or delay > 3600:
        return None
    return bisect_left(PDD_BOUNDS, delay)  # the first bucket with delay <= bound
