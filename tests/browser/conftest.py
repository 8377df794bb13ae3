"""A real browser (Debian's Chromium, driven by Playwright) against a real ``calltrail
serve`` fed by ``calltrail simulate``.

pip's Playwright downloads browsers of its own, which cannot be fetched here; it drives
the system's Chromium instead (``CHROMIUM``, default ``/usr/bin/chromium``; ``.ci/run``
installs it). Without it these tests are skipped with the reason, except in CI
(``CI=true``), where they fail, as the PostgreSQL tests do.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server, running_server
from tests.e2e.test_simulate import API_KEY, simulate
from tests.plivo_client import PlivoSender

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def chromium() -> str:
    """The Chromium binary, or skip (fail in CI) saying why there is none."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    missing = None
    if not Path(path).exists():
        missing = f"no Chromium at {path} (apt-get install chromium chromium-driver)"
    else:
        try:
            import playwright.sync_api  # noqa: F401, PLC0415
        except ImportError:
            missing = "the playwright package is not installed (pip install -e '.[dev]')"
    if missing is None:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(missing + " (mandatory in CI)", pytrace=False)
    pytest.skip(missing)


@dataclass
class Site:
    """The served console and what the tests know of its calls."""

    server: Server
    reordered: str  # a call with a callback that arrived late
    conflicting: str  # a call that reported a second, different end

    @property
    def url(self) -> str:
        """Where it serves."""
        return self.server.url

    def read(self, path: str, **params: Any) -> Any:
        """A ``/v1`` read, as JSON."""
        response = httpx.get(
            self.url + path, params=params, headers={"Authorization": f"Bearer {API_KEY}"}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def sender(self) -> PlivoSender:
        """Signed webhooks to the server, as Plivo sends them."""
        return PlivoSender(httpx.Client(base_url=self.url), public_url=self.url)


def _pick_reordered(site: Site, calls: list[dict[str, Any]]) -> str:
    best = ""
    for call in calls:
        timeline = site.read(f"/v1/calls/{call['call_uuid']}/timeline")
        if any(entry["verdict"] == "late" for entry in timeline["entries"]):
            if call["legs"]:
                return str(call["call_uuid"])
            best = best or str(call["call_uuid"])
    assert best, "the simulated traffic had no reordered call"
    return best


def _make_conflict(site: Site, calls: list[dict[str, Any]], reordered: str) -> str:
    """A second, different end for a completed call, and a status nobody knows."""
    call = next(c for c in calls if c["status"] == "completed" and c["call_uuid"] != reordered)
    entries = site.read(f"/v1/calls/{call['call_uuid']}/timeline")["entries"]
    hangup = next(entry["params"] for entry in entries if entry["kind"] == "hangup")
    sender = site.sender()
    for status in ("busy", "on-hold"):
        response = sender.send("/plivo/hangup", hangup | {"CallStatus": status})
        assert response.status_code == 200
    last = int(response.headers["x-calltrail-position"])
    site.read("/v1/calls", min_position=last)
    site.read("/v1/metrics/hangup-causes", min_position=last)
    return str(call["call_uuid"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A served console with 60 simulated calls, half their callbacks reordered, a
    fifth delivered twice, and one call given a conflicting end."""
    chromium()
    url = f"sqlite:///{tmp_path_factory.mktemp('console')}/calltrail.db"
    with running_server(url, extra={"CALLTRAIL_API_KEYS": API_KEY}) as server:
        options = ["--calls", "60", "--seed", "11", "--reorder", "0.5", "--duplicates", "0.2"]
        done = simulate(server.url, *options)
        assert done.returncode == 0, done.stdout + done.stderr
        site = Site(server, "", "")
        calls = site.read("/v1/calls", limit=500)["items"]
        site.reordered = _pick_reordered(site, calls)
        site.conflicting = _make_conflict(site, calls, site.reordered)
        yield site


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    """Headless Chromium."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A fresh browser page, signed in, that fails the test on any CSP violation or
    script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=site.url)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    tab.goto("/console/calls")
    assert "/console/sign-in" in tab.url  # no session: the sign-in page
    tab.get_by_label("API key").fill(API_KEY)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url("**/console/calls")
    yield tab
    context.close()
    assert problems == []


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot into test-artifacts/browser and check it shows
    something: a blank page compresses to a few hundred bytes, and has no text."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"{name}: the screenshot looks blank"
    assert len(page.inner_text("main")) > 50, f"{name}: the page shows no text"
    return path
