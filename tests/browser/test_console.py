"""The web console in a real browser, against a real server fed by the simulator: sign
in, find a call, read its drawn timeline, follow a filter, read a chart, watch a new call
arrive, sign out."""

from __future__ import annotations

import uuid
from typing import Any

from tests.browser.conftest import Site, screenshot


def test_find_a_reordered_call_and_read_its_timeline(page: Any, site: Site) -> None:
    screenshot(page, "calls")
    page.get_by_label("Find a call by CallUUID or a number").fill(site.reordered)
    page.get_by_role("button", name="Find").click()
    page.wait_for_url(f"**/console/calls/{site.reordered}")
    timeline = site.read(f"/v1/calls/{site.reordered}/timeline")["entries"]
    marks = page.locator("svg.timeline a.mark")
    assert marks.count() == len(timeline)  # every recorded callback, drawn
    shown = [marks.nth(i).get_attribute("class") for i in range(marks.count())]
    assert shown == [f"mark verdict-{entry['verdict']}" for entry in timeline]
    assert page.get_by_text("Arrived out of order:").is_visible()
    assert page.locator(".mark .order.moved").count() >= 1
    assert page.locator("text.lane-name", has_text="A leg").count() == 1
    screenshot(page, "call-reordered")

    # A mark opens, from the keyboard, its callback's verbatim parameters and position.
    late = next(i for i, entry in enumerate(timeline) if entry["verdict"] == "late")
    entry = timeline[late]
    marks.nth(late).focus()
    page.keyboard.press("Enter")
    details = page.locator(f"#entry-{entry['position']}")
    assert details.get_attribute("open") is not None
    assert details.locator(".position").inner_text() == str(entry["position"])
    row = details.locator("table.params tr", has_text="CallUUID")
    assert row.locator("td").inner_text() == site.reordered

    # Readable at 400 px: nothing wider than the screen but the scrolling timeline.
    page.set_viewport_size({"width": 400, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    screenshot(page, "call-400px")


def test_a_conflicting_call_shows_its_second_end(page: Any, site: Site) -> None:
    page.goto(f"/console/calls/{site.conflicting}")
    timeline = site.read(f"/v1/calls/{site.conflicting}/timeline")["entries"]
    verdicts = [entry["verdict"] for entry in timeline]
    assert {"conflict", "unrecognised"} <= set(verdicts)
    marks = page.locator("svg.timeline a.mark")
    assert [marks.nth(i).locator("text.verdict").text_content() for i in range(len(timeline))] == (
        verdicts
    )
    conflict = page.locator("a.mark.verdict-conflict")
    assert conflict.locator("polygon.v-conflict").count() == 1  # a shape, not only a colour
    assert "hangup · busy" in conflict.locator("text.label").text_content() or ""
    screenshot(page, "call-conflict")


def test_a_filter_narrows_the_calls(page: Any, site: Site) -> None:
    page.get_by_label("Status").select_option("busy")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/console/calls?status=busy*")
    expected = [
        c["call_uuid"] for c in site.read("/v1/calls", status="busy", order="desc")["items"]
    ]
    rows = page.locator("#calls-body tr")
    assert rows.count() == len(expected) > 0
    assert [rows.nth(i).locator("td.uuid a").inner_text() for i in range(rows.count())] == expected
    statuses = {rows.nth(i).locator(".status").inner_text() for i in range(rows.count())}
    assert statuses == {"busy"}
    screenshot(page, "calls-busy")


def test_the_causes_chart_has_the_read_apis_numbers(page: Any, site: Site) -> None:
    page.get_by_role("link", name="Causes and KPIs").click()
    page.wait_for_selector("#causes-chart[data-drawn=true]")
    drawn = page.evaluate(
        """() => {
            const data = Chart.getChart(document.getElementById('causes-chart')).data;
            const bars = {};
            data.labels.forEach((label, i) => {
                bars[label] = data.datasets.reduce((n, d) => n + (d.data[i] || 0), 0);
            });
            return bars;
        }"""
    )
    rows = site.read("/v1/metrics/hangup-causes")["rows"]
    expected = {
        f"{r['hangup_cause_code']} {r['hangup_cause_name']}"
        + (f" ({r['hangup_source']})" if r["hangup_source"] else ""): r["calls"]
        for r in rows
    }
    assert drawn == expected
    assert page.locator("canvas[data-drawn=true]").count() == 4  # causes, ratios, ACD, PDD
    screenshot(page, "causes")


def test_a_new_call_appears_without_a_reload(page: Any, site: Site) -> None:
    page.evaluate("window.stillHere = true")
    call_uuid = str(uuid.uuid4())
    params = {
        "CallUUID": call_uuid,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "Event": "StartApp",
        "From": "+14155550142",
        "To": "+18005550100",
    }
    assert site.sender().send("/plivo/answer", params).status_code == 200
    page.wait_for_selector(f'#calls-body a[href="/console/calls/{call_uuid}"]', timeout=15_000)
    assert page.evaluate("window.stillHere") is True
    assert page.locator("#calls-body tr").first.locator("td.uuid").inner_text() == call_uuid


def test_health_then_sign_out_and_be_refused(page: Any, site: Site) -> None:
    page.get_by_role("link", name="Health").click()
    page.wait_for_url("**/console/health")
    assert page.locator("td.lag").count() == 2  # the timeline and metrics views
    screenshot(page, "health")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in?out=true")
    assert page.get_by_text("You are signed out.").is_visible()
    page.goto(f"/console/calls/{site.reordered}")
    assert "/console/sign-in?next=" in page.url
    assert page.request.get("/console/health/status").status == 401
    assert page.request.get(f"/console/calls/{site.reordered}/json").url.endswith(
        f"/console/sign-in?next=%2Fconsole%2Fcalls%2F{site.reordered}%2Fjson"
    )
