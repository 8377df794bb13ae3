"""``calltrail project`` as a process of its own: it catches up, follows, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from domain.status import CallStatus
from service.bootstrap import open_views
from service.settings import Settings
from store.application import open_call_log
from tests.factories import inbound, outbound


def test_the_projection_process_follows_the_log_and_stops_cleanly(sqlite_url: str) -> None:
    app = open_call_log(sqlite_url)
    for callback in outbound(CallStatus.BUSY).callbacks:
        app.record(callback)
    env = dict(os.environ) | {"CALLTRAIL_DATABASE_URL": sqlite_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "project"], env=env, stderr=subprocess.DEVNULL
    )
    views = open_views(Settings.from_env({"CALLTRAIL_DATABASE_URL": sqlite_url}))
    try:
        head = app.recorder.max_notification_id()
        for view in views:
            view.wait("CallLog", head, timeout=30)  # caught up with what was there
        for callback in inbound(answered=True).callbacks:
            app.record(callback)
        head = app.recorder.max_notification_id()
        for view in views:
            view.wait("CallLog", head, timeout=30)  # and follows what comes after
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        calls = views[0].rows("SELECT status FROM {p}calls ORDER BY first_position")
        assert [row["status"] for row in calls] == ["busy", "completed"]
    finally:
        if process.poll() is None:
            process.kill()
        for view in views:
            view.close()
