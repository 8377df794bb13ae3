"""The replay's own decoding gives what eventsourcing's mapper and ``mutate`` give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from hypothesis import example, given
from hypothesis import strategies as st

from domain.call import Call
from projections.hangup_metrics import (
    PDD_BOUNDS,
    hour_bucket,
    pdd_index,
)
from projections.log import Row, id_range
from projections.replay import Reading, Replay, _decode_callback
from projections.times import from_micros, to_micros
from projections.times import plivo_time as _plivo_time
from projections.times import sliced_time as _sliced_time
from store.application import CallLog
from tests.projections.test_views import mixed_calls, record_shuffled, unfinished_calls

_zones = st.one_of(
    st.none(),
    st.just(UTC),
    st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
)


@given(moment=st.datetimes(timezones=_zones))
def test_a_callback_state_reads_the_time_the_encoder_wrote(moment: datetime) -> None:
    stored = msgspec.json.encode(
        {"timestamp": moment, "kind": "", "params": {}, "fingerprint": "", "verdict": ""}
        | {"status": None}
    )
    state = _decode_callback(stored)
    assert state.timestamp == moment
    assert state.timestamp.utcoffset() == moment.utcoffset()


def _rows(call_log: CallLog) -> list[Row]:
    page = call_log.recorder.select_notifications(start=1, limit=10_000)
    return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in page]


def test_calls_made_from_registered_states_equal_those_mutate_makes(call_log: CallLog) -> None:
    record_shuffled(call_log, mixed_calls(seed=5))
    replay = Replay(call_log, keep_before=False)
    made = 0
    for row in _rows(call_log):
        if row[2] != 1:
            continue
        _, raw_id, version, topic, stored = row
        replay._readings[topic] = Reading.REGISTRATION
        fast = replay._registered(raw_id, version, topic, stored)
        replay._readings[topic] = Reading.MAPPED_REGISTRATION
        slow = replay._registered(raw_id, version, topic, stored)
        assert type(fast) is type(slow) is Call
        assert vars(fast) == vars(slow)
        assert fast.id == slow.id
        assert fast.created_on == slow.created_on
        made += 1
    assert made


def test_the_replay_folds_every_call_as_the_repository_does(call_log: CallLog) -> None:
    record_shuffled(call_log, mixed_calls(seed=6) + unfinished_calls())
    replay = Replay(call_log, keep_before=False, maxsize=3)
    rows = _rows(call_log)
    folded: dict[str, Call] = {}
    batches = [replay.batch(rows[start : start + 7]) for start in range(0, len(rows), 7)]
    for batch in [*batches, replay.rest()]:
        for key, (call, _, _) in batch.calls.items():
            folded[key] = call
    assert replay.reloads  # a cache of 3 calls: some were read back
    assert len(folded) == len(mixed_calls(seed=6)) + len(unfinished_calls())
    for key, call in folded.items():
        stored: Any = call_log.repository.get(call.id)
        assert str(stored.id) == key
        assert vars(call) == vars(stored)


def _reference_hour_bucket(local_time: str, account_tz: tzinfo, fallback: datetime) -> str:
    moment = _sliced_time(local_time, account_tz) or fallback
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0).isoformat()


_plivo_texts = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.from_regex(
        r"\A[0-9]{4}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-6][0-9]:[0-6][0-9](\.[0-9]{0,8})?\Z"
    ),
    st.from_regex(r"\A[0-9 +٣-]{4}-[0-9 +]{2}-[0-9]{2} [0-9 +٣]{2}:[0-9]{2}:[0-9]{2}\Z"),
    st.text(max_size=30),
)
_account_zones = st.sampled_from(
    [
        UTC,
        ZoneInfo("UTC"),
        timezone(timedelta(hours=5, minutes=30)),
        ZoneInfo("Asia/Kolkata"),
        ZoneInfo("America/New_York"),  # DST: offsets move within a day
    ]
)


@given(text=_plivo_texts, zone=_account_zones)
@example(text="1869-01-01 00:53:20", zone=ZoneInfo("Asia/Kolkata"))  # offset +5:53:20
def test_hour_buckets_are_unchanged(text: str, zone: tzinfo) -> None:
    fallback = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert hour_bucket(text, zone, fallback) == _reference_hour_bucket(text, zone, fallback)


@given(text=_plivo_texts, zone=_account_zones)
def test_plivo_times_read_by_the_c_parser_equal_those_read_by_slicing(
    text: str, zone: tzinfo
) -> None:
    fast, sliced = _plivo_time(text, zone), _sliced_time(text, zone)
    assert fast == sliced
    assert getattr(fast, "tzinfo", None) is getattr(sliced, "tzinfo", None)


@given(moment=st.datetimes(timezones=st.just(UTC)))
@example(moment=datetime(1, 1, 1, tzinfo=UTC))
@example(moment=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
def test_instants_kept_as_microseconds_come_back_whole(moment: datetime) -> None:
    assert from_micros(to_micros(moment)) == moment


@given(delay=st.floats(min_value=-10, max_value=4000))
def test_pdd_buckets_are_the_first_bound_not_below_the_delay(delay: float) -> None:
    call = Call.register("c", datetime(2026, 3, 1, 9, tzinfo=UTC))
    call.session_start = "2026-03-01 09:00:00"
    call.rang_at = datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(seconds=delay)
    exact = (call.rang_at - datetime(2026, 3, 1, 9, tzinfo=UTC)) / timedelta(seconds=1)
    expected = (
        None
        if exact < 0 or exact > 3600
        else next(i for i, bound in enumerate(PDD_BOUNDS) if exact <= bound)
    )
    assert pdd_index(call) == expected


@given(parts=st.integers(1, 16))
def test_the_shares_of_a_rebuild_cover_every_call_id_once(parts: int) -> None:
    prefixes = [f"{i:02x}" for i in range(256)]
    ranges = [id_range((share, parts)) for share in range(parts)]
    for prefix in prefixes:
        holders = [r for r in ranges if r[0] <= prefix < r[1]]
        assert len(holders) == 1, prefix
    assert all(stop > start for start, stop in ranges)
