"""Signing in and out of the console, and the guard every console page and fragment has.

A page asked for without a session redirects to the sign-in page (and back after it); a
fragment (what htmx fetches into a page, marked ``opt={"fragment": True}``) answers 401,
so a page whose session ran out stops updating instead of pasting a sign-in form into
itself. With no ``CALLTRAIL_API_KEYS`` set nobody can sign in, as ``/v1`` answers every
read with 401 then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from litestar.types import Guard

from console.deps import SessionsDep, SettingsDep
from console.session import COOKIE, Sessions, known_key
from service.settings import Settings

HOME = "/console/calls"
SIGN_IN = "/console/sign-in"


class SignInRequired(NotAuthorizedException):
    """A console page was asked for without a valid session."""


def session_guard(sessions: Sessions) -> Guard:
    """A guard refusing every request without a valid session cookie."""

    def require_session(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        if sessions.valid(connection.cookies.get(COOKIE)):
            return
        if handler.opt.get("fragment"):
            raise NotAuthorizedException("the console session is missing or has expired")
        raise SignInRequired("sign in first")

    return require_session


def to_sign_in(request: Request[Any, Any, Any], _: SignInRequired) -> Response[Any]:
    """Send a page request without a session to the sign-in page, remembering the page."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"{SIGN_IN}?next={quote(target, safe='')}", status_code=303)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path, never another site."""
    if target and target.startswith("/console/") and not target.startswith("/console//"):
        return target
    return HOME


@dataclass
class SignInForm:
    """The sign-in form."""

    key: str = ""
    next: str = HOME


def session_cookie(settings: Settings, value: str, max_age: int) -> Cookie:
    """The session cookie: HttpOnly, SameSite=Strict, Secure behind an https public URL,
    sent only to the console's paths."""
    return Cookie(
        key=COOKIE,
        value=value,
        path="/console",
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=settings.public_url.startswith("https://"),
    )


@get(SIGN_IN, sync_to_thread=False)
def sign_in_page(
    settings: SettingsDep, next: FromQuery[str | None] = None, out: FromQuery[bool] = False
) -> Template:
    """The sign-in form."""
    return Template(
        "sign_in.html.j2",
        context={"next": safe_next(next), "signed_out": out, "no_keys": not settings.api_keys},
    )


@post(SIGN_IN, sync_to_thread=False, status_code=303)
def sign_in(
    settings: SettingsDep,
    sessions: SessionsDep,
    data: Annotated[SignInForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    """Open a session for a key of CALLTRAIL_API_KEYS; show the form again otherwise."""
    key = known_key(settings.api_keys, data.key)
    if key is None:
        context = {
            "next": safe_next(data.next),
            "error": "That is not a key of CALLTRAIL_API_KEYS.",
            "no_keys": not settings.api_keys,
        }
        return Template("sign_in.html.j2", context=context, status_code=401)
    cookie = session_cookie(settings, sessions.issue(key), sessions.minutes * 60)
    return Redirect(safe_next(data.next), status_code=303, cookies=[cookie])


@post("/console/sign-out", sync_to_thread=False, status_code=303)
def sign_out(settings: SettingsDep) -> Redirect:
    """End the session: the cookie is emptied and expires at once."""
    return Redirect(
        f"{SIGN_IN}?out=true", status_code=303, cookies=[session_cookie(settings, "", 0)]
    )
