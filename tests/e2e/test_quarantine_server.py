"""Poison events against the real processes: ``calltrail serve`` keeps projecting past
one and says so, and ``calltrail rebuild`` and ``calltrail quarantine`` handle them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx

from domain.ids import call_id
from domain.status import CallStatus
from store.application import open_call_log
from tests.e2e.server import Server, running_server
from tests.factories import inbound, outbound
from tests.plivo_client import PlivoSender
from tests.poison import insert, renamed, stored_events, unknown_topic

KEY = "quarantine-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def insert_unknown_hangup(database_url: str) -> tuple[str, int]:
    """A busy call whose hangup is of an event type this version does not know; its
    ``CallUUID`` and the hangup's position."""
    call_log = open_call_log(database_url)
    try:
        spec = outbound(CallStatus.BUSY)
        events = stored_events(call_log, spec)
        events[-1] = renamed(events[-1], unknown_topic())
        return spec.call_uuid, insert(call_log, events)[-1]
    finally:
        call_log.close()


def log_line(server: Server, text: str, timeout: float = 30) -> str:
    """The first line of the server's log holding ``text``, once it has come."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(server.log):
            if text in line:
                return line
        time.sleep(0.05)  # the log is read by another thread: look again shortly
    raise AssertionError(f"no log line with {text!r}:\n{''.join(server.log)}")


def level(line: str) -> str:
    """A log line's level, whether the line is plain text or a JSON object."""
    if line.lstrip().startswith("{"):
        return str(json.loads(line)["level"]).upper()
    levels = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    return next(word for word in line.split() if word in levels)


def test_a_served_process_keeps_projecting_past_an_event_it_cannot_apply(
    database_url: str,
) -> None:
    with (
        running_server(database_url, extra={"CALLTRAIL_API_KEYS": KEY}) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        poisoned, held = insert_unknown_hangup(database_url)
        later = inbound(answered=True)
        sender = PlivoSender(http, public_url=server.url)
        position = 0
        for callback in later.callbacks:
            response = sender.deliver(callback)
            assert response.status_code == 200
            position = int(response.headers["x-calltrail-position"])
        read = http.get(f"/v1/calls/{later.call_uuid}?min_position={position}", headers=AUTH)
        assert read.status_code == 200
        assert read.json()["call"]["status"] == "completed"
        line = log_line(server, f"event {held} of call {call_id(poisoned)}")
        assert level(line) == "ERROR"
        assert "put in quarantine" in line
        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["quarantined"] == {"timeline": 1, "metrics": 1}
        timeline = http.get(f"/v1/calls/{poisoned}/timeline", headers=AUTH)
        assert timeline.status_code == 200  # cut before the event it cannot read
        assert timeline.json()["call"]["status"] == "ringing"
        assert [e["position"] for e in timeline.json()["entries"]] == [held - 1]


def calltrail(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ) | {"CALLTRAIL_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_rebuild_then_list_and_retry_from_the_command_line(sqlite_url: str) -> None:
    poisoned, held = insert_unknown_hangup(sqlite_url)
    rebuilt = calltrail(sqlite_url, "rebuild", "all", "--workers", "1")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"up to event {held}" in rebuilt.stderr
    listed = calltrail(sqlite_url, "quarantine", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    lines = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(line["position"], line["view"], line["cause"]) for line in lines] == [
        (held, "metrics", held),
        (held, "timeline", held),
    ]
    assert {line["call_id"] for line in lines} == {str(call_id(poisoned))}
    assert all(line["error"].startswith("TopicError") for line in lines)
    table = calltrail(sqlite_url, "quarantine", "list").stdout.splitlines()
    assert table[0].split()[:4] == ["position", "view", "call", "held"]
    assert table[1].split()[:3] == [str(held), "metrics", str(call_id(poisoned))]
    retried = calltrail(sqlite_url, "quarantine", "retry", "--all")  # nothing fixed yet
    assert retried.returncode == 1
    assert "timeline: 0 events applied, 1 still held" in retried.stderr
    missing = calltrail(sqlite_url, "quarantine", "retry", "--position", str(held - 1))
    assert missing.returncode == 1
    assert "no view holds the event" in missing.stderr
