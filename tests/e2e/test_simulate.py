"""``calltrail simulate`` as users run it, against ``calltrail serve`` with several workers."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.e2e.server import free_port, running_server
from tests.plivo_client import TOKEN

API_KEY = "simulate-test-key"


def simulate(target: str, *options: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "entrypoints.cli", "simulate", "--target", target, "--quiet"]
    command += ["--auth-token", token, "--api-key", API_KEY, *options]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLTRAIL_")}
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_two_workers_take_hostile_traffic_and_read_it_back(database_url: str) -> None:
    extra = {"CALLTRAIL_API_KEYS": API_KEY}
    with running_server(database_url, workers=2, extra=extra) as server:
        options = ["--calls", "300", "--seed", "5", "--duplicates", "0.2", "--reorder", "0.5"]
        done = simulate(server.url, *options, "--get-share", "0.5", "--concurrency", "24")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "simulated 300 calls (seed 5, start " in done.stdout
    assert "ConnectError" not in done.stdout  # the socket listened before the workers started
    assert "verified 300 calls through /v1/calls: 0 mismatches" in done.stdout


def test_a_wrong_token_fails_the_run_and_says_why(sqlite_url: str) -> None:
    with running_server(sqlite_url, extra={"CALLTRAIL_API_KEYS": API_KEY}) as server:
        done = simulate(server.url, "--calls", "5", "--seed", "1", token="not-the-token")
    assert done.returncode == 1
    assert "rejected (4xx) " in done.stdout
    assert "HTTP 403" in done.stdout
    assert "403 means a signature did not verify" in done.stdout


def test_a_dead_target_is_named_at_once() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = simulate(url, "--calls", "50", "--seed", "1")
    assert done.returncode == 1
    assert done.stdout == ""  # no report of a run that never started
    assert done.stderr.strip().splitlines() == [
        f"calltrail: cannot connect to {url} (ConnectError): is calltrail running at {url}?"
    ]


def test_bad_options_are_refused_with_the_reason() -> None:
    for option, value, reason in (
        ("--causes", "7011:1", "cause 7011 cannot be simulated"),
        ("--retries", "-1", "expected an integer >= 0"),
        ("--rate", "-3", "expected a number >= 0"),
        ("--duplicates", "1.5", "expected a share between 0 and 1"),
        ("--calls", "0", "expected a positive integer"),
    ):
        done = simulate("http://127.0.0.1:9", option, value)
        assert done.returncode == 2, option
        assert reason in done.stderr, option
