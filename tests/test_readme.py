"""The README shows the two commands and the transition table generated from the code."""

from __future__ import annotations

import re
from pathlib import Path

from entrypoints.docs import readme_block

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_readme_transition_table_is_the_generated_one() -> None:
    assert readme_block() in README, "run `python -m entrypoints.docs` and paste it into README.md"


def test_the_readme_shows_the_two_commands() -> None:
    assert "make run" in README
    assert "make test" in README


def test_the_readme_configuration_table_names_every_setting() -> None:
    source = (Path(__file__).resolve().parents[1] / "service" / "settings.py").read_text()
    names = re.findall(r'reader\.\w+\(\s*"([A-Z_]+)"', source)
    assert "PLIVO_API_URL" in names
    for name in names:
        assert f"`CALLTRAIL_{name}`" in README, name
