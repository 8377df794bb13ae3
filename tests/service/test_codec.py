"""The msgspec mapper: exact round trips, and databases written by the default transcoder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from eventsourcing.persistence import JSONTranscoder
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.call import Call
from domain.callbacks import Callback, CallbackKind
from domain.status import CallStatus
from service.application import CallLog
from service.codec import MsgspecMapper
from service.persistence import parse_database_url
from tests.factories import inbound, outbound

MAPPER = MsgspecMapper(transcoder=JSONTranscoder())


def events_of(call: Call) -> list[Any]:
    return list(call.pending_events)


def test_every_event_type_round_trips_exactly() -> None:
    spec = outbound(CallStatus.COMPLETED, losers=1)
    call = Call.register(spec.call_uuid, datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    for callback in [*spec.callbacks, spec.callbacks[0]]:
        call.receive(callback)
    call.receive(
        Callback.of(
            CallbackKind.RING, {"CallUUID": spec.call_uuid, "CallStatus": "?"}, datetime.now(UTC)
        )
    )
    kinds = set()
    for event in events_of(call):
        stored = MAPPER.to_stored_event(event)
        assert b"_type_" not in stored.state
        back = MAPPER.to_domain_event(stored)
        assert type(back) is type(event)
        assert vars(back) == vars(event)
        assert back.timestamp.tzinfo is not None
        kinds.add(type(event).__name__)
    assert {
        "Registered",
        "Rang",
        "Answered",
        "DialLegUpdated",
        "Ended",
        "CallbackRecorded",
    } <= kinds


@settings(max_examples=100, deadline=None)
@given(
    params=st.dictionaries(st.text(max_size=12), st.text(max_size=30), max_size=8),
    status=st.none() | st.sampled_from([s.value for s in CallStatus]),
    offset=st.integers(-720, 720),
    micros=st.integers(0, 10**12),
)
def test_arbitrary_params_statuses_and_times_round_trip(
    params: dict[str, str], status: str | None, offset: int, micros: int
) -> None:
    zone = timezone(timedelta(minutes=offset))
    at = datetime(2026, 1, 1, tzinfo=zone) + timedelta(microseconds=micros)
    call = Call.register("c", at)
    call.trigger_event(
        Call.CallbackRecorded,
        kind="ring",
        params=params,
        fingerprint="f",
        verdict="unrecognised",
        status=status,
        timestamp=at,
    )
    for event in events_of(call):
        back = MAPPER.to_domain_event(MAPPER.to_stored_event(event))
        assert vars(back) == vars(event)
        assert back.timestamp.utcoffset() == at.utcoffset()


class DefaultCallLog(CallLog):
    """The call log as eventsourcing configures it by default (JSONTranscoder wrappers)."""

    name = "CallLog"
    env = {"AGGREGATE_CACHE_MAXSIZE": "100"}


def test_a_database_written_by_the_default_transcoder_still_loads(tmp_path: Path) -> None:
    env = parse_database_url(f"sqlite:///{tmp_path / 'old.db'}").eventsourcing_env()
    old = DefaultCallLog(env=env)
    spec = inbound(answered=True, losers=1)
    for callback in spec.callbacks[:-1]:
        old.record(callback)
    assert b"_type_" in old.recorder.select_notifications(start=1, limit=1)[0].state
    new = CallLog(env=env)
    assert new.call(spec.call_uuid).summary() == old.call(spec.call_uuid).summary()
    new.record(spec.callbacks[-1])  # a mixed history: old events, then new ones
    reopened = CallLog(env=env)
    assert reopened.call(spec.call_uuid).summary().status is CallStatus.COMPLETED
