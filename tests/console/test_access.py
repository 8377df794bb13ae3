"""Who gets into the console: sessions, their cookie, expiry, sign-out, and the headers."""

from __future__ import annotations

import re
import time

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from console.session import COOKIE, Sessions, key_id
from tests.api.conftest import READ_KEY, settings_for
from tests.console.conftest import open_client, sign_in

PUBLIC = ("/console/sign-in", "/console/sign-out")


def console_routes(client: TestClient[Litestar]) -> list[tuple[str, bool]]:
    """Every console route but the sign-in form, sign-out and the static files, each with
    whether it is a fragment; path parameters filled in."""
    found = []
    for route in client.app.routes:
        path = route.path
        if not path.startswith("/console") or path in PUBLIC or path.startswith("/console/static"):
            continue
        handler = next(h for h in route.route_handlers if "GET" in h.http_methods)
        found.append((re.sub(r"\{[^}]+\}", "some-call", path), bool(handler.opt.get("fragment"))))
    return found


def test_every_page_and_fragment_refuses_without_a_session(
    client: TestClient[Litestar],
) -> None:
    routes = console_routes(client)
    assert {"/console/calls", "/console/calls/newer", "/console/health/status"} <= {
        path for path, _ in routes
    }
    for path, fragment in routes:
        response = client.get(path, follow_redirects=False)
        if fragment:
            assert response.status_code == 401, path
            assert response.json()["error"] == "unauthorized"
        else:
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/console/sign-in?next=%2Fconsole")
    # With a forged cookie too.
    client.cookies.set(COOKIE, f"{int(time.time()) + 999}.{key_id(READ_KEY)}.{'0' * 64}")
    for path, fragment in routes:
        assert client.get(path, follow_redirects=False).status_code == (401 if fragment else 303)


def test_signing_in_opens_the_page_asked_for_with_a_strict_http_only_cookie(
    client: TestClient[Litestar],
) -> None:
    asked = client.get("/console/causes?direction=inbound", follow_redirects=False)
    target = asked.headers["location"]
    form = client.get(target)
    assert 'name="next" value="/console/causes?direction=inbound"' in form.text
    response = client.post(
        "/console/sign-in",
        data={"key": READ_KEY, "next": "/console/causes?direction=inbound"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/causes?direction=inbound"
    cookie = response.headers["set-cookie"]
    for flag in ("HttpOnly", "SameSite=strict", "Secure", "Path=/console", "Max-Age=28800"):
        assert flag in cookie
    assert READ_KEY not in cookie  # the key itself never leaves in the cookie
    assert client.get("/console/causes?direction=inbound").status_code == 200


def test_the_cookie_is_not_secure_behind_a_plain_http_public_url(sqlite_url: str) -> None:
    with open_client(sqlite_url, PUBLIC_URL="http://127.0.0.1:8000") as client:
        cookie = sign_in(client).headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" not in cookie


def test_a_wrong_key_is_refused_and_an_open_redirect_is_not_followed(
    client: TestClient[Litestar],
) -> None:
    wrong = client.post("/console/sign-in", data={"key": "guess", "next": "/console/calls"})
    assert wrong.status_code == 401
    assert "That is not a key of CALLTRAIL_API_KEYS." in wrong.text
    assert "set-cookie" not in wrong.headers
    away = client.post(
        "/console/sign-in",
        data={"key": READ_KEY, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/console/calls"


def test_without_api_keys_nobody_signs_in_as_the_read_api_refuses_everyone(
    sqlite_url: str,
) -> None:
    with open_client(sqlite_url, API_KEYS="") as client:
        page = client.get("/console/sign-in")
        assert "No API keys are configured" in page.text
        assert sign_in(client, "").status_code == 401
        assert client.get("/console/calls", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session(signed_in: TestClient[Litestar]) -> None:
    assert signed_in.get("/console/health").status_code == 200
    out = signed_in.post("/console/sign-out", follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/console/sign-in?out=true"
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert signed_in.get("/console/health", follow_redirects=False).status_code == 303
    assert signed_in.get("/console/health/status").status_code == 401


def test_a_session_expires_and_ends_when_its_key_is_removed() -> None:
    settings = settings_for("sqlite:///unused.db", SESSION_MINUTES="30")
    sessions = Sessions.of(settings)
    now = 1_800_000_000.0
    cookie = sessions.issue(READ_KEY, now=now)
    assert sessions.valid(cookie, now=now + 29 * 60)
    assert not sessions.valid(cookie, now=now + 30 * 60)
    expires, kid, signature = cookie.split(".")
    assert not sessions.valid(f"{int(expires) + 3600}.{kid}.{signature}", now=now)  # edited
    # Another worker of the same deployment agrees; a key taken out ends its sessions.
    assert Sessions.of(settings).valid(cookie, now=now)
    rotated = Sessions.of(settings_for("sqlite:///unused.db", API_KEYS="new-key"))
    assert not rotated.valid(cookie, now=now)


def test_an_expired_cookie_is_refused_over_http(sqlite_url: str) -> None:
    with open_client(sqlite_url) as client:
        sessions = Sessions.of(settings_for(sqlite_url))
        client.cookies.set(COOKIE, sessions.issue(READ_KEY, now=time.time() - 480 * 60 - 1))
        assert client.get("/console/calls", follow_redirects=False).status_code == 303
        client.cookies.set(COOKIE, sessions.issue(READ_KEY))
        assert client.get("/console/calls", follow_redirects=False).status_code == 200


def test_the_session_secret_setting_signs_the_cookies() -> None:
    one = Sessions.of(settings_for("sqlite:///unused.db", SESSION_SECRET="s3cret-one"))
    two = Sessions.of(settings_for("sqlite:///unused.db", SESSION_SECRET="s3cret-two"))
    cookie = one.issue(READ_KEY)
    assert one.valid(cookie)
    assert not two.valid(cookie)


@pytest.mark.parametrize(
    "path", ["/console/sign-in", "/console/calls", "/console/causes", "/console/health"]
)
def test_pages_allow_no_inline_script(signed_in: TestClient[Litestar], path: str) -> None:
    response = signed_in.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # every script is a file
    assert re.findall(r"\son[a-z]+=", html) == []  # and no inline handlers


def test_the_assets_are_served_from_the_package_with_their_licences(
    client: TestClient[Litestar],
) -> None:
    for name in ("htmx.min.js", "chart.umd.min.js", "console.js", "console.css"):
        assert client.get(f"/console/static/{name}").status_code == 200, name
    assert "Zero-Clause BSD" in client.get("/console/static/htmx.LICENSE").text
    assert "MIT License" in client.get("/console/static/chart.js.LICENSE.md").text
