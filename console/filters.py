"""The console's filter forms read leniently: a blank field means any, and a value that
cannot be read is a message on the page (a 400), never a failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from projections.queries import CallFilter
from projections.records import DIRECTIONS, STATUSES
from projections.times import parse_moment

CALL_FIELDS = ("status", "direction", "cause", "from", "to", "since", "until")


@dataclass
class Form:
    """A filter form's fields as given (blanks dropped), and what could not be read."""

    values: dict[str, str]
    errors: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, query: Any, names: tuple[str, ...]) -> Form:
        """The fields ``names`` of a query string (a multi-dict)."""
        form = cls({})
        for name in names:
            text = str(query.get(name) or "").strip()
            if "\x00" in text:  # no stored value holds one, and PostgreSQL cannot compare it
                form.errors.append(f"{name}: holds a NUL character (U+0000)")
            elif text:
                form.values[name] = text
        return form

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        """A field that must be one of ``allowed``."""
        value = self.values.get(name)
        if value is not None and value not in allowed:
            self.errors.append(f"{name}: expected one of {', '.join(allowed)}")
            return None
        return value

    def time(self, name: str) -> datetime | None:
        """A time field (a date, or a date and time; UTC unless it says otherwise)."""
        value = self.values.get(name)
        if value is None:
            return None
        try:
            return parse_moment(value)
        except ValueError as error:
            self.errors.append(f"{name}: {error}")
            return None

    def code(self, name: str) -> int | None:
        """An integer field, such as a hangup cause code."""
        value = self.values.get(name)
        if value is None:
            return None
        if not value.lstrip("-").isdigit() or not -(2**31) <= int(value) < 2**31:
            self.errors.append(f"{name}: expected a hangup cause code such as 3010")
            return None
        return int(value)

    def query(self, **more: str) -> str:
        """The fields as a query string, with ``more`` added."""
        return urlencode({**self.values, **more})


def call_filter(form: Form) -> CallFilter:
    """The call list's filter from the calls page's form."""
    return CallFilter(
        form.choice("status", STATUSES),
        form.choice("direction", DIRECTIONS),
        form.code("cause"),
        form.values.get("from"),
        form.values.get("to"),
        form.time("since"),
        form.time("until"),
    )
