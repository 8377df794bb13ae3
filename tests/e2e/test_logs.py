"""``calltrail serve`` writes one JSON object per line, start-up and uvicorn's lines included."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx

from tests.api.payloads import ANSWERED_OUTBOUND_HANGUP
from tests.e2e.server import running_server, server_env
from tests.plivo_client import PlivoSender


def test_every_line_of_a_served_process_is_a_json_object(sqlite_url: str) -> None:
    extra = {"CALLTRAIL_INSECURE_SKIP_SIGNATURE": "1", "CALLTRAIL_LOG_LEVEL": "info"}
    with running_server(sqlite_url, extra=extra) as server:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            PlivoSender(http, public_url=server.url).send("/plivo/hangup", ANSWERED_OUTBOUND_HANGUP)
            http.get("/healthz")
        server.process.terminate()
        server.process.wait(timeout=30)
        deadline = time.monotonic() + 10  # the reader thread drains the closed pipe
        while not any("Finished server process" in line for line in server.log):
            assert time.monotonic() < deadline, "".join(server.log)
            time.sleep(0.01)
    objects = [json.loads(line) for line in server.log]
    assert all({"time", "level", "logger", "message"} <= set(o) for o in objects)
    messages = [(o["logger"], o["level"], o["message"]) for o in objects]
    assert any(
        lg == "calltrail" and lv == "warning" and "NOT checked" in m for lg, lv, m in messages
    )
    assert any(lg == "calltrail" and "serving on http://" in m for lg, _, m in messages)
    assert any(
        lg == "uvicorn.error" and "Application startup complete" in m for lg, _, m in messages
    )
    requests = [o for o in objects if o["logger"] == "calltrail.access"]
    assert [(r["path"], r["status"]) for r in requests] == [
        ("/plivo/hangup", 200),
        ("/healthz", 200),
    ]


def test_a_bad_log_level_is_refused_with_one_json_line(sqlite_url: str) -> None:
    env = server_env(sqlite_url, "http://127.0.0.1:8000", {"CALLTRAIL_LOG_LEVEL": "loud"})
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    error = json.loads(line)
    assert error["level"] == "error"
    assert "CALLTRAIL_LOG_LEVEL='loud'" in error["message"]
