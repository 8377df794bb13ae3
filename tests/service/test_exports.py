"""Exports, and the round trip: export events, import into an empty store, rebuild, compare."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from domain.status import TERMINAL, CallStatus
from entrypoints.cli import main
from service.bootstrap import open_views
from service.settings import Settings
from store.application import open_call_log
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
