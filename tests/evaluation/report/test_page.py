"""The HTML report is one self-contained file a person can read: it parses, every image is an embedded PNG,
nothing points out, the table of contents resolves, a DP release's section shows no seed and states its privacy
in words."""

import re

import pytest

from anonlab.evaluation.evaluating import EvaluationConfig, evaluate
from anonlab.evaluation.report import evaluation_html

PRIVACY = {
    "epsilon": 1.0,
    "delta": 1e-9,
    "rho": 0.0149,
    "neighbours": "add/remove one record",
    "seeded": False,
    "trusted_domains": False,
    "details": {"ledger": "no ledger", "budget_parts": {"binning": {"epsilon": 0.3, "rho": 0.0015}}},
}


@pytest.fixture(scope="module")
def html_text(splits):
    cfg = EvaluationConfig(skip=("anonymeter", "quality"), tstr_rows=1000)
    train = splits["train"].copy()
    train.loc[0, "occupation"] = "<script>alert(1)</script>"  # data text must be escaped
    ev = evaluate(train, splits["independent"], splits["holdout"], config=cfg, seed=1)
    return evaluation_html(ev)


@pytest.fixture(scope="module")
def dp_html(splits):
    cols = ["age", "sex", "race", "education", "income-per-year"]
    real, release, hold = (splits[k].loc[:299, cols] for k in ("train", "independent", "holdout"))
    cfg = {"skip": ["anonymeter", "quality", "tstr", "associations"]}
    ev = evaluate(real, release, hold, config=cfg, seed=12345, privacy=PRIVACY, label="mst eps=1")
    return ev, evaluation_html(ev)


def test_evaluation_report_is_self_contained(html_text, check_self_contained):
    p = check_self_contained(html_text)
    assert len(p.images) >= 4  # distributions, worst marginals, 3 association heat maps
    assert "<script>" not in html_text
    for heading in ("Verdicts", "Privacy", "Utility", "Risk", "Contents"):
        assert heading in html_text
    assert "membership AUC (distance)" in html_text
    assert html_text.count("<style>") == 1  # one stylesheet for the page


def test_table_of_contents_links_resolve_to_slug_ids(html_text):
    ids = re.findall(r"id='([^']*)'", html_text)
    links = re.findall(r"href='#([^']*)'", html_text)
    assert len(links) >= 8 and set(links) <= set(ids)
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids), ids


def test_each_part_says_what_it_means_and_the_rule_in_words(html_text):
    assert html_text.count("What this means.") >= 6  # verdicts, privacy and every computed part
    assert "Verdict rule." in html_text and "Risk rule." in html_text
    assert "pessimistic (upper) end" in html_text
    assert "An AUC of 0.51 means" in html_text


def test_tables_scroll_inside_their_own_box(html_text):
    assert html_text.count("<table>") == html_text.count("<div class='scroll'><table>")


def test_dp_release_states_privacy_in_words_and_shows_no_seed(dp_html):
    ev, text = dp_html
    assert "epsilon 1, delta 1e-9, add/remove one record, via zCDP" in text
    assert '{"' not in text and "{&quot;" not in text  # no raw JSON
    assert "0.000 " not in re.sub(r"<[^>]+>", " ", text).split("Privacy")[1][:400]  # delta is not 0.000
    assert "12345" not in text and "seed not shown" in text
    assert "How the budget was split" in text


def test_a_part_left_out_or_not_computed_says_why(splits):
    cols = ["age", "sex", "income-per-year"]
    real, release = (splits[k].loc[:199, cols] for k in ("train", "independent"))
    ev = evaluate(real, release, config={"skip": ["anonymeter", "quality", "tstr", "associations"]}, seed=3)
    text = evaluation_html(ev)
    assert "Not computed: left out of this evaluation" in text
    # a note that names a flag reads well from Python too
    assert "holdout=, or --holdout on the command line" in text
