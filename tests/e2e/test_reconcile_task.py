"""``CALLTRAIL_RECONCILE_EVERY`` with ``calltrail serve --workers 2``: the periodic
reconciliation runs in one process, the projections child, never in the web workers."""

from __future__ import annotations

import time

from tests.e2e.procs import children_of, name_of
from tests.e2e.server import running_server
from tests.e2e.test_simulate_call_api import API_KEY, PLIVO

STARTED = "reconciling with Plivo's Call API every 60 s"


def test_the_periodic_reconciliation_runs_in_the_projections_process_only(
    sqlite_url: str,
) -> None:
    extra = PLIVO | {
        "CALLTRAIL_API_KEYS": API_KEY,
        "CALLTRAIL_RECONCILE_EVERY": "1m",
        # Never asked: the first pass is due a minute after the start.
        "CALLTRAIL_PLIVO_API_URL": "http://127.0.0.1:9",
    }
    with running_server(sqlite_url, workers=2, extra=extra) as server:
        [projections] = [p for p in children_of(server.process.pid) if name_of(p) == "projections"]
        deadline = time.monotonic() + 20
        while not any(STARTED in line for line in server.log) and time.monotonic() < deadline:
            time.sleep(0.05)  # polls the log the server writes; no fixed wait
        started = [line for line in server.log if STARTED in line]
    assert len(started) == 1, server.log
    assert PLIVO["CALLTRAIL_PLIVO_AUTH_TOKEN"] not in "".join(server.log)
    assert f"(pid {projections})" in started[0], started[0]
