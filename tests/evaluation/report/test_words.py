"""Plain-language texts: numbers, privacy statements, flags in notes, slugs and the table of contents."""

import re

from hypothesis import given
from hypothesis import strategies as st

from anonlab.evaluation.report.html import Outline, fmt, slug
from anonlab.evaluation.report.words import (
    number,
    param_words,
    privacy_details,
    privacy_statement,
    short,
)


def test_numbers_read_as_a_person_writes_them():
    assert number(1e-9) == "1e-9" and fmt(1e-9) == "1e-9"  # never 0.000
    assert number(0.0) == "0" and number(1500) == "1,500" and number(0.51234) == "0.512"
    assert number(None) == "n/a" and number(float("nan")) == "n/a" and fmt(float("inf")) == "n/a"
    assert short(0.3) == "0.3" and short(1e-6) == "1e-6" and short(4.0) == "4"


def test_privacy_statement_in_words():
    p = {"epsilon": 1.0, "delta": 1e-9, "rho": 0.0105, "neighbours": "add/remove", "seeded": True}
    text = privacy_statement(p)
    assert text.startswith("Differentially private: epsilon 1, delta 1e-9, add/remove one record, via zCDP")
    assert "seed stays secret" in text
    assert "trusted" in privacy_statement({**p, "trusted_domains": True})
    assert privacy_statement(None).startswith("No formal guarantee")
    rows = dict(privacy_details({**p, "details": {"budget_parts": {"model": {"rho": 0.01}}}, "noise": "x"}))
    assert rows == {"details / budget parts / model / rho": "0.010", "noise": "x"}


def test_flags_in_notes_read_well_from_python():
    assert param_words("skipped: needs a holdout (--holdout)") == (
        "skipped: needs a holdout (holdout=, or --holdout on the command line)"
    )
    assert "seed=" in param_words("seeded from --seed so") and "--seed" in param_words("seeded from --seed")
    assert param_words("no flag here") == "no flag here"


@given(st.text(max_size=40))
def test_slugs_are_ids_without_spaces(text):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug(text))


def test_outline_gives_unique_ids_and_a_nested_table_of_contents():
    o = Outline()
    heads = [
        o.heading(2, "Utility"),
        o.heading(3, "Marginals"),
        o.heading(2, "Utility"),
        o.heading(3, "x", toc=False),
    ]
    assert [re.search(r"id='([^']+)'", h).group(1) for h in heads] == [
        "utility",
        "marginals",
        "utility-2",
        "x",
    ]
    toc = o.toc()
    assert toc.count("<ol>") == 2 and toc.count("</ol>") == 2 and toc.count("<li>") == 3
    assert "href='#x'" not in toc
