"""Every subcommand's --help reads cleanly: no empty defaults, no doubled defaults, no seed that seeds nothing."""

from __future__ import annotations

import argparse
import re

import pytest

from anonlab.cli import build_parser


def _parsers():
    out = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        out.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}".strip())

    walk(build_parser(), "")
    return out


PARSERS = _parsers()

BAD = [
    (re.compile(r"\(default: None\)"), "an empty default"),
    (re.compile(r"\(default: False\)"), "a switch's default"),
    (re.compile(r"seed for nothing"), "a seed that seeds nothing"),
]


def test_every_command_is_covered():
    names = {n for n, _ in PARSERS}
    assert {"synth", "anonymize", "evaluate", "compare", "dp stats", "dicom deidentify"} <= names


@pytest.mark.parametrize("name, parser", PARSERS, ids=[n or "anonlab" for n, _ in PARSERS])
def test_help_has_no_garbled_defaults(name, parser):
    text = re.sub(r"\s+", " ", parser.format_help())
    for pattern, what in BAD:
        m = pattern.search(text)
        assert m is None, f"`anonlab {name} --help` shows {what}: ...{text[max(0, m.start() - 80) : m.end()]}"


def _option_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    return formatter._expand_help(action) if action.help else ""


@pytest.mark.parametrize("name, parser", PARSERS, ids=[n or "anonlab" for n, _ in PARSERS])
def test_each_option_states_its_default_at_most_once(name, parser):
    for action in parser._actions:
        text = _option_help(parser, action)
        stated = len(re.findall(r"[(\[]default[: ]", text))
        assert stated <= 1, f"`anonlab {name} --help`, {action.option_strings}: {text}"


@pytest.mark.parametrize("name, parser", PARSERS, ids=[n or "anonlab" for n, _ in PARSERS])
def test_required_options_show_no_default(name, parser):
    for action in parser._actions:
        if action.required and action.option_strings:
            assert "(default:" not in _option_help(parser, action)
