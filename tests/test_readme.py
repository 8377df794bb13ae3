"""The README shows the two commands and every setting; the state machine's page shows the
transition table generated from the code."""

from __future__ import annotations

import re
from pathlib import Path

from entrypoints.docs import table_block

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_transition_table_is_the_generated_one() -> None:
    page = (ROOT / "docs" / "state-machine.md").read_text(encoding="utf-8")
    assert table_block() in page, "run `python -m entrypoints.docs`, paste it into the page"


def test_the_readme_shows_the_two_commands() -> None:
    assert "make run" in README
    assert "make test" in README


def test_the_readme_configuration_table_names_every_setting() -> None:
    source = (Path(__file__).resolve().parents[1] / "service" / "settings.py").read_text()
    names = re.findall(r'reader\.\w+\(\s*"([A-Z_]+)"', source)
    assert "PLIVO_API_URL" in names
    for name in names:
        assert f"`CALLTRAIL_{name}`" in README, name
