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


def _has(parser: argparse.ArgumentParser, flag: str) -> bool:
    return flag in parser._option_string_actions


#: every command that takes --seed, and the randomness it seeds (issue 16: "seed for nothing" goes). A command
#: added here must draw randomness; one that starts to draw randomness must be added.
SEEDED = {
    "synth": "the DP noise of a fit and the rows sampled from the model (also `synth sample`)",
    "dp stats": "the DP noise of the answers",
    "evaluate": "every sample and split of the evaluation (DCR, membership candidates, TSTR, anonymeter)",
    "compare": "the train / holdout split, every evaluation and every release's noise",
    "geo mask": "the random displacement of each point (random, donut, laplace)",
    "audio voice": "each speaker's voice settings when no key is given",
    "anonymize": "pram, noise and rankswap's random draws",
}

#: every command that shows progress (bars or ticking phase lines on stderr), and what progresses
PROGRESS = {
    "anonymize": "Mondrian's partitioning, the global lattice search",
    "dicom deidentify": "files written",
    "dicom audit": "files audited",
    "synth": "AIM's budget, MST's measurements, DPVI's calibration and steps, SDV fits, NAPSU's sampler",
    "evaluate": "the parts, the neighbour searches, TSTR fits, anonymeter's attacks",
    "compare": "each release's fit and evaluation",
    "image faces": "photos blurred",
    "video faces": "frames processed",
    "text redact": "documents redacted",
    "audio voice": "recordings written",
    "nifti convert": "DICOM files read",
    "nifti deface": "its steps (registering, masking, checking, rendering)",
    "eeg anonymize": "recordings written",
    "run": "the release its recipe makes (the method's own progress)",
}


def test_seed_only_on_commands_that_draw_randomness():
    names = {name for name, _ in PARSERS}
    have = {name for name, p in PARSERS if name and _has(p, "--seed")}
    assert have == set(SEEDED) & names, (
        f"--seed on commands that draw nothing: {sorted(have - set(SEEDED))}; "
        f"missing where randomness is drawn: {sorted(set(SEEDED) - have)}"
    )


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_seed_help_says_what_it_seeds_and_keeps_it_secret(name):
    if name not in dict(PARSERS):
        pytest.skip(f"no `anonlab {name}` in this tree")
    parser = dict(PARSERS)[name]
    text = " ".join(_option_help(parser, parser._option_string_actions["--seed"]).split())
    assert text.startswith("seed for ") and "Keep it secret" in text and "nothing" not in text
    assert text.count("never written") <= 1 and text.count("Keep it secret") == 1, text


def test_dp_stats_seed_help_does_not_contradict_itself():
    # the noise stream is derived from the seed, the parameters, the table and the ledger entry: the help must not
    # promise that the same seed and inputs always give the same output
    parser = dict(PARSERS)["dp stats"]
    text = " ".join(_option_help(parser, parser._option_string_actions["--seed"]).split())
    assert "the same seed and inputs give the same output" not in text
    assert "ledger entry" in text


def test_quiet_on_every_command_with_progress():
    names = {name for name, _ in PARSERS}
    have = {name for name, p in PARSERS if name and _has(p, "--quiet")}
    assert have == set(PROGRESS) & names, (
        f"--quiet without progress: {sorted(have - set(PROGRESS))}; progress without --quiet: "
        f"{sorted(set(PROGRESS) - have)}"
    )


@pytest.mark.parametrize("name, parser", PARSERS, ids=[n or "anonlab" for n, _ in PARSERS])
def test_one_progress_switch_in_help(name, parser):
    # the old switches are hidden deprecated aliases; help shows --quiet only
    text = parser.format_help()
    assert "--no-progress" not in text and "--progress" not in text


@pytest.mark.parametrize("name, parser", PARSERS, ids=[n or "anonlab" for n, _ in PARSERS])
def test_json_is_a_flag(name, parser):
    # --json prints JSON to stdout and takes no value, so it never swallows a positional argument
    action = parser._option_string_actions.get("--json")
    if action is not None:
        assert action.nargs == 0, f"`anonlab {name} --json` takes a value"
    out = parser._option_string_actions.get("--json-out")
    if out is not None:
        assert out.metavar == "FILE"


@pytest.mark.parametrize(
    "name, message, shown",
    [
        ("dp stats", "give at least one query (queries=)", "give at least one query (--query)"),
        ("dp stats", "trust_domains=True is refused here", "--trust-domains is refused here"),
        ("evaluate", "quasi= names a missing column", "--quasi names a missing column"),
        ("anonymize", "hierarchies= for a column", "--hierarchy for a column"),
        ("pseudonymize", "dates= needs by=", "--shift-dates needs --by"),
    ],
)
def test_cli_dests_are_the_library_parameters(name, message, shown):
    # library errors name parameters; each command's parser rewrites them as its flags (issue 15 / 16)
    from anonlab.cli._common import flag_words

    assert flag_words(message, dict(PARSERS)[name]) == shown
