"""Exports, and the round trip: export events, import into an empty store, rebuild, compare."""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent

from domain.status import TERMINAL, CallStatus
from entrypoints.cli import main
from projections.log import event_record, read_log
from service import exports
from service.bootstrap import open_views
from service.settings import Settings
from store.application import CallLog, open_call_log
from store.compression import json_of
from tests.factories import inbound, outbound


def dumps(url: str) -> list[dict[str, list[tuple[object, ...]]]]:
    views = open_views(Settings.from_env({"CALLTRAIL_DATABASE_URL": url}))
    try:
        return [view.dump() for view in views]
    finally:
        for view in views:
            view.close()


def test_events_round_trip_into_an_empty_store_gives_identical_views(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"sqlite:///{tmp_path / 'a' / 'calltrail.db'}"
    target = f"sqlite:///{tmp_path / 'b' / 'calltrail.db'}"
    app = open_call_log(source)
    specs = [outbound(s, losers=1) for s in sorted(TERMINAL)] + [inbound(answered=True)]
    for spec in specs:
        for callback in reversed(spec.callbacks):
            app.record(callback)
    exported = tmp_path / "events.jsonl"
    monkeypatch.setenv("CALLTRAIL_DATABASE_URL", source)
    assert main(["rebuild", "all"]) == 0
    assert main(["export", "events", "--out", str(exported)]) == 0
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert len(lines) == app.recorder.max_notification_id()
    assert json.loads(lines[0])["topic"].endswith("Call.Registered")
    monkeypatch.setenv("CALLTRAIL_DATABASE_URL", target)
    assert main(["import", str(exported)]) == 0
    assert main(["rebuild", "all"]) == 0
    assert dumps(target) == dumps(source)
    assert main(["import", str(exported)]) == 2  # never into a store that has events


def test_calls_export_as_csv_with_a_time_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'calltrail.db'}"
    app = open_call_log(url)
    for spec in (outbound(CallStatus.BUSY), inbound(answered=True)):
        for callback in spec.callbacks:
            app.record(callback)
    monkeypatch.setenv("CALLTRAIL_DATABASE_URL", url)
    assert main(["rebuild", "all"]) == 0
    out = tmp_path / "calls.csv"
    assert main(["export", "calls", "--format", "csv", "--out", str(out)]) == 0
    with out.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["status"] for row in rows] == ["busy", "completed"]
    late = tmp_path / "late.csv"
    assert (
        main(["export", "calls", "--format", "csv", "--since", "2030-01-01", "--out", str(late)])
        == 0
    )
    header, *after = late.read_text(encoding="utf-8").splitlines()
    assert header.startswith("call_uuid,first_position,")
    assert after == []


def recorded_over_hours(url: str) -> CallLog:
    """A log of 12 calls, one every 20 minutes, each callback a second after the last."""
    app = open_call_log(url)
    start = datetime(2026, 3, 1, 8, tzinfo=UTC)
    for number in range(12):
        spec = outbound(CallStatus.COMPLETED, losers=1)
        for offset, callback in enumerate(spec.callbacks):
            at = start + timedelta(minutes=20 * number, seconds=offset)
            app.record(dataclasses.replace(callback, received_at=at))
    return app


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("08:30", "10:10"),
        ("08:00", None),
        (None, "09:00"),
        ("11:59", "12:01"),
        ("12:00", None),
        ("0001-01-01T00:00", "9999-12-31T23:59"),  # no room for the margin: none taken
    ],
)
def test_an_events_window_holds_exactly_the_events_that_occurred_in_it(
    tmp_path: Path, since: str | None, until: str | None
) -> None:
    app = recorded_over_hours(f"sqlite:///{tmp_path / 'calltrail.db'}")
    day = "2026-03-01T"
    start = datetime.fromisoformat(f"{'' if 'T' in since else day}{since}Z") if since else None
    end = datetime.fromisoformat(f"{'' if 'T' in until else day}{until}Z") if until else None
    everything = list(exports.events(app))
    assert len(everything) == app.recorder.max_notification_id()
    expected = [
        record.position
        for record in everything
        if record.occurred_at is not None
        and (start is None or record.occurred_at >= start)
        and (end is None or record.occurred_at < end)
    ]
    assert [record.position for record in exports.events(app, start, end)] == expected


def test_a_window_starts_reading_where_its_time_is_in_the_log(tmp_path: Path) -> None:
    app = recorded_over_hours(f"sqlite:///{tmp_path / 'calltrail.db'}")
    records = list(exports.events(app))
    for record in records:
        assert record.occurred_at is not None
        first = exports.first_position_at(app, record.occurred_at)
        assert first <= record.position
        assert all(r.occurred_at < record.occurred_at for r in records[: first - 1])  # type: ignore[operator]
    last = records[-1].occurred_at
    assert last is not None
    after = last + timedelta(seconds=1)
    assert exports.first_position_at(app, after) == len(records) + 1


def test_the_events_export_goes_past_damaged_states(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'calltrail.db'}"
    app = recorded_over_hours(url)
    damaged = [b"not json", b'{"timestamp": "2026-03-01T12:00:00Z", "x": "\\udfff"}', b"\xff"]
    topic = "domain.call:Call.CallbackRecorded"
    app.recorder.insert_events([StoredEvent(uuid4(), 1, topic, state) for state in damaged])
    monkeypatch.setenv("CALLTRAIL_DATABASE_URL", url)
    out = tmp_path / "events.jsonl"
    assert main(["export", "events", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == app.recorder.max_notification_id()
    assert [line["state"] for line in lines[-3:]] == [
        {"unreadable_state": "not json"},
        {"timestamp": "2026-03-01T12:00:00Z", "x": "\ufffd"},
        {"unreadable_state": "\\xff"},
    ]
    window = tmp_path / "window.jsonl"
    args = ["--since", "2026-03-01T11:50:00Z", "--out", str(window)]
    assert main(["export", "events", *args]) == 0
    windowed = [json.loads(line) for line in window.read_text(encoding="utf-8").splitlines()]
    assert windowed[-1]["state"]["x"] == "\ufffd"
    assert all(line["occurred_at"] >= "2026-03-01T11:50:00Z" for line in windowed)


def test_export_lines_are_the_event_records_encoded(tmp_path: Path) -> None:
    """Every line is the read contract's record of its stored event, whether its state is
    written as stored or built again (a state msgspec does not read as an object on one
    line, or whose time is not an RFC 3339 one with its offset): the same JSON, if not
    always the same whitespace."""
    app = recorded_over_hours(f"sqlite:///{tmp_path / 'calltrail.db'}")
    topic = "domain.call:Call.CallbackRecorded"
    stored = [
        b"[]",
        b'{\n"timestamp": "2026-03-01T09:00:00Z"}',
        b'{"timestamp": "2026-03-01T09:00:00Z",\r"a": 1}',
        b'{"a": "\\ud800"}',
        b'{"timestamp": "2026-03-01T09:00:00"}',  # no offset: UTC, as the views read it
        b'{"timestamp": {"_type_": "datetime_iso", "_data_": "2026-03-01T09:00:00+00:00"}}',
        b'{"timestamp": "2026-03-01T11:00:00+02:00", "CallerName": "Zo\xc3\xab"}',
        b'{"timestamp": "2026-03-01T09:00:00Z", "CallerName": "Zo\xeb"}',  # not UTF-8
        b'{"timestamp": "yesterday"}',
    ]
    app.recorder.insert_events([StoredEvent(uuid4(), 1, topic, state) for state in stored])
    encode = msgspec.json.Encoder().encode
    pages = list(exports.event_pages(app))
    lines = b"".join(page for _, page, _ in pages).splitlines()
    rows = [row for page in read_log(app, 0, 1000) for row in page]
    records = [encode(event_record(*row[:4], json_of(row[4]))) for row in rows]
    assert [json.loads(line) for line in lines] == [json.loads(record) for record in records]
    assert sum(size for _, _, size in pages) == len(lines) == app.recorder.max_notification_id()
    assert [record.position for record in exports.events(app)] == [row[0] for row in rows]
