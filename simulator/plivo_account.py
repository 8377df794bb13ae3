"""The Plivo account a fake Call API serves: its call records, live calls and faults.

A call's record can be missing for its first lookups (Plivo writes a record some
seconds after the call ends, and answers 404 until then), the call can be live for its
first lookups (a live call has no record yet and shows in ``live_calls``), and its
record can disagree with the webhooks (a conflict). A lookup is any request that would
show the call: ``calls.get``, ``live_calls.get``, or a list whose filters match it.
Shares pick calls by a hash of their UUID, so the same calls are picked on every run.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from simulator.calls import SimulatedCall
from simulator.plivo_records import Record, conflicting, end_of, live_record, records_of


@dataclass(frozen=True, slots=True)
class Faults:
    """Faults set for the whole account (per-call faults are set on ``Account``)."""

    unwritten_share: float = 0.0  # calls whose record is missing for its first lookups
    unwritten_lookups: int = 1
    conflict_share: float = 0.0  # calls whose record disagrees with the webhooks
    throttle_every: int = 0  # every Nth request answered 429 (0: never)
    retry_after: int = 1  # seconds, the Retry-After of those 429s
    error_every: int = 0  # every Nth request answered 503 (0: never)

    @classmethod
    def parse(cls, text: str) -> Faults:
        """``"unwritten=0.1,conflict=0.01,throttle=50,errors=100"``; ``ValueError`` if not."""
        names = {
            "unwritten": ("unwritten_share", float),
            "lookups": ("unwritten_lookups", int),
            "conflict": ("conflict_share", float),
            "throttle": ("throttle_every", int),
            "retry-after": ("retry_after", int),
            "errors": ("error_every", int),
        }
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, _, raw = item.partition("=")
            if key not in names:
                raise ValueError(f"unknown fault {key!r}; choose from {', '.join(names)}")
            field, kind = names[key]
            try:
                values[field] = kind(raw)
            except ValueError:
                raise ValueError(f"{key} needs a number, got {raw!r}") from None
            if values[field] < 0 or (kind is float and values[field] > 1):
                raise ValueError(f"{key}={raw} is out of range")
        return cls(**values)  # type: ignore[arg-type]


def picked(call_uuid: str, share: float, salt: str) -> bool:
    """Whether ``share`` picks this call (stable: a hash of the UUID, not a generator)."""
    digest = hashlib.sha256(f"{salt}:{call_uuid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < share * 2**64


@dataclass(slots=True)
class _Call:
    call: SimulatedCall
    records: list[Record]  # the A leg first, then its B legs
    hidden: int = 0  # lookups still answered as if the record were not written
    live: bool = False  # while hidden, the call is up rather than just ended
    conflict: bool = False


class Account:
    """The records of ``calls`` under ``auth_id``; thread-safe."""

    def __init__(
        self,
        calls: Iterable[SimulatedCall],
        auth_id: str,
        zone: tzinfo = UTC,
        faults: Faults | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.auth_id = auth_id
        self.faults = faults or Faults()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.Lock()
        self.calls: dict[str, _Call] = {}
        self.legs: dict[str, tuple[_Call, int]] = {}  # any leg's UUID → its call, index
        for call in calls:
            self._add(call, zone)

    def _add(self, call: SimulatedCall, zone: tzinfo) -> None:
        uuid, faults = call.call_uuid, self.faults
        entry = _Call(call, records_of(call, self.auth_id, zone))
        if picked(uuid, faults.unwritten_share, "unwritten"):
            entry.hidden = faults.unwritten_lookups
        entry.conflict = picked(uuid, faults.conflict_share, "conflict")
        self.calls[uuid] = entry
        for index, record in enumerate(entry.records):
            self.legs[record["call_uuid"]] = (entry, index)

    def unwritten(self, call_uuid: str, lookups: int = 1) -> None:
        """Answer the call's first ``lookups`` lookups as if its record were not written."""
        with self.lock:
            entry = self.calls[call_uuid]
            entry.hidden, entry.live = lookups, False

    def live(self, call_uuid: str, lookups: int = 1) -> None:
        """Show the call as live (and without a record) for its first ``lookups`` lookups."""
        with self.lock:
            entry = self.calls[call_uuid]
            entry.hidden, entry.live = lookups, True

    def conflict(self, call_uuid: str, on: bool = True) -> None:
        """Serve a record for the call that disagrees with its webhooks."""
        with self.lock:
            self.calls[call_uuid].conflict = on

    def _seen(self, entry: _Call) -> bool:
        """Count one lookup of the call; whether its record is written (caller holds lock)."""
        if entry.hidden:
            entry.hidden -= 1
            return False
        return True

    def _shown(self, entry: _Call, index: int) -> Record:
        record = entry.records[index]
        return conflicting(record) if entry.conflict and index == 0 else record

    def record(self, call_uuid: str) -> Record | None:
        """``calls.get``: the record of any leg, or None (not written, live or unknown)."""
        with self.lock:
            found = self.legs.get(call_uuid)
            if found is None or not self._seen(found[0]):
                return None
            return self._shown(*found)

    def live_call(self, call_uuid: str) -> Record | None:
        """``live_calls.get``: the call while it is live, else None."""
        with self.lock:
            entry = self.calls.get(call_uuid)
            if entry is None or not entry.live or self._seen(entry):
                return None
            return live_record(entry.call)

    def live_ids(self) -> list[str]:
        """``live_calls.list_ids``: the calls up now (each listing counts as a lookup)."""
        with self.lock:
            up = [e for e in self.calls.values() if e.live and e.hidden]
            return [e.call.call_uuid for e in up if not self._seen(e)]

    def matching(self, keep: Callable[[Record], bool]) -> list[Record]:
        """Written records that ``keep`` accepts, newest end first, as ``calls.list``."""
        found: list[Record] = []
        with self.lock:
            for entry in self.calls.values():
                wanted = [i for i, r in enumerate(entry.records) if keep(self._shown(entry, i))]
                if wanted and self._seen(entry):
                    found += [self._shown(entry, i) for i in wanted]
        found.sort(key=lambda record: (end_of(record), record["call_uuid"]), reverse=True)
        return found

    def truth(self) -> Mapping[str, SimulatedCall]:
        """The simulated calls by UUID."""
        return {uuid: entry.call for uuid, entry in self.calls.items()}
