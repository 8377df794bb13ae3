"""``calltrail --help`` and every subcommand's: each option says what it does and its default,
in plain text."""

from __future__ import annotations

import argparse
import re

import pytest

from entrypoints.cli import main, parser

# reStructuredText and Markdown markup that reads as noise in a terminal.
MARKUP = re.compile(r"``|`|:(?:func|class|meth|mod|attr|data|ref):|\*\*")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    (choices,) = (
        action.choices
        for action in parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return dict(choices)


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_every_subcommand_has_help() -> None:
    assert set(subcommands()) == {
        "serve",
        "project",
        "rebuild",
        "quarantine",
        "export",
        "import",
        "reconcile",
        "simulate",
    }


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_option_says_its_default(name: str) -> None:
    for action in subcommands()[name]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        label = "/".join(action.option_strings) or action.dest
        assert action.help, f"{name} {label} has no help text"
        if action.option_strings:
            assert "default" in action.help, f"{name} {label}: {action.help!r} gives no default"


@pytest.mark.parametrize("name", ["", *sorted(subcommands())])
def test_help_is_plain_text(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys, *filter(None, [name]))
    assert text.startswith("usage: calltrail")
    assert not MARKUP.search(text), MARKUP.search(text)
    assert "%(default)" not in text


def test_reconcile_help_names_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(help_of(capsys, "reconcile").split())
    for option in ("--since", "--older-than", "--dry-run"):
        assert option in text
    assert "15m" in text
    assert "(default: 24 hours ago)" in text
