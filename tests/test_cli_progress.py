"""The progress bars of ``calltrail rebuild``, ``export`` and ``import`` count towards a
total, in named units."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.status import TERMINAL
from entrypoints.cli import main
from store.application import open_call_log
from tests.factories import inbound, outbound


def finished_bar(stderr: str, name: str) -> re.Match[str] | None:
    """The last state of the progress bar called ``name``, if it reads
    ``name: 100%|...| n/total [..., rate unit/s]``."""
    last = [part for part in re.split(r"[\r\n]", stderr) if part.startswith(f"{name}:")]
    counts = r"(?P<done>[\d.]+)/(?P<total>[\d.]+)"
    pattern = rf"{name}: 100%\|.*\| {counts} \[.*, [\d.]+[kM]?(?P<unit>[a-z]+)/s\]"
    return re.fullmatch(pattern, last[-1]) if last else None


def test_rebuild_export_and_import_bars_show_totals_and_units(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"sqlite:///{tmp_path / 'a' / 'calltrail.db'}"
    app = open_call_log(source)
    for spec in [outbound(status) for status in sorted(TERMINAL)] + [inbound(answered=True)]:
        for callback in spec.callbacks:
            app.record(callback)
    events = app.recorder.max_notification_id()
    monkeypatch.setenv("CALLTRAIL_DATABASE_URL", source)
    assert main(["rebuild", "all"]) == 0
    assert main(["export", "events", "--out", str(tmp_path / "events.jsonl")]) == 0
    assert main(["export", "calls", "--format", "csv", "--out", str(tmp_path / "calls.csv")]) == 0
    monkeypatch.setenv("CALLTRAIL_DATABASE_URL", f"sqlite:///{tmp_path / 'b' / 'calltrail.db'}")
    assert main(["import", str(tmp_path / "events.jsonl")]) == 0
    stderr = capsys.readouterr().err
    for name, total, unit in (
        ("rebuild all", events, "event"),
        ("export events", events, "event"),
        ("export calls", len(TERMINAL) + 1, "call"),
        ("import", events, "event"),
    ):
        bar = finished_bar(stderr, name)
        assert bar, f"{name}: no finished bar with a total in\n{stderr}"
        assert float(bar["done"]) == float(bar["total"]) == total, bar[0]
        assert bar["unit"] == unit, bar[0]
