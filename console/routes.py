"""The console's routes under ``/console/``, its template engine, and its headers.

Every page and fragment is behind the session guard but the sign-in form, sign-out and
the static assets (the libraries, the style sheet and the console's own script: nothing
about any call). Every response says ``Content-Security-Policy`` with ``script-src
'self'``: no inline script runs, only the files under ``/console/static``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Response, Router, get
from litestar.di import Provide
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from console import auth, calls, charts, health
from console.session import Sessions
from projections.queries import cursor_of
from service.settings import Settings

HERE = Path(__file__).resolve().parent
STATIC = "/console/static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self';"
    " frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def secured(response: Response[Any]) -> Response[Any]:
    """The console's headers on a response; pages are never cached (they hold calls)."""
    response.headers.update(HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@get("/", sync_to_thread=False)
def home() -> Redirect:
    """The console opens on the calls."""
    return Redirect(auth.HOME, status_code=303)


def when(moment: datetime | None) -> str:
    """A time as the console shows it: UTC, to the second."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 over ``console/templates`` (autoescaped), with the console's filters."""

    def add_filters(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters["when"] = when
        engine.engine.globals["static"] = STATIC
        engine.engine.globals["cursor"] = cursor_of

    return TemplateConfig(
        directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=add_filters
    )


def console_router(settings: Settings) -> Router:
    """The console, for the settings' API keys and session settings."""
    sessions = Sessions.of(settings)
    guarded = Router(
        path="/console",
        route_handlers=[
            home,
            calls.calls_page,
            calls.newer_calls,
            calls.call_page,
            calls.call_json,
            charts.causes_page,
            health.health_page,
            health.health_fragment,
        ],
        guards=[auth.session_guard(sessions)],
        exception_handlers={auth.SignInRequired: auth.to_sign_in},
    )
    assets = create_static_files_router(
        path=STATIC, directories=[HERE / "static"], include_in_schema=False
    )
    return Router(
        path="/",
        route_handlers=[auth.sign_in_page, auth.sign_in, auth.sign_out, guarded, assets],
        dependencies={"sessions": Provide(lambda: sessions, sync_to_thread=False)},
        after_request=secured,
        include_in_schema=False,
    )
