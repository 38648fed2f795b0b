"""The frontier's Pareto front."""

from anonlab.evaluation.report.plots import pareto_front


def test_pareto_front():
    rows = [{"r": 0.9, "u": 1.0}, {"r": 0.5, "u": 0.8}, {"r": 0.6, "u": 0.7}, {"r": 0.5, "u": 0.6}]
    assert pareto_front(rows, "r", "u") == [rows[1], rows[0]]
