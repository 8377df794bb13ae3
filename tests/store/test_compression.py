"""Compressed states: a new store is written compressed, and a store written before
compression (states as JSON) loads, takes new events, rebuilds and exports as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.status import CallStatus
from entrypoints.cli import main
from service.bootstrap import open_views
from service.settings import Settings
from store.application import open_call_log
from store.compression import MAGIC, deflate, inflate, json_of
from tests.factories import CallSpec, inbound, outbound

SPECS = [outbound(CallStatus.COMPLETED, losers=1), outbound(CallStatus.BUSY), inbound(True)]


def record(url: str, specs: list[CallSpec]) -> None:
    app = open_call_log(url)
    try:
        for spec in specs:
            for callback in spec.callbacks:
                app.record(callback)
    finally:
        app.close()


def states(url: str) -> list[bytes]:
    app = open_call_log(url)
    try:
        return [n.state for n in app.recorder.select_notifications(start=1, limit=10_000)]
    finally:
        app.close()


def views_and_export(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """What a user reads of a store: its views after a rebuild, and its events export."""
    monkeypatch.setenv("CALLTRAIL_DATABASE_URL", url)
    assert main(["rebuild", "all"]) == 0
    out = tmp_path / "events.jsonl"
    assert main(["export", "events", "--out", str(out)]) == 0
    views = open_views(Settings.from_env({"CALLTRAIL_DATABASE_URL": url}))
    try:
        dumped = [view.dump() for view in views]
    finally:
        for view in views:
            view.close()
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return dumped, [(line["topic"], line["state"]) for line in lines]


def test_new_events_are_stored_compressed_to_less_than_half(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'calltrail.db'}"
    record(url, SPECS)
    stored = states(url)
    assert all(state.startswith(MAGIC) for state in stored)
    plain = [inflate(state) for state in stored]
    assert all(state.startswith(b"{") for state in plain)
    assert sum(map(len, stored)) * 2 < sum(map(len, plain))


def test_a_store_written_before_compression_loads_and_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = f"sqlite:///{tmp_path / 'old' / 'calltrail.db'}"
    fresh = f"sqlite:///{tmp_path / 'new' / 'calltrail.db'}"
    with monkeypatch.context() as before:
        before.setenv("COMPRESSOR_TOPIC", "")  # as calltrail wrote stores until now
        record(old, SPECS[:2])
        assert all(state.startswith(b"{") for state in states(old))
    # Now with compression: the old store's calls go on (the busy call's late repeat is
    # a repeat of its stored hangup), a new call is added, both are read back.
    record(old, [SPECS[1], SPECS[2]])
    record(fresh, [SPECS[0], SPECS[1], SPECS[1], SPECS[2]])
    mixed = states(old)
    assert mixed[0].startswith(b"{")
    assert mixed[-1].startswith(MAGIC)
    assert views_and_export(old, tmp_path, monkeypatch) == views_and_export(
        fresh, tmp_path, monkeypatch
    )


@given(st.binary(max_size=2000))
def test_any_state_comes_back_as_written(data: bytes) -> None:
    assert inflate(deflate(data)) == data
    if not data.startswith(MAGIC):
        assert inflate(data) == data  # a state stored before compression


def test_a_damaged_frame_is_read_as_the_bytes_stored() -> None:
    frame = deflate(b'{"timestamp": "2026-03-01T08:00:00Z"}')
    damaged = frame[:-3]
    assert json_of(damaged) == damaged
