"""The risk half of the verdict rule the reports apply: a risk verdict is read at the pessimistic end of its
interval (and of the spread over repeats), and says so."""

import pytest

from anonlab.evaluation import verdicts as V


def test_issue_example_is_no_longer_low():
    # "anonymeter inference risk 0.000 [0.000, 0.214] LOW" with high >= 0.2
    v = V.anonymeter_verdict("inference", 0.0, (0.0, 0.214), None)
    assert v.verdict == "high"
    assert v.reason.startswith("not ruled out") and "0.214" in v.reason
    assert v.value == "0.000 [0.000, 0.214]"


@pytest.mark.parametrize(
    ("value", "ci", "expected"),
    [
        (0.0, (0.0, 0.03), "low"),
        (0.01, (0.0, 0.06), "moderate"),
        (0.25, (0.21, 0.29), "high"),
        (0.1, (0.04, 0.16), "moderate"),
    ],
)
def test_anonymeter_at_the_upper_end(value, ci, expected):
    assert V.anonymeter_verdict("linkability", value, ci, None).verdict == expected


def test_membership_auc_at_the_upper_end_and_the_spread():
    assert V.auc_verdict("distance", 0.505, (0.49, 0.52), 0.01).verdict == "low"
    assert V.auc_verdict("distance", 0.52, (0.49, 0.56), 0.01).verdict == "moderate"
    assert V.auc_verdict("distance", 0.99, (0.98, 1.0), 0.9).verdict == "high"
    v = V.auc_verdict("distance", 0.53, (0.50, 0.56), 0.01, spread=(0.49, 0.53), repeats=5)
    assert v.verdict == "moderate" and "pessimistic" in v.reason and "5 seeds" in v.reason
    assert V.auc_verdict("d", float("nan"), (0.4, 0.6), 0.0).verdict == "n/a"


def test_dcr_share_at_the_upper_end():
    assert V.share_verdict(0.50, (0.49, 0.51), 0.5).verdict == "low"
    assert V.share_verdict(0.52, (0.48, 0.56), 0.5).verdict == "moderate"
    assert V.share_verdict(0.97, (0.96, 0.98), 0.5).verdict == "high"


def test_the_rule_says_it_in_words():
    assert "pessimistic (upper) end" in V.RISK_RULE and "spread" in V.RISK_RULE
    assert V.RULE == f"{V.UTILITY_RULE} {V.RISK_RULE}"
    assert "baselines" in V.UTILITY_RULE
