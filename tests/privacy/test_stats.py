"""DP statistics: query parsing, public domains, full contingency tables, accuracy at large epsilon, intervals,
charging before noise, and an end-to-end audit of the count query with a deliberate calibration bug."""

import numpy as np
import pandas as pd
import pytest

from anonlab.errors import BudgetExceededError, PrivacyError, SchemaError, UsageError
from anonlab.privacy import stats as st
from anonlab.privacy.audit import audit_outputs, threshold_events
from anonlab.privacy.ledger import Ledger
from anonlab.privacy.noise import NoiseSource
from anonlab.schema import Schema


def _run(df, schema_path, queries, tmp_path, eps=1.0, delta=1e-6, seed=1, trust=False, ledger=None):
    led = ledger or Ledger.create(
        tmp_path / f"l{np.random.default_rng().integers(1e9)}.jsonl", epsilon=1e6, delta=0.5
    )
    return st.run_stats(
        df,
        Schema.read(schema_path),
        [st.parse_query(q) for q in queries],
        epsilon=eps,
        delta=delta,
        ledger=led,
        trust_domains=trust,
        noise=NoiseSource(seed),
    )


@pytest.mark.parametrize(
    "text,kind,cols,levels",
    [
        ("count", "count", (), ()),
        ("counts:a,b", "counts", ("a", "b"), ()),
        ("sum:x", "sum", ("x",), ()),
        ("mean: x", "mean", ("x",), ()),
        ("median:x", "quantile", ("x",), (0.5,)),
        ("quantile:x:0.1,0.9", "quantile", ("x",), (0.1, 0.9)),
    ],
)
def test_parse_query(text, kind, cols, levels):
    q = st.parse_query(text)
    assert (q.kind, q.columns, q.levels) == (kind, cols, levels)


@pytest.mark.parametrize(
    "bad", ["", "cnt", "sum:", "sum:a,b", "quantile:x:1.5", "quantile:x", "counts:a,a", "mean"]
)
def test_parse_query_refuses(bad):
    with pytest.raises(UsageError):
        st.parse_query(bad)


def test_counts_cover_the_full_public_product_including_absent_categories(table, tmp_path):
    df, _, schema = table
    res = _run(df, schema, ["counts:sex,city"], tmp_path, eps=1e4)
    rows = res.answers[0].rows
    assert len(rows) == 9
    groups = {(r["group"]["sex"], r["group"]["city"]): r["value"] for r in rows}
    truth = df.groupby(["sex", "city"]).size()
    for (s, c), v in groups.items():
        assert abs(v - truth.get((s, c), 0)) <= 2
    assert ("X", "Tromso") in groups


def test_integer_counts_use_every_value_in_bounds(table, tmp_path):
    df, _, schema = table
    res = _run(df, schema, ["counts:age"], tmp_path, eps=1e4)
    assert len(res.answers[0].rows) == 101


def test_accuracy_at_large_epsilon(table, tmp_path):
    df, _, schema = table
    res = _run(
        df,
        schema,
        ["count", "sum:age", "mean:income", "median:age", "quantile:income:0.25"],
        tmp_path,
        eps=1e5,
    )
    a = {x.query: x.rows[0]["value"] for x in res.answers}
    assert a["count"] == pytest.approx(len(df), abs=2)
    assert a["sum:age"] == pytest.approx(df.age.sum(), abs=5)
    assert a["mean:income"] == pytest.approx(df.income.mean(), rel=1e-3)
    assert a["median:age"] == pytest.approx(df.age.median(), abs=1)
    assert a["quantile:income:0.25"] == pytest.approx(df.income.quantile(0.25), rel=0.01)


def test_clamping_to_public_bounds(tmp_path):
    df = pd.DataFrame({"v": [1000.0] * 50})
    schema = tmp_path / "s.toml"
    schema.write_text('[columns.v]\ntype = "float"\nlower = 0.0\nupper = 10.0\n')
    res = _run(df, schema, ["mean:v", "sum:v"], tmp_path, eps=1e5)
    assert res.answers[0].rows[0]["value"] == pytest.approx(10.0, abs=0.01)
    assert res.answers[1].rows[0]["value"] == pytest.approx(500.0, abs=1)


def test_from_data_domain_refused_unless_trusted_and_recorded(table, tmp_path):
    df, _, schema = table
    with pytest.raises(PrivacyError, match="from_data"):
        _run(df, schema, ["counts:zip"], tmp_path)
    led = Ledger.create(tmp_path / "t.jsonl", epsilon=10, delta=1e-5)
    res = _run(df, schema, ["counts:zip"], tmp_path, trust=True, ledger=led)
    assert res.trusted_domains == ["zip"]
    assert Ledger.open(tmp_path / "t.jsonl").entries[0].details["trusted_domains"] == ["zip"]


def test_bad_columns(table, tmp_path):
    df, _, schema = table
    with pytest.raises(SchemaError, match="nope"):
        _run(df, schema, ["sum:nope"], tmp_path)
    with pytest.raises(UsageError, match="text"):
        _run(df, schema, ["counts:note"], tmp_path)
    with pytest.raises(UsageError):
        _run(df, schema, ["mean:sex"], tmp_path)


def test_seed_reproduces_answers(table, tmp_path):
    df, _, schema = table
    q = ["count", "counts:sex", "mean:income", "median:age"]
    a = _run(df, schema, q, tmp_path, seed=42)
    b = _run(df, schema, q, tmp_path, seed=42)
    assert [x.rows for x in a.answers] == [x.rows for x in b.answers]
    assert a.noise["seeded"] is True and "42" not in str(a.to_dict()["privacy"])


def test_charged_before_any_noise_is_drawn(table, tmp_path, monkeypatch):
    df, _, schema = table
    led = Ledger.create(tmp_path / "small.jsonl", epsilon=0.5, delta=0.0)
    before = (tmp_path / "small.jsonl").read_bytes()

    def boom(*a, **k):
        raise AssertionError("noise drawn before the budget check")

    monkeypatch.setattr(NoiseSource, "discrete_laplace", boom)
    monkeypatch.setattr(NoiseSource, "_discrete_laplace_one", boom)
    with pytest.raises(BudgetExceededError, match="left"):
        _run(df, schema, ["count"], tmp_path, eps=1.0, delta=0.0, ledger=led)
    assert (tmp_path / "small.jsonl").read_bytes() == before


def test_budget_split_is_exact(table, tmp_path):
    plan = st.plan_stats([st.parse_query(q) for q in ["count", "mean:x", "quantile:x:0.1,0.5"]], 1.0, 1e-6)
    assert plan.measurements == 5 and plan.mode == "zcdp"
    assert plan.per_measurement * 5 == pytest.approx(plan.rho)
    pure = st.plan_stats([st.parse_query("count")], 0.3, 0.0)
    assert pure.mode == "pure" and pure.per_measurement == 0.3


@pytest.mark.parametrize(
    "mech,scale", [("discrete_gaussian", 3.0), ("discrete_laplace", 2.0), ("gaussian", 2.0), ("laplace", 1.5)]
)
def test_noise_intervals_cover_95_percent(mech, scale):
    from anonlab.privacy.mechanisms import gaussian, laplace

    ns = NoiseSource(3)
    f = gaussian if "gaussian" in mech else laplace
    integer = mech.startswith("discrete")
    z = f(np.zeros(4000, dtype=np.int64 if integer else float), scale, integer=integer, noise=ns).value
    half = st._half_width(mech, scale)
    cover = np.mean(np.abs(z) <= half)
    assert 0.94 <= cover <= 0.97


def _count_outputs(n_rows, reps, plan, ns):
    df = pd.DataFrame({"a": np.zeros(n_rows)})
    q = st.parse_query("count")
    return np.array([st._answer_count(q, len(df), plan, ns, []).rows[0]["value"] for _ in range(reps)]) - 100


@pytest.mark.parametrize("bug", [False, True])
def test_audit_of_the_count_query_as_wired(bug, monkeypatch):
    """End-to-end: the count query's calibration from the user's epsilon. With bug=True the plan hands each
    measurement twice the epsilon it was given (a factor-2 scale bug); the audit must catch it."""
    if bug:
        real = st.plan_stats

        def buggy(queries, epsilon, delta):
            p = real(queries, epsilon, delta)
            return st.Plan(p.epsilon, p.delta, p.mode, p.rho, p.per_measurement * 2, p.measurements)

        monkeypatch.setattr(st, "plan_stats", buggy)
    plan = st.plan_stats([st.parse_query("count")], 1.0, 0.0)
    ns = NoiseSource(2026)
    out_a = _count_outputs(100, 2000, plan, ns)
    out_b = _count_outputs(101, 2000, plan, ns)
    res = audit_outputs(out_a, out_b, threshold_events([1]), claimed_epsilon=1.0, alpha=1e-3)
    assert res.passed is (not bug), res.to_dict()


@pytest.mark.parametrize("seed", [None, 5])
@pytest.mark.parametrize("delta", [0.0, 1e-6])
def test_measured_cost_never_exceeds_the_charge(table, tmp_path, seed, delta):
    df, _, schema = table
    queries = ["count", "counts:sex,city", "sum:income", "mean:age", "quantile:age:0.1,0.5,0.9"]
    res = _run(df, schema, queries, tmp_path, eps=0.7, delta=delta, seed=seed)
    m = res.measured
    if delta:
        assert m["rho"] <= m["charged_rho"] * (1 + 1e-12) and m["rho"] == pytest.approx(m["charged_rho"])
    else:
        assert m["epsilon"] <= m["charged_epsilon"] * (1 + 1e-12) and m["epsilon"] == pytest.approx(0.7)


def test_unseeded_noise_source_integer_noise():
    z = NoiseSource().discrete_laplace(2.0, 500)
    assert len(z) == 500 and all(isinstance(v, int) for v in z)


def test_missing_values_and_nullable_integers(tmp_path):
    df = pd.DataFrame({"v": pd.array([1, None, 3, 500], dtype="Int64")})
    schema = tmp_path / "s.toml"
    schema.write_text('[columns.v]\ntype = "integer"\nlower = 0\nupper = 10\n')
    res = _run(df, schema, ["sum:v", "mean:v", "median:v", "counts:v"], tmp_path, eps=1e5)
    assert res.answers[0].rows[0]["value"] == pytest.approx(14, abs=1)
    assert len(res.answers[3].rows) == 11


def test_bad_data_fails_before_the_charge(tmp_path):
    df = pd.DataFrame({"v": ["1", "two", "3"]})
    schema = tmp_path / "s.toml"
    schema.write_text('[columns.v]\ntype = "integer"\nlower = 0\nupper = 10\n')
    led = Ledger.create(tmp_path / "l.jsonl", epsilon=1.0, delta=0.0)
    from anonlab.errors import InputError

    with pytest.raises(InputError, match="row 2"):
        _run(df, schema, ["sum:v"], tmp_path, delta=0.0, ledger=led)
    assert Ledger.open(tmp_path / "l.jsonl").entries == []


def test_two_releases_with_one_seed_do_not_share_noise(table, tmp_path):
    """Same seed, different queries: the noise must differ, or (count - count of a subset) would be exact."""
    df, _, schema = table
    led = Ledger.create(tmp_path / "s.jsonl", epsilon=100, delta=1e-5)
    a = _run(df, schema, ["count"], tmp_path, eps=1.0, seed=9, ledger=led).answers[0].rows[0]["value"] - len(
        df
    )
    b = _run(df, schema, ["count"], tmp_path, eps=1.0, seed=9, ledger=led).answers[0].rows[0]["value"] - len(
        df
    )
    c = _run(df, schema, ["counts:sex"], tmp_path, eps=1.0, seed=9, ledger=led).answers[0].rows[0]["value"]
    truth_f = int((df.sex == "F").sum())
    assert len({a, b, c - truth_f}) > 1
