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
from anonlab.privacy.stats import answers, grid, release
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
    a = _run(df, schema, q, tmp_path, seed=4_242_424_242_4242)
    b = _run(df, schema, q, tmp_path, seed=4_242_424_242_4242)
    assert [x.rows for x in a.answers] == [x.rows for x in b.answers]
    assert a.noise["seeded"] is True and "42424242424242" not in str(a.to_dict())


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
    half = answers.half_width(mech, scale)
    cover = np.mean(np.abs(z) <= half)
    assert 0.94 <= cover <= 0.97


def _count_outputs(n_rows, reps, plan, ns):
    df = pd.DataFrame({"a": np.zeros(n_rows)})
    q = st.parse_query("count")
    return (
        np.array([answers.answer(q, len(df), None, plan, ns, []).rows[0]["value"] for _ in range(reps)]) - 100
    )


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

    with pytest.raises(InputError, match="column 'v'") as info:
        _run(df, schema, ["sum:v"], tmp_path, delta=0.0, ledger=led)
    # a refusal on content names the column only: never the value or its row (both are private)
    assert "two" not in str(info.value) and "row 2" not in str(info.value)
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


# -- queries are validated when built (issue 11, item 10) ---------------------------------------------------------


@pytest.mark.parametrize(
    "kind,columns,levels",
    [
        ("sums", ("income",), ()),  # unknown kind
        ("Sum", ("income",), ()),
        (5, (), ()),
        ("sum", (), ()),  # missing column
        ("mean", ("age", "income"), ()),
        ("count", ("age",), ()),
        ("counts", (), ()),
        ("counts", ("sex", "sex"), ()),
        ("counts", ("",), ()),
        ("counts", (3,), ()),
        ("quantile", ("age",), ()),  # no level
        ("quantile", ("age",), (0.0,)),
        ("quantile", ("age",), (1.0,)),
        ("quantile", ("age",), (1.5,)),
        ("quantile", ("age",), (float("nan"),)),
        ("quantile", ("age",), (True,)),
        ("quantile", ("age",), ("0.5",)),
        ("quantile", ("age",), (0.5, 0.5)),
        ("mean", ("age",), (0.5,)),  # levels on a non-quantile
    ],
)
def test_query_is_validated_on_construction(kind, columns, levels):
    with pytest.raises(UsageError):
        st.Query(kind, columns, levels)


def test_query_canonical_text_and_normalisation():
    q = st.Query("quantile", ["age"], [np.float64(0.25), 0.5])
    assert q.columns == ("age",) and q.levels == (0.25, 0.5) and q.text == "quantile:age:0.25,0.5"
    assert st.parse_query("median:age").canonical == st.Query("quantile", ("age",), (0.5,)).canonical
    assert st.Query("sum", "income").columns == ("income",)


def test_bad_query_through_the_python_api_leaves_the_ledger_unchanged(table, tmp_path):
    df, _, schema = table
    path = tmp_path / "api.jsonl"
    led = Ledger.create(path, epsilon=1.0, delta=1e-6)
    before = path.read_bytes()
    for build in (
        lambda: [st.Query("sums", ("income",))],
        lambda: [st.Query("quantile", ("age",), ())],
        lambda: [st.Query("sum", ())],
        lambda: ["count", object()],
    ):
        with pytest.raises(UsageError):
            st.run_stats(df, Schema.read(schema), build(), epsilon=0.5, delta=1e-7, ledger=led)
    assert path.read_bytes() == before and Ledger.open(path).entries == []


# -- what a release publishes (issue 11, items 2 and 9) ------------------------------------------------------------

_ALL_KINDS = [
    "count",
    "counts:sex,city",
    "counts:age",
    "sum:income",
    "sum:age",
    "mean:income",
    "mean:age",
    "quantile:age:0.25,0.5",
    "median:income",
]
SECRET_SEED = 8_675_309_123


def _neighbour(df, out_of_domain):
    """D' = D plus one record; in the out-of-domain variant every value of it lies outside the public domain."""
    extra = (
        {"age": 150, "sex": "Q", "city": None, "income": 5e9, "zip": "9999", "note": "x"}
        if out_of_domain
        else {"age": 40, "sex": "F", "city": "Oslo", "income": 50000.0, "zip": "0150", "note": "x"}
    )
    return pd.concat([df, pd.DataFrame([extra])], ignore_index=True)


def _differing_leaves(a, b, allow):
    from anonlab.privacy.artifact import leaf_paths

    la, lb = dict(leaf_paths(a)), dict(leaf_paths(b))
    assert la.keys() == lb.keys()
    dp = set(allow.dp_outputs(a)) | set(allow.dp_outputs(b))
    return {p: (la[p], lb[p]) for p in la if p not in dp and la[p] != lb[p]}


@pytest.mark.parametrize("out_of_domain", [False, True])
@pytest.mark.parametrize("with_ledger", [True, False])
def test_neighbouring_datasets_differ_only_in_dp_outputs(
    table, tmp_path, monkeypatch, out_of_domain, with_ledger
):
    """D and D' (one record added) with the same secret seed: every report field that is not a DP output is
    identical, and no report holds the seed, either table's fingerprint or an exact count."""
    import json
    import warnings

    from anonlab.privacy.ledger import dataset_fingerprint

    df, _, schema_path = table
    schema = Schema.read(schema_path)
    reports = []
    for name, data in (("a", df), ("b", _neighbour(df, out_of_domain))):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)  # the same relative ledger path in both runs
        led = Ledger.create("led.jsonl", epsilon=10.0, delta=1e-5) if with_ledger else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = st.run_stats(
                data,
                schema,
                [st.parse_query(q) for q in _ALL_KINDS],
                epsilon=2.0,
                delta=1e-6,
                ledger=led,
                noise=NoiseSource(SECRET_SEED),
            )
        reports.append(res.to_dict())
    assert _differing_leaves(*reports, st.STATS_ALLOW) == {}
    text = json.dumps(reports)
    assert str(SECRET_SEED) not in text
    assert (
        dataset_fingerprint(df) not in text and dataset_fingerprint(_neighbour(df, out_of_domain)) not in text
    )
    assert "dataset" not in text
    # the values did come from the data: the DP outputs of D and D' are not all equal
    a_values = [r["value"] for x in reports[0]["answers"] for r in x["rows"]]
    b_values = [r["value"] for x in reports[1]["answers"] for r in x["rows"]]
    assert a_values != b_values


def test_report_fields_are_all_on_the_allow_list(table, tmp_path):
    from anonlab.privacy.artifact import ArtifactError, leaf_paths, published

    df, _, schema = table
    rep = _run(df, schema, _ALL_KINDS, tmp_path).to_dict()
    kinds = {st.STATS_ALLOW.kind(p) for p, _ in leaf_paths(rep)}
    assert kinds == {"public", "dp"}
    # the fingerprint, a seed, an exact count or a time would be refused, not written
    for extra in ({"dataset": "ab" * 32}, {"seed": 1}, {"rows_read": 400}, {"seconds": 1.5}):
        with pytest.raises(ArtifactError):
            published({**rep, "ledger": {**rep["ledger"], **extra}}, st.STATS_ALLOW)
        with pytest.raises(ArtifactError):
            published({**rep, "privacy": {**rep["privacy"], **extra}}, st.STATS_ALLOW)
    with pytest.raises(UsageError, match="seed"):
        st.run_stats(
            df, Schema.read(schema), ["count"], epsilon=1, delta=0, ledger=None, parameters={"seed": 5}
        )


def test_no_ledger_warns_and_says_so(table, tmp_path):
    from anonlab.errors import PrivacyWarning

    df, _, schema = table
    with pytest.warns(PrivacyWarning, match="no ledger"):
        res = st.run_stats(df, Schema.read(schema), ["count"], epsilon=1.0, delta=0.0, ledger=None)
    rep = res.to_dict()
    assert rep["privacy"]["ledger"] == "no ledger" and "ledger" not in rep
    with pytest.warns(PrivacyWarning):
        pv = st.preview_stats(df, Schema.read(schema), ["count"], epsilon=1.0, delta=0.0, ledger=None)
    assert pv["privacy"]["ledger"] == "no ledger"
    led = Ledger.create(tmp_path / "w.jsonl", epsilon=2, delta=0)
    rep = _run(df, schema, ["count"], tmp_path, delta=0.0, ledger=led).to_dict()
    assert rep["privacy"]["ledger"] == str(tmp_path / "w.jsonl") and rep["ledger"]["entry"] == 1


def test_preview_holds_no_fingerprint(table, tmp_path):
    from anonlab.privacy.ledger import dataset_fingerprint

    df, _, schema = table
    led = Ledger.create(tmp_path / "p.jsonl", epsilon=2, delta=1e-6)
    pv = st.preview_stats(df, Schema.read(schema), _ALL_KINDS, epsilon=1.0, delta=1e-7, ledger=led)
    assert dataset_fingerprint(df) not in str(pv) and "dataset" not in str(pv)


# -- seeded noise streams (issue 11, item 6) ----------------------------------------------------------------------


def _stream_of(monkeypatch, table, tmp_path, **change):
    """The first draws of the noise stream a seeded, ledger-less release derives (its parameters changed by
    ``change``)."""
    import warnings

    df, _, schema_path = table
    args = {
        "df": df,
        "schema": Schema.read(schema_path),
        "queries": ["count", "sum:age"],
        "epsilon": 1.0,
        "delta": 1e-6,
        "trust_domains": False,
    }
    args.update(change)
    seen = []
    real = release._release_noise

    def spy(noise, params, fingerprint, seq):
        out = real(noise, params, fingerprint, seq)
        probe = real(noise, params, fingerprint, seq)  # an identical stream, drawn from here only
        seen.append([probe.uniform_int(2**62) for _ in range(4)])
        return out

    monkeypatch.setattr(release, "_release_noise", spy)
    df = args.pop("df")
    schema = args.pop("schema")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = st.run_stats(df, schema, ledger=None, noise=NoiseSource(SECRET_SEED), **args)
    monkeypatch.setattr(release, "_release_noise", real)
    return seen[0], res


def test_seeded_releases_differing_in_one_parameter_do_not_share_noise(table, tmp_path, monkeypatch):
    df, _, schema_path = table
    base, res = _stream_of(monkeypatch, table, tmp_path)
    again, res2 = _stream_of(monkeypatch, table, tmp_path)
    assert (
        base == again and res.to_dict()["answers"] == res2.to_dict()["answers"]
    )  # the same release reproduces
    other_schema = Schema.read(schema_path).to_toml().replace("upper = 100000.0", "upper = 200000.0")
    changes = {
        "epsilon": {"epsilon": 1.5},
        "delta": {"delta": 1e-7},
        "queries": {"queries": ["sum:age", "count"]},
        "trust": {"trust_domains": True},
        "schema": {"schema": Schema.from_toml(other_schema)},  # differs in a column no query uses
        "data": {"df": df.iloc[::-1]},  # the same people in another order: another fingerprint
    }
    streams = {name: _stream_of(monkeypatch, table, tmp_path, **c)[0] for name, c in changes.items()}
    for name, s in streams.items():
        assert s != base, name
    assert len({tuple(s) for s in streams.values()}) == len(streams)


def test_seeded_releases_without_a_ledger_differing_only_in_trust_draw_other_noise(table, tmp_path):
    """Without a ledger there is no sequence number: the parameters alone must separate the streams, or the
    difference of the two releases would be noise-free."""
    import warnings

    df, _, schema = table
    out = []
    for trust in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = st.run_stats(
                df,
                Schema.read(schema),
                ["counts:age"],
                epsilon=1.0,
                delta=1e-6,
                ledger=None,
                trust_domains=trust,
                noise=NoiseSource(SECRET_SEED),
            )
        out.append(np.array([r["value"] for r in res.answers[0].rows]))
    assert np.any(out[0] != out[1])


# -- float sums are exact on a public grid (issue 11, item 12) -----------------------------------------------------


def test_float_sums_are_exact_on_the_public_grid():
    from anonlab.schema import Column

    col = Column("v", type="float", lower=-3.0, upper=1000.0)
    k, lo, hi = grid.bounds_units(col)
    assert 2.0 ** (k + st.GRID_BITS) <= 1000.0 < 2.0 ** (k + st.GRID_BITS + 1)
    rng = np.random.default_rng(1)  # test data only
    x = np.clip(rng.normal(500, 400, 20_000) * rng.choice([1.0, 1e-9], 20_000), -3.0, 1000.0)
    units = grid.units(x, k)
    assert lo <= units.min() and units.max() <= hi  # rounding keeps every value inside the rounded bounds
    total = grid.exact_sum(units)
    assert total == sum(int(u) for u in units)  # exact integer arithmetic
    assert grid.exact_sum(grid.units(x[::-1], k)) == total  # whatever the order (a float sum is not)
    assert abs(total * 2.0**k - float(np.sum(x, dtype=np.longdouble))) <= x.size * 2.0 ** (k - 1)


def test_integer_sums_stay_whole_numbers_and_float_sums_name_their_grid(table, tmp_path):
    df, _, schema = table
    res = _run(df, schema, ["sum:age", "sum:income", "mean:income"], tmp_path, eps=1e5)
    age, income, mean = res.answers
    assert isinstance(age.rows[0]["value"], int) and age.mechanism == "discrete_gaussian"
    assert income.mechanism == "discrete_gaussian on the fixed-point grid 2^-16"
    assert income.rows[0]["value"] == pytest.approx(df.income.sum(), abs=6 * income.scale)
    assert "grid 2^-17" in mean.mechanism and mean.rows[0]["value"] == pytest.approx(
        df.income.mean(), rel=1e-3
    )
    assert any("clamped" in n for n in income.notes)


def test_preview_is_the_same_on_neighbouring_datasets(table, tmp_path, monkeypatch):
    df, _, schema = table
    previews = []
    for name, data in (("a", df), ("b", _neighbour(df, True))):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        led = Ledger.create("led.jsonl", epsilon=5.0, delta=1e-6)
        previews.append(
            st.preview_stats(data, Schema.read(schema), _ALL_KINDS, epsilon=1.0, delta=1e-7, ledger=led)
        )
    assert previews[0] == previews[1]


def test_seeded_stream_is_the_shared_release_stream(table, monkeypatch):
    """dp stats draws from NoiseSource.for_release(seed, "dp stats", all parameters, fingerprint, ledger seq)."""
    from anonlab.privacy.ledger import dataset_fingerprint

    df, _, schema_path = table
    schema = Schema.read(schema_path)
    seen = {}
    real = release._release_noise

    def spy(noise, params, fingerprint, seq):
        seen.update(params=params, fingerprint=fingerprint, seq=seq)
        return real(noise, params, fingerprint, seq)

    monkeypatch.setattr(release, "_release_noise", spy)
    with pytest.warns(Warning):
        res = st.run_stats(
            df, schema, ["counts:age"], epsilon=1.0, delta=0.0, ledger=None, noise=NoiseSource(SECRET_SEED)
        )
    assert seen["fingerprint"] == dataset_fingerprint(df) and seen["seq"] is None
    p = seen["params"]
    assert p["queries"] == ["counts:age"] and p["epsilon"] == 1.0 and p["delta"] == 0.0
    assert p["schema"] == schema.fingerprint() and p["trust_domains"] is False and "missing" in p
    ref = NoiseSource.for_release(SECRET_SEED, "dp stats", p, dataset_fingerprint(df), None)
    exact = answers.table_counts(
        st.parse_query("counts:age"), schema.subset(["age"]).coerce(df[["age"]]), schema
    )
    plan = st.plan_stats(["counts:age"], 1.0, 0.0)
    again = answers.answer(st.parse_query("counts:age"), exact, schema, plan, ref, [])
    assert [r["value"] for r in again.rows] == [r["value"] for r in res.answers[0].rows]
