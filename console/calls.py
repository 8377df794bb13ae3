"""The calls page (the list, its filters, the find box, new calls as they come) and the
call page (its summary and its timeline drawn)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Redirect, Template

from console.deps import CallLogDep, SettingsDep, ViewsDep
from console.drawing import VERDICT_HELP, draw
from console.filters import CALL_FIELDS, Form, call_filter
from console.masking import masked_params
from projections.queries import CallFilter, CursorError, cursor_of, find_call, list_calls
from projections.queries import timeline_entries as entries_of
from projections.records import DIRECTIONS, STATUSES, CallRecord, EntryRecord
from projections.sql import SqlView
from store.application import CallLog

PAGE = 50
AnyRequest = Request[Any, Any, Any]


def _find(view: SqlView, text: str, masked: bool) -> tuple[CallRecord | None, list[CallRecord]]:
    """A call by its CallUUID, else the latest calls from or to a number."""
    call = find_call(view, text, masked)
    if call is not None:
        return call, []
    found: dict[str, CallRecord] = {}
    for where in (CallFilter(from_number=text), CallFilter(to_number=text)):
        for record in list_calls(view, where, limit=PAGE, order="desc", masked=masked).calls:
            found[record.call_uuid] = record
    ordered = sorted(found.values(), key=lambda c: (c.first_seen_at, c.first_position))
    return None, ordered[::-1][:PAGE]


@get("/calls", sync_to_thread=True)
def calls_page(request: AnyRequest, views: ViewsDep, settings: SettingsDep) -> Template | Redirect:
    """Calls, newest first, filtered, a page at a time; or what the find box found."""
    form = Form.of(request.query_params, (*CALL_FIELDS, "cursor", "find"))
    where = call_filter(form)
    masked = settings.mask_numbers
    view = views.timeline
    context: dict[str, Any] = {
        "form": form,
        "statuses": STATUSES,
        "directions": DIRECTIONS,
        "calls": [],
        "next_cursor": None,
        "top": None,
        "find": form.values.get("find"),
    }
    find = form.values.get("find")
    if find and not form.errors:
        call, calls = _find(view, find, masked)
        if call is not None:
            return Redirect(f"/console/calls/{call.call_uuid}", status_code=303)
        context["calls"] = calls
    elif not form.errors:
        try:
            page = list_calls(
                view,
                where,
                cursor=form.values.get("cursor"),
                limit=PAGE,
                order="desc",
                masked=masked,
            )
        except CursorError as error:
            form.errors.append(f"cursor: {error}")
        else:
            context["calls"], context["next_cursor"] = page.calls, page.next_cursor
            if "cursor" not in form.values:  # only the first page takes new calls in
                context["top"] = cursor_of(page.calls[0]) if page.calls else "0.0"
    filters = Form({k: v for k, v in form.values.items() if k in CALL_FIELDS})
    context["filters"] = filters
    status = 400 if form.errors else 200
    return Template("calls.html.j2", context=context, status_code=status)


@get("/calls/newer", sync_to_thread=True, opt={"fragment": True})
def newer_calls(request: AnyRequest, views: ViewsDep, settings: SettingsDep) -> Template:
    """Rows of the calls first seen after the page's top row (``top``, a cursor), newest
    first: what the calls page polls for."""
    form = Form.of(request.query_params, (*CALL_FIELDS, "top"))
    where = call_filter(form)
    calls: list[CallRecord] = []
    if not form.errors:
        try:
            page = list_calls(
                views.timeline,
                where,
                cursor=form.values.get("top", "0.0"),
                limit=PAGE,
                order="asc",
                masked=settings.mask_numbers,
            )
            calls = page.calls[::-1]
        except CursorError:
            calls = []
    return Template("call_rows.html.j2", context={"calls": calls, "fresh": True})


def _timeline(
    call_log: CallLog, call: CallRecord, masked: bool
) -> tuple[list[EntryRecord], list[dict[str, str]]]:
    entries = entries_of(call_log, call, masked)
    return entries, [masked_params(entry.params, masked) for entry in entries]


@get("/calls/{call_uuid:str}", sync_to_thread=True)
def call_page(
    call_uuid: FromPath[str], views: ViewsDep, call_log: CallLogDep, settings: SettingsDep
) -> Template:
    """One call: its summary, its timeline drawn, and each callback's parameters."""
    masked = settings.mask_numbers
    call = None if "\x00" in call_uuid else find_call(views.timeline, call_uuid, masked)
    if call is None:
        return Template("missing.html.j2", context={"call_uuid": call_uuid}, status_code=404)
    entries, params = _timeline(call_log, call, masked)
    drawing = draw(entries, params, settings.account_timezone)
    context = {
        "call": call,
        "drawing": drawing,
        "verdicts": VERDICT_HELP,
        "permalink": f"{settings.public_url}/console/calls/{call.call_uuid}",
    }
    return Template("call.html.j2", context=context)


@get("/calls/{call_uuid:str}/json", sync_to_thread=True)
def call_json(
    call_uuid: FromPath[str], views: ViewsDep, call_log: CallLogDep, settings: SettingsDep
) -> Response[bytes]:
    """The call and its timeline as JSON (``/v1/calls/{id}/timeline``'s shape), to save."""
    masked = settings.mask_numbers
    view = views.timeline
    call = None if "\x00" in call_uuid else find_call(view, call_uuid, masked)
    if call is None:
        return Response(b'{"error":"unknown_call"}', status_code=404, media_type="application/json")
    entries, params = _timeline(call_log, call, masked)
    for entry, shown in zip(entries, params, strict=True):
        entry.params = shown
    body = msgspec.json.encode(
        {"call": call, "entries": entries, "position": view.position(CallLog.name)}
    )
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", call.call_uuid)[:100]
    headers = {"Content-Disposition": f'attachment; filename="call-{name}.json"'}
    return Response(body, media_type="application/json", headers=headers)
