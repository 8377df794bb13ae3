"""The drawn timeline of a call: one lane for the A leg and one per B leg, each recorded
callback a mark at its Plivo time, and the order Plivo sent them against the order they
arrived.

No charting library draws lanes of marks whose shape says a verdict, so the page draws it
as server-rendered SVG (``templates/timeline.svg.j2``) from the geometry computed here.

A mark's Plivo time is the time the callback itself reports: ``EndTime`` for a hangup,
else ``SessionStart`` (``StartTime`` when that is blank), read in the account's time
zone; a callback that reports none is placed at its arrival. Plivo's order is by that
time, then by how far the reported status goes (ringing before in-progress before an
end; a B leg's answer before connected before hangup), then by arrival.

An entry read from Plivo's Call API (``source`` ``call_api``: ``calltrail reconcile``) is
drawn like the webhook it stands for, labelled "Call API", at the record's ``end_time``,
on the lane of the leg the record is of.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from domain.status import RANK, parse_status
from projections.records import EntryRecord
from projections.times import plivo_time

LEFT = 150  # room for the lane names
GAP = 175  # least distance between two marks of a lane, so their labels never overlap
STEP = 40  # least distance between two marks of any lanes, so Plivo's order shows
TICK_GAP = 80
# The order of a Dial callback's events for one B leg.
DIAL_ORDER = {"answer": 0, "connected": 1, "hangup": 2}
SPAN = 760  # the width the time scale spreads over before gaps are kept
LANE_HEIGHT = 110
TOP = 40
A_LEG = "A leg"
VERDICT_HELP = {
    "advanced": "moved the call forward",
    "repeated": "the same status again",
    "late": "an earlier status, arrived after a later one",
    "conflict": "a second, different end",
    "unrecognised": "a status the state machine does not know",
}


@dataclass
class Mark:
    """One recorded callback, placed on its lane."""

    entry: EntryRecord
    params: dict[str, str]  # verbatim, numbers masked when masking is on
    lane: str
    at: datetime  # its Plivo time, or its arrival when it reports none
    plivo_timed: bool  # whether ``at`` is a time Plivo reported
    arrival: int = 0  # 1-based, in log order
    plivo_rank: int = 0  # 1-based, in Plivo's order
    same: int = 1  # callbacks of this kind and status on this lane (repeats included)
    x: float = 0.0
    y: float = 0.0

    @property
    def out_of_order(self) -> bool:
        """Whether it arrived at another place than Plivo's order gives it."""
        return self.arrival != self.plivo_rank

    @property
    def label(self) -> str:
        """Its kind and the status it reported (a Dial callback: the B leg's event)."""
        entry = self.entry
        if entry.source == "call_api":
            return f"Call API · {entry.reported_status or entry.params.get('call_state', '?')}"
        if entry.kind == "dial_callback" and entry.params.get("DialAction"):
            return f"dial · {entry.params['DialAction']}"
        return f"{entry.kind} · {entry.reported_status}" if entry.reported_status else entry.kind


@dataclass
class Lane:
    """A leg of the call: its name and where it is drawn."""

    name: str
    y: float
    marks: list[Mark] = field(default_factory=list)


@dataclass
class Drawing:
    """Everything the template needs to draw one call's timeline."""

    lanes: list[Lane]
    marks: list[Mark]  # in arrival order
    width: float
    height: float
    ticks: list[tuple[float, str]]
    path: list[str]  # the statuses the call went through, in order
    reordered: bool  # whether any callback arrived out of Plivo's order


def plivo_moment(entry: EntryRecord, zone: tzinfo) -> datetime | None:
    """The time the callback reports for itself, or ``None``."""
    params = entry.params
    if entry.source == "call_api":
        return _record_time(params.get("end_time", "").strip(), zone)
    names = ("EndTime",) if entry.kind == "hangup" else ()
    for name in (*names, "SessionStart", "StartTime"):
        text = params.get(name, "").strip()
        moment = plivo_time(text, zone) if text else None
        if moment is not None:
            return moment
    return None


def _record_time(text: str, zone: tzinfo) -> datetime | None:
    """A Call API record's time: with its offset when it has one, else in ``zone``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else plivo_time(text, zone)


def lane_of(entry: EntryRecord) -> str:
    """The A leg, or the B leg a Dial callback (or a B leg's Call API record) reports on."""
    name = "call_uuid" if entry.source == "call_api" else "DialBLegUUID"
    leg = entry.params.get(name, "").strip()
    return f"B leg {leg[:8]}" if entry.kind == "dial_callback" and leg else A_LEG


def _rank(mark: Mark) -> tuple[int, int]:
    """How far a callback goes: its reported status, then (a Dial callback) its event."""
    status = parse_status(mark.entry.reported_status)
    action = mark.entry.params.get("DialAction", "") if mark.entry.kind == "dial_callback" else ""
    return (RANK[status] if status is not None else 0), DIAL_ORDER.get(action, 0)


def draw(entries: list[EntryRecord], params: list[dict[str, str]], zone: tzinfo) -> Drawing:
    """The drawing of a call's ``entries`` (in log order), with each one's shown
    ``params``; Plivo's local times are read in ``zone``."""
    marks = []
    for arrival, (entry, shown) in enumerate(zip(entries, params, strict=True), start=1):
        moment = plivo_moment(entry, zone)
        mark = Mark(entry, shown, lane_of(entry), moment or entry.received_at, moment is not None)
        mark.arrival = arrival
        marks.append(mark)
    plivo = sorted(marks, key=lambda m: (m.at, _rank(m), m.arrival))
    for rank, mark in enumerate(plivo, start=1):
        mark.plivo_rank = rank
    lanes: dict[str, Lane] = {A_LEG: Lane(A_LEG, TOP + LANE_HEIGHT / 2)}
    for mark in marks:
        if mark.lane not in lanes:
            lanes[mark.lane] = Lane(mark.lane, TOP + LANE_HEIGHT * (len(lanes) + 0.5))
        lanes[mark.lane].marks.append(mark)
    _count_same(lanes.values())
    ticks = _place(plivo, lanes)
    width = max(960.0, (plivo[-1].x if plivo else LEFT) + GAP * 0.7)
    return Drawing(
        lanes=list(lanes.values()),
        marks=marks,
        width=width,
        height=TOP + LANE_HEIGHT * len(lanes) + 30,
        ticks=ticks,
        path=_path(entries),
        reordered=any(mark.out_of_order for mark in marks),
    )


def _count_same(lanes: Iterable[Lane]) -> None:
    """How many marks of a lane say the same (kind and status): a redelivery that
    differs from the first in any parameter is recorded, and counted here. An exact
    redelivery is not stored (its verdict is ``duplicate``), so it is not drawn."""
    for lane in lanes:
        counts: dict[str, int] = {}
        for mark in lane.marks:
            counts[mark.label] = counts.get(mark.label, 0) + 1
        for mark in lane.marks:
            mark.same = counts[mark.label]


def _place(plivo: list[Mark], lanes: dict[str, Lane]) -> list[tuple[float, str]]:
    """x by Plivo time, in Plivo's order: each mark at least ``STEP`` after the one
    before it and ``GAP`` after the one before it on its lane (so labels never overlap);
    and the axis's labels, one per mark that leaves room for it."""
    if not plivo:
        return []
    first, last = plivo[0].at, plivo[-1].at
    spread = (last - first).total_seconds() or 1.0
    x = float(LEFT) - GAP
    on_lane: dict[str, float] = {}
    ticks: list[tuple[float, str]] = []
    for mark in plivo:
        scaled = LEFT + 20 + SPAN * (mark.at - first).total_seconds() / spread
        x = max(scaled, x + STEP, on_lane.get(mark.lane, -GAP) + GAP)
        on_lane[mark.lane] = x
        mark.x, mark.y = x, lanes[mark.lane].y
        label = mark.at.strftime("%H:%M:%S")
        if not ticks or (ticks[-1][1] != label and x - ticks[-1][0] >= TICK_GAP):
            ticks.append((x, label))
    return ticks


def _path(entries: list[EntryRecord]) -> list[str]:
    """The statuses the state machine went through: each advance's status after it."""
    path: list[str] = []
    for entry in entries:
        if entry.verdict == "advanced" and entry.status_after and entry.status_after not in path:
            path.append(entry.status_after)
    return path
