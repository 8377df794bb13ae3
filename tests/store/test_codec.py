"""The msgspec mapper: exact round trips, its fallbacks, and databases the default wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.compressor import ZlibCompressor
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.utils import get_topic
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.call import Call
from domain.callbacks import Callback, CallbackKind
from domain.status import CallStatus
from store.application import CallLog
from store.codec import MsgspecMapper
from store.compression import json_of
from store.persistence import parse_database_url
from tests.factories import T0, outbound

CODEC = {"MAPPER_TOPIC": "store.codec:MsgspecMapper"}
# eventsourcing's own Mapper, whatever CallLog.env says, as before states were compressed
DEFAULT = {"MAPPER_TOPIC": "", "COMPRESSOR_TOPIC": ""}


def transcoder() -> JSONTranscoder:
    """The transcoder an Application builds: the default one, with its transcodings."""
    made = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        made.register(transcoding)
    return made


MAPPER: MsgspecMapper[UUID] = MsgspecMapper(transcoder())
LEGACY: Mapper[UUID] = Mapper(transcoder())


def assert_exact(back: Any, event: Any) -> None:
    """Same class, same fields, and the same types and UTC offsets, not just equal values."""
    assert type(back) is type(event)
    assert vars(back) == vars(event)
    assert type(back.originator_id) is UUID
    assert back.timestamp.utcoffset() == event.timestamp.utcoffset()
    assert {k: type(v) for k, v in vars(back).items()} == {
        k: type(v) for k, v in vars(event).items()
    }


def a_call_of_every_event_type() -> Call:
    spec = outbound(CallStatus.COMPLETED, losers=1)
    call = Call.register(spec.call_uuid, T0)
    for callback in [*spec.callbacks, spec.callbacks[-1]]:
        call.receive(callback)
    late = {"CallUUID": spec.call_uuid, "CallStatus": "ringing", "": ""}
    call.receive(Callback.of(CallbackKind.RING, late, T0 + timedelta(minutes=5)))
    return call


def test_every_call_event_type_round_trips_exactly_without_transcoder_wrappers() -> None:
    events = list(a_call_of_every_event_type().pending_events)
    names = {type(event).__name__ for event in events}
    assert names == {
        "Registered",
        "Rang",
        "Answered",
        "DialLegUpdated",
        "Ended",
        "CallbackRecorded",
    }
    for event in events:
        stored = MAPPER.to_stored_event(event)
        assert b"_type_" not in stored.state
        assert_exact(MAPPER.to_domain_event(stored), event)
        # And what the default mapper wrote reads back the same through this one.
        assert_exact(MAPPER.to_domain_event(LEGACY.to_stored_event(event)), event)


offsets = st.integers(-86_399, 86_399).map(lambda s: timezone(timedelta(seconds=s)))
stamps = st.datetimes(min_value=datetime(1900, 1, 1), timezones=st.just(UTC) | offsets)


@settings(max_examples=300, deadline=None)
# Keys the default transcoder would take for one of its wrappers: exact here.
@example(params={"_type_": "uuid_hex", "_data_": ""}, status=None, at=T0, legacy=False)
@given(
    params=st.dictionaries(st.text(), st.text()),
    status=st.none() | st.text(),
    at=stamps,
    legacy=st.booleans(),
)
def test_arbitrary_params_statuses_and_times_round_trip(
    params: dict[str, str], status: str | None, at: datetime, legacy: bool
) -> None:
    call = Call.register("c", at)
    call.trigger_event(
        Call.CallbackRecorded,
        kind="ring",
        params=params,
        fingerprint="",
        verdict="unrecognised",
        status=status,
        timestamp=at,
    )
    for event in call.pending_events:
        stored = (LEGACY if legacy else MAPPER).to_stored_event(event)
        # RFC 3339 has whole-minute offsets only; a finer one is left to the transcoder.
        offset = at.utcoffset()
        assert offset is not None
        whole = offset % timedelta(minutes=1) == timedelta(0)
        assert (b'"_type_":"datetime_iso"' in stored.state) == (legacy or not whole)
        assert_exact(MAPPER.to_domain_event(stored), event)


class Line(Aggregate):
    """Events annotated with a nested class, tuples, an enum, a big int, UUIDs and None."""

    class Mode(StrEnum):
        A = "a"
        B = "b"

    class Switched(Aggregate.Event):
        mode: Line.Mode
        modes: tuple[Line.Mode, ...]
        pair: tuple[str, int]
        ref: UUID | None
        until: datetime | None
        label: str = ""  # added later: older states lack it

    class Noted(Aggregate.Event):
        note: Any  # imprecise: left to the default mapper

    class Counted(Aggregate.Event):
        """Version 2 added ``count``; version 1 states are upcast."""

        class_version = 2
        name: str
        count: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            assert isinstance(state["originator_id"], UUID)  # as the default mapper gives
            state["count"] = len(state["name"])


def test_tuples_enums_uuids_and_nested_annotations_round_trip_typed() -> None:
    line = Line()
    line.trigger_event(
        Line.Switched,
        mode=Line.Mode.B,
        modes=(Line.Mode.A, Line.Mode.B),
        pair=("x", 2**70),
        ref=uuid4(),
        until=None,
    )
    line.trigger_event(Line.Noted, note={"at": T0, "ids": (uuid4(),)})
    line.trigger_event(Line.Counted, name="abc", count=3)
    switched, noted, counted = line.pending_events[1:]
    for event in (switched, counted):
        stored = MAPPER.to_stored_event(event)
        assert b"_type_" not in stored.state
        assert_exact(MAPPER.to_domain_event(stored), event)
    assert b'"class_version":2' in MAPPER.to_stored_event(counted).state
    # The imprecise class is stored as the default mapper stores it, and read the same.
    stored = MAPPER.to_stored_event(noted)
    assert stored == LEGACY.to_stored_event(noted)
    assert vars(MAPPER.to_domain_event(stored)) == vars(LEGACY.to_domain_event(stored))


def test_a_state_this_mapper_wrote_for_an_older_class_version_is_upcast_and_typed() -> None:
    old = b'{"timestamp":"2026-03-01T09:00:00.5+05:30","name":"abcd"}'
    stored = StoredEvent(uuid4(), 3, get_topic(Line.Counted), old)
    event = MAPPER.to_domain_event(stored)
    assert isinstance(event, Line.Counted)
    assert (event.name, event.count, event.originator_version) == ("abcd", 4, 3)
    assert event.timestamp == datetime(2026, 3, 1, 3, 30, 0, 500_000, tzinfo=UTC)
    assert event.timestamp.utcoffset() == timedelta(hours=5, minutes=30)


def test_a_state_stored_before_a_defaulted_field_was_added_reads_the_default() -> None:
    old = b'{"timestamp":"2026-03-01T09:00:00Z","mode":"a","modes":[],"pair":["",0],'
    old += b'"ref":null,"until":"2026-03-01T10:00:00-01:00"}'
    event = MAPPER.to_domain_event(StoredEvent(uuid4(), 2, get_topic(Line.Switched), old))
    assert isinstance(event, Line.Switched)
    assert (event.mode, event.modes, event.pair, event.label) == (Line.Mode.A, (), ("", 0), "")
    assert event.until == datetime(2026, 3, 1, 11, tzinfo=UTC)


def test_a_compressed_store_round_trips() -> None:
    mapper: MsgspecMapper[UUID] = MsgspecMapper(transcoder(), compressor=ZlibCompressor())
    for event in a_call_of_every_event_type().pending_events:
        assert_exact(mapper.to_domain_event(mapper.to_stored_event(event)), event)


def sqlite_env(path: Path) -> dict[str, str]:
    return parse_database_url(f"sqlite:///{path}").eventsourcing_env()


def states(app: CallLog) -> list[bytes]:
    """The stored states' JSON (decompressed where the store compressed them)."""
    return [json_of(n.state) for n in app.recorder.select_notifications(start=1, limit=1000)]


def test_a_call_log_on_the_codec_records_and_a_second_instance_reads_it(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path / "events.db")
    spec = outbound(CallStatus.COMPLETED, losers=2)
    app = CallLog(env=env | CODEC)
    assert isinstance(app.mapper, MsgspecMapper)
    for callback in spec.callbacks:
        app.record(callback)
    assert states(app)
    assert not any(b"_type_" in state for state in states(app))
    second = CallLog(env=env | CODEC)
    summary = second.call(spec.call_uuid).summary()
    assert summary == app.call(spec.call_uuid).summary()
    assert summary.status is CallStatus.COMPLETED
    assert summary.answered


def test_a_database_the_default_mapper_wrote_still_loads_and_takes_new_events(
    tmp_path: Path,
) -> None:
    env = sqlite_env(tmp_path / "old.db")
    spec = outbound(CallStatus.COMPLETED, losers=1)
    old = CallLog(env=env | DEFAULT)
    assert type(old.mapper) is Mapper
    for callback in spec.callbacks[:-1]:
        old.record(callback)
    assert all(b'{"timestamp":{"_type_":"datetime_iso"' in state for state in states(old))
    new = CallLog(env=env | CODEC)
    aggregate_id = Call.create_id(spec.call_uuid)
    written = list(old.events.get(aggregate_id))
    read = list(new.events.get(aggregate_id))
    assert len(read) == len(written) == len(spec.callbacks)  # Registered, then all but one
    for back, event in zip(read, written, strict=True):
        assert_exact(back, event)
    assert new.call(spec.call_uuid).summary() == old.call(spec.call_uuid).summary()
    # A mixed history: the default mapper's events, then this one's.
    new.record(spec.callbacks[-1])
    assert b"_type_" not in states(new)[-1]
    reference = CallLog(env=sqlite_env(tmp_path / "reference.db") | DEFAULT)
    for callback in spec.callbacks:
        reference.record(callback)
    reopened = CallLog(env=env | CODEC)
    summary = reopened.call(spec.call_uuid).summary()
    assert summary == reference.call(spec.call_uuid).summary()
    assert summary.status is CallStatus.COMPLETED
