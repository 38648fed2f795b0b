"""The table of parts: every part runs through one contract, and a part that fails is reported, never raised."""

import pytest

from anonlab.evaluation import PARTS, EvaluationConfig, PartResult, evaluate
from anonlab.evaluation.parts import TABLE, Part, part, run_part
from anonlab.evaluation.report.sections import SECTIONS


def test_the_table_names_every_part_once_in_order():
    assert PARTS == (
        "marginals",
        "associations",
        "tstr",
        "quality",
        "dcr",
        "membership",
        "anonymeter",
        "assess",
    )
    assert [p.name for p in TABLE] == list(PARTS)
    assert {p.kind for p in TABLE} == {"utility", "risk"}
    assert set(SECTIONS) == set(PARTS)  # the report renders each part by the same table
    assert part("tstr").kind == "utility" and part("dcr").kind == "risk"
    with pytest.raises(Exception, match="unknown evaluation part 'nope'"):
        part("nope")


def test_a_part_that_raises_becomes_not_computed_with_its_reason():
    def boom(ctx):
        raise ValueError("no luck\nsecond line")

    res = run_part(Part("membership", "risk", "Membership", boom), ctx=None)
    assert isinstance(res, PartResult) and not res.computed and res.value is None
    assert res.skipped_reason == "ValueError: no luck"
    (v,) = res.verdicts
    assert (v.metric, v.verdict, v.kind, v.reason) == (
        "membership",
        "n/a",
        "risk",
        "not computed: ValueError: no luck",
    )
    assert res.notes == ("membership not computed: ValueError: no luck",)
    assert res.seconds >= 0


@pytest.fixture(scope="module")
def small(splits):
    return {k: v.iloc[:400].reset_index(drop=True) for k, v in splits.items()}


def test_a_failing_metric_leaves_the_other_parts_standing(small, monkeypatch):
    import anonlab.evaluation.metrics.distance as D

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(D, "distance_to_closest", boom)
    cfg = EvaluationConfig(skip=("anonymeter", "quality", "tstr"))
    ev = evaluate(small["train"], small["independent"], small["holdout"], config=cfg, seed=1)
    assert ev.dcr is None and not ev.parts["dcr"].computed
    assert ev.membership is not None and ev.marginal(2) is not None
    assert "dcr not computed: RuntimeError: disk on fire" in ev.notes
    frame = ev.to_frame()
    row = frame[frame.part == "dcr"].iloc[0]
    assert row.verdict == "n/a" and row.reason == "not computed: RuntimeError: disk on fire"


def test_parts_that_do_not_apply_say_why(small):
    cfg = EvaluationConfig(skip=("anonymeter", "quality", "tstr"))
    ev = evaluate(small["train"], small["independent"], config=cfg, seed=1)  # no holdout
    assert list(ev.parts) == [p for p in PARTS if p not in cfg.skip]
    assert ev.parts["membership"].skipped_reason == "it needs a holdout of at least 4 records"
    assert ev.parts["assess"].skipped_reason.startswith("the release is not generalised")
    rows = {r["part"]: r for r in ev.rows() if r["value"] is None}
    assert rows["membership"]["reason"] == "not computed: it needs a holdout of at least 4 records"
    assert rows["tstr"]["reason"] == "not computed: left out (config skip)"


def test_skipping_a_part_leaves_the_others_figures_unchanged(small):
    """Parts draw from one generator in table order; leaving out a later part changes nothing before it."""
    full = EvaluationConfig(skip=("anonymeter", "quality"))
    fewer = EvaluationConfig(skip=("anonymeter", "quality", "membership"))
    a = evaluate(small["train"], small["independent"], small["holdout"], config=full, seed=4)
    b = evaluate(small["train"], small["independent"], small["holdout"], config=fewer, seed=4)
    assert a.dcr == b.dcr and a.tstr == b.tstr and a.marginals == b.marginals
