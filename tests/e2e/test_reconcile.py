"""``calltrail simulate --drop-hangups`` then ``calltrail reconcile``, as users run them, on
each store: the verification's open and missing calls before, 0 mismatches after, every
recovered call's timeline with its reconciled entry, the hangup-cause metrics of the run
with nothing dropped, and the Prometheus counter and gauge."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.server import running_server
from tests.e2e.test_simulate_call_api import API_KEY, PLIVO, SERVING, read_until, simulating

CALLS = "200"
START = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
RUN = ["--calls", CALLS, "--seed", "17", "--start", START.isoformat()]
DROPS = ["--drop-hangups", "0.1", "--undelivered-calls", "0.02"]
SUMMARY = re.compile(
    r"looked up ([\d,]+), completed ([\d,]+), added ([\d,]+) \(\+([\d,]+) B legs\),"
    r" still open ([\d,]+) .* errors ([\d,]+); ([\d,]+) Call API requests"
)
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
SERVER = {"CALLTRAIL_API_KEYS": API_KEY}


def reconcile(database_url: str, api_url: str) -> str:
    """``calltrail reconcile`` against the simulator's Call API; its summary line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLTRAIL_")} | PLIVO
    env |= {
        "CALLTRAIL_DATABASE_URL": database_url,
        "CALLTRAIL_PLIVO_API_URL": api_url,
        "CALLTRAIL_PLIVO_API_RATE": "60",
    }
    since = (START - timedelta(hours=1)).isoformat()
    command = [sys.executable, "-m", "entrypoints.cli", "reconcile", "--older-than", "0s"]
    done = subprocess.run(
        [*command, "--since", since],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert PLIVO["CALLTRAIL_PLIVO_AUTH_TOKEN"] not in done.stdout + done.stderr
    return done.stdout


def calls_by_status(client: httpx.Client) -> dict[str, str | None]:
    """Every call calltrail has, and its status."""
    found: dict[str, str | None] = {}
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500, "min_position": head(client)}
        params |= {"cursor": cursor} if cursor else {}
        page = client.get("/v1/calls", params=params, headers=HEADERS).json()
        found |= {call["call_uuid"]: call["status"] for call in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def head(client: httpx.Client) -> int:
    """The position of the newest event in the log."""
    return int(client.get("/v1/events", params={"limit": 1}, headers=HEADERS).json()["position"])


def causes(client: httpx.Client) -> tuple[int, list[dict[str, Any]]]:
    """The hangup-cause metrics (total and rows), once every event is in the views."""
    params = {"min_position": head(client)}
    found = client.get("/v1/metrics/hangup-causes", params=params, headers=HEADERS).json()
    return found["total"], found["rows"]


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found, name
    return float(found[1])


def test_reconcile_completes_open_calls_and_adds_missing_ones(
    database_url: str, tmp_path: Path
) -> None:
    with (
        running_server(database_url, extra=SERVER) as server,
        simulating(server.url, *RUN, *DROPS, "--plivo-api", "127.0.0.1:0") as process,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        report, serving = read_until(process, SERVING)
        counted = re.search(r"(\d+) calls open, (\d+) calls missing", report)
        assert counted, report
        opened, missing = int(counted[1]), int(counted[2])
        assert opened > 0
        assert missing > 0
        before = calls_by_status(client)
        still = {
            uuid for uuid, status in before.items() if status in (None, "ringing", "in-progress")
        }
        assert len(still) == opened
        found = SUMMARY.search(reconcile(database_url, serving[1]))
        assert found, "no summary"
        looked_up, completed, added, _legs, left, errors, requests = (
            int(group.replace(",", "")) for group in found.groups()
        )
        assert (looked_up, completed, added, left, errors) == (opened, opened, missing, 0, 0)
        assert requests <= 2 * (completed + added) + 10  # one lookup each, plus pages
        after = calls_by_status(client)
        recovered = still | (set(after) - set(before))
        assert len(recovered) == opened + missing
        for uuid in recovered:
            entries = client.get(f"/v1/calls/{uuid}/timeline", headers=HEADERS).json()["entries"]
            reconciled = [e for e in entries if e["source"] == "call_api"]
            assert reconciled, uuid
            assert reconciled[0]["event"] == "Reconciled"
            assert reconciled[0]["verdict"] == "advanced"
        dropped_run = causes(client)
        scraped = client.get("/metrics", headers=HEADERS).text
        assert metric(scraped, "calltrail_calls_reconciled_total") == opened + missing
        assert metric(scraped, "calltrail_calls_open_past_threshold") == 0
        process.send_signal(signal.SIGINT)
        assert process.stdout is not None
        verified = process.stdout.read()
        assert process.wait(timeout=60) == 0, verified
    assert f"verified {CALLS} calls through /v1/calls: 0 mismatches" in verified
    assert "calls open" not in verified
    reference = f"sqlite:///{tmp_path / 'nothing-dropped.db'}"
    with (
        running_server(reference, extra=SERVER) as server,
        simulating(server.url, *RUN) as process,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        assert process.wait(timeout=120) == 0
        assert causes(client) == dropped_run
