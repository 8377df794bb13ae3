"""The OpenAPI document at ``/schema/openapi.json`` and its page at ``/schema``.

The page is Redoc, served from this package (``api/static/redoc``, pinned, with its
licence): the schema reads the same with no internet access.
"""

from __future__ import annotations

from pathlib import Path

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.router import Router
from litestar.static_files import create_static_files_router

STATIC = Path(__file__).parent / "static"
ASSETS_PATH = "/schema/assets"
BEARER = "bearer"
SECURITY: list[dict[str, list[str]]] = [{BEARER: []}]
"""What the read routes require: a key of ``CALLTRAIL_API_KEYS`` as a bearer token."""

DESCRIPTION = """\
calltrail records every Plivo voice webhook as an event on its call, and serves what
the event log says: calls with their state, each call's timeline of callbacks, calls
per hangup cause, and KPIs.

The read API (`/v1`) needs `Authorization: Bearer <key>`, with a key of
`CALLTRAIL_API_KEYS`. Every error is `{"error": "<code>", "detail": "<sentence>"}`; the
codes are listed in the project's `docs/api.md`. Times are RFC 3339 in UTC; numbers are
E.164; a response's `position` is the log position its view reflects, and
`min_position` makes a read wait (bounded) until the view has reached a position, so a
client reads its own writes.
"""


def openapi_config(version: str) -> OpenAPIConfig:
    """The OpenAPI document's settings: its description, the bearer scheme, the page."""
    return OpenAPIConfig(
        title="calltrail",
        version=version,
        description=DESCRIPTION,
        path="/schema",
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="A key of CALLTRAIL_API_KEYS",
                )
            }
        ),
        tags=[
            Tag(name="read API", description="Calls, timelines, metrics and the event log"),
            Tag(name="webhooks", description="The URLs Plivo calls (signed)"),
            Tag(name="service", description="Health, readiness and Prometheus metrics"),
        ],
        render_plugins=[
            RedocRenderPlugin(
                js_url=f"{ASSETS_PATH}/redoc/redoc.standalone.js",
                google_fonts=False,
                favicon="",
            )
        ],
    )


def assets_router() -> Router:
    """The page's scripts, from this package."""
    return create_static_files_router(
        path=ASSETS_PATH, directories=[STATIC], include_in_schema=False
    )
