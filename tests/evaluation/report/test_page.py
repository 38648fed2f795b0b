"""The HTML report is one self-contained file: it parses, every image is an embedded PNG, nothing points out."""

import pytest

from anonlab.evaluation.evaluate import EvaluationConfig, evaluate
from anonlab.evaluation.report import evaluation_html


@pytest.fixture(scope="module")
def html_text(splits):
    cfg = EvaluationConfig(skip=("anonymeter", "quality"), tstr_rows=1000)
    train = splits["train"].copy()
    train.loc[0, "occupation"] = "<script>alert(1)</script>"  # data text must be escaped
    ev = evaluate(train, splits["independent"], splits["holdout"], config=cfg, seed=1)
    return evaluation_html(ev)


def test_evaluation_report_is_self_contained(html_text, check_self_contained):
    p = check_self_contained(html_text)
    assert len(p.images) >= 4  # distributions, worst marginals, 3 association heat maps
    assert "<script>" not in html_text
    for heading in ("Verdicts", "Privacy spent", "Utility", "Risk"):
        assert heading in html_text
    assert "membership AUC (distance)" in html_text
