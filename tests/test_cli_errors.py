"""Library messages name Python parameters; the CLI shows the flags a user typed instead."""

from __future__ import annotations

import argparse

import pytest

from anonlab.cli import build_parser
from anonlab.cli._common import flag_words


def _sub(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices[name]


@pytest.mark.parametrize(
    "message, expected",
    [
        (
            "domains read from the data: pass trust_domains=True",
            "domains read from the data: pass --trust-domains",
        ),
        ("epsilon=0 must be greater than 0", "--epsilon 0 must be greater than 0"),
        ("seed=None draws from the OS", "no --seed draws from the OS"),
        ("give epsilon= or a ledger", "give --epsilon or a ledger"),
        ("method='napsu' needs max_cells=", "--method napsu needs --max-cells"),
        ("my_epsilon=3 stays as written", "my_epsilon=3 stays as written"),
        ("no parameter here", "no parameter here"),
    ],
)
def test_parameter_names_become_flags(message, expected):
    assert flag_words(message, _sub("synth")) == expected


def test_store_true_false_is_written_as_absence():
    assert flag_words("trust_domains=False", _sub("synth")) == "no --trust-domains"


def test_no_parser_leaves_message():
    assert flag_words("trust_domains=True", None) == "trust_domains=True"


def test_dest_of_another_command_is_left():
    # `anonymize` has --k; synth has no k, so `k=` in a synth message is not a flag of synth
    assert flag_words("k=5", _sub("synth")) == "k=5"
    assert flag_words("k=5", _sub("anonymize")) == "--k 5"
