"""``make run`` on a fresh clone: its banner says how to reach the service, and it works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import SERVING, free_port


@pytest.fixture
def banner(tmp_path: Path) -> Iterator[str]:
    """The banner of ``python -m entrypoints.devrun`` (what ``make run`` starts), once the
    server it starts is listening; run in an empty folder with no ``CALLTRAIL_*`` set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLTRAIL_")}
    command = [sys.executable, "-m", "entrypoints.devrun", "--port", str(free_port())]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        log: list[bytes] = []
        for line in process.stderr:
            log.append(line)
            if SERVING.encode() in line:
                break
        else:
            raise AssertionError("make run did not start:\n" + b"".join(log).decode())
        threading.Thread(target=lambda: log.extend(process.stderr or ()), daemon=True).start()
        # The banner was printed and flushed before the server started: it waits in the pipe.
        yield os.read(process.stdout.fileno(), 1 << 16).decode()
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


def test_the_banner_gives_a_curl_line_that_reads_the_calls(banner: str) -> None:
    curl = re.search(r"curl -H 'Authorization: Bearer (\S+)' (\S+)", banner)
    assert curl, banner
    response = httpx.get(curl[2], headers={"Authorization": f"Bearer {curl[1]}"})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


def test_the_banner_gives_the_schema_the_console_and_what_plivo_needs(banner: str) -> None:
    schema = re.search(r"API schema: (\S+) \(the JSON: (\S+)\)", banner)
    assert schema, banner
    assert httpx.get(schema[1]).status_code == 200
    assert httpx.get(schema[2]).json()["openapi"]
    assert "CALLTRAIL_PUBLIC_URL=https://" in banner
    assert "/plivo/hangup" in banner
    console = re.search(r"web console: (\S+) \(sign in with the same key\)", banner)
    assert console, banner
    sign_in = httpx.get(console[1], follow_redirects=True)  # the sign-in form
    assert sign_in.status_code == 200
    assert 'name="key"' in sign_in.text
