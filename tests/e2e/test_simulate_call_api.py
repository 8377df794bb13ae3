"""``calltrail simulate`` withholding callbacks and playing Plivo's Call API, as users run it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from service.plivo_calls import CallApi, CallApiOptions, Pacing
from tests.e2e.server import running_server
from tests.plivo_client import TOKEN

API_KEY = "simulate-test-key"
PLIVO = {"CALLTRAIL_PLIVO_AUTH_ID": "MAE2ETESTACCOUNT0001", "CALLTRAIL_PLIVO_AUTH_TOKEN": "e2e-tok"}
SERVING = re.compile(r"serving Plivo's Call API at (\S+) .*: ([\d,]+) records of ([\d,]+) calls")


@contextmanager
def simulating(target: str, *options: str) -> Iterator[subprocess.Popen[str]]:
    """``calltrail simulate`` running in the background, its report read from stdout."""
    command = [sys.executable, "-m", "entrypoints.cli", "simulate", "--target", target, "--quiet"]
    command += ["--auth-token", TOKEN, "--api-key", API_KEY, *options]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLTRAIL_")} | PLIVO
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        assert process.stdout is not None
        process.stdout.close()


def read_until(
    process: subprocess.Popen[str], pattern: re.Pattern[str]
) -> tuple[str, re.Match[str]]:
    """The report up to the first line matching ``pattern`` (read as written, no sleeping)."""
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        found = pattern.search(line)
        if found:
            return "".join(lines), found
    raise AssertionError("the simulator ended before:\n" + "".join(lines))


def test_withheld_calls_are_reported_open_and_missing_and_plivo_has_their_records(
    sqlite_url: str,
) -> None:
    drops = [
        "--calls",
        "300",
        "--seed",
        "9",
        "--drop-hangups",
        "0.1",
        "--undelivered-calls",
        "0.05",
    ]
    with (
        running_server(sqlite_url, extra={"CALLTRAIL_API_KEYS": API_KEY}) as server,
        simulating(server.url, *drops, "--plivo-api", "127.0.0.1:0") as process,
    ):
        report, serving = read_until(process, SERVING)
        url, records, calls = serving[1], int(serving[2].replace(",", "")), serving[3]
        options = CallApiOptions(PLIVO["CALLTRAIL_PLIVO_AUTH_ID"], "e2e-tok", url, 5.0, Pacing(0))
        with CallApi(options) as api:
            now = datetime.now(UTC)
            listed = list(api.ended_between(now - timedelta(days=1), now))
        process.send_signal(signal.SIGINT)
        assert process.stdout is not None
        after = process.stdout.read()
        assert process.wait(timeout=60) == 0, report + after
    withheld = re.search(r"the hangup of (\d+) calls and every callback of (\d+) calls", report)
    assert withheld is not None, report
    hangups, undelivered = int(withheld[1]), int(withheld[2])
    assert 10 <= hangups <= 60
    assert 5 <= undelivered <= 30
    assert "calls not fully acknowledged 0" in report  # withheld is not a delivery failure
    found = (
        "0 mismatches (0 not fully acknowledged, checked for doubling only)\n"
        f"  {hangups} calls open, {undelivered} calls missing"
    )
    assert f"verified 300 calls through /v1/calls: {found}" in report
    assert calls == "300"
    assert len(listed) == records == len({record["call_uuid"] for record in listed})
    assert "stopped serving after" in after
    assert f"verified 300 calls through /v1/calls: {found}" in after  # nothing reconciled
