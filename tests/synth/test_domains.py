"""DP domain discovery (anonlab.synth.domains) and the approximate-zCDP accounting it needs in the ledger.

A schema whose domains were read from the data (``from_data = true``) is, by default, discovered with DP in a DP
fit: categories by a thresholded noisy histogram of the observed values (stable keys), bounds by a thresholded
histogram on a public grid. The whole fit is then (rho, delta_keys)-approximate zCDP, charged once.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from anonlab.cli import main
from anonlab.errors import BudgetExceededError, PrivacyError, PrivacyWarning, UsageError
from anonlab.privacy.accounting import rho_for, zcdp_epsilon
from anonlab.privacy.artifact import leaf_paths
from anonlab.privacy.ledger import Ledger
from anonlab.privacy.noise import NoiseSource
from anonlab.schema import Column, Schema, infer_schema
from anonlab.synth import Budget, get_method
from anonlab.synth.artifacts import manifest_allow, summary_allow
from anonlab.synth.domains import (
    DEFAULT_DELTA_SHARE,
    DEFAULT_DOMAIN_SHARE,
    MARGINAL_DOMAIN_SHARE,
    OTHER,
    discover_domains,
    discrete_gaussian_tail,
    number_grid,
    plan_domains,
    threshold_for,
)

MISSING = object()


@pytest.fixture(autouse=True)
def _no_ledger_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        yield


# -- the ledger: approximate zCDP ---------------------------------------------------------------------------
def test_zcdp_ledger_converts_at_the_total_delta_less_the_extras(tmp_path):
    p = tmp_path / "l.jsonl"
    Ledger.create(p, epsilon=1.0, delta=1e-6)
    led = Ledger.open(p)
    full = rho_for(1.0, 1e-6)
    # a release that spends 2e-7 of delta on keys leaves only rho_for(1, 8e-7) for all the rho
    cap = rho_for(1.0, 8e-7)
    assert cap < full
    with pytest.raises(BudgetExceededError):
        led.check(epsilon=1.0, delta=1e-6, rho=(cap + full) / 2, delta_extra=2e-7)
    entry = led.charge(
        what="keys", mechanism="gaussian", epsilon=1.0, delta=1e-6, rho=cap * 0.6, delta_extra=2e-7
    )
    assert entry.delta_extra == 2e-7 and entry.to_dict()["delta_extra"] == 2e-7
    led = Ledger.open(p)  # persisted and read back (checksums and the charged cost agree)
    assert led.entries[0].delta_extra == 2e-7
    assert led.remaining_rho() == pytest.approx(cap * 0.4)
    assert led.spent().epsilon == pytest.approx(zcdp_epsilon(cap * 0.6, 8e-7))
    # a plain zCDP release must now fit in what the extra delta left
    with pytest.raises(BudgetExceededError):
        led.charge(what="more", mechanism="gaussian", epsilon=1.0, delta=1e-6, rho=cap * 0.5)
    led.charge(what="more", mechanism="gaussian", epsilon=1.0, delta=1e-6, rho=cap * 0.39)


def test_zcdp_ledger_refuses_a_release_whose_extra_delta_passes_the_total(tmp_path):
    p = tmp_path / "l.jsonl"
    Ledger.create(p, epsilon=10.0, delta=1e-6)
    led = Ledger.open(p)
    led.charge(what="a", mechanism="gaussian", epsilon=1.0, delta=9e-7, rho=1e-4, delta_extra=6e-7)
    # rho is tiny, but the two extras (1.2e-6) pass the ledger's delta: nothing is left to convert at
    with pytest.raises(BudgetExceededError):
        led.charge(what="b", mechanism="gaussian", epsilon=1.0, delta=9e-7, rho=1e-4, delta_extra=6e-7)
    assert len(Ledger.open(p).entries) == 1


def test_delta_extra_needs_a_rho_and_fits_in_the_release_delta(tmp_path):
    p = tmp_path / "l.jsonl"
    Ledger.create(p, epsilon=1.0, delta=1e-6)
    led = Ledger.open(p)
    with pytest.raises(UsageError, match="delta_extra"):
        led.charge(what="x", mechanism="m", epsilon=0.5, delta=1e-7, rho=None, delta_extra=1e-8)
    with pytest.raises(UsageError, match="delta_extra"):
        led.charge(what="x", mechanism="m", epsilon=0.5, delta=1e-7, rho=1e-3, delta_extra=1e-7)
    assert not Ledger.open(p).entries


def test_basic_ledger_adds_the_deltas_and_replace_one_scales_the_extra(tmp_path):
    p = tmp_path / "b.jsonl"
    Ledger.create(p, epsilon=2.0, delta=1e-6, accounting="basic")
    led = Ledger.open(p)
    led.charge(what="a", mechanism="gaussian", epsilon=1.0, delta=5e-7, rho=0.01, delta_extra=1e-7)
    assert led.spent().delta == pytest.approx(5e-7)  # the release's delta already holds its extra
    with pytest.raises(BudgetExceededError):
        led.charge(what="b", mechanism="gaussian", epsilon=0.5, delta=6e-7, rho=0.001, delta_extra=1e-7)
    q = tmp_path / "r.jsonl"
    Ledger.create(q, epsilon=5.0, delta=1e-5, neighbours="replace-one", population_size=100)
    led = Ledger.open(q)
    e = led.charge(what="a", mechanism="gaussian", epsilon=1.0, delta=1e-6, rho=0.01, delta_extra=1e-7)
    assert e.charged_cost.delta_extra == pytest.approx((1 + math.e) * 1e-7)
    assert Ledger.open(q).entries[0].charged_cost.rho == pytest.approx(0.04)


# -- the mechanism --------------------------------------------------------------------------------------------
def test_discrete_gaussian_tail_is_exact():
    sigma = 3.0
    z = np.arange(-200, 201)
    w = np.exp(-(z**2) / (2 * sigma**2))
    w /= w.sum()
    for t in (1, 3, 7, 12):
        assert discrete_gaussian_tail(t, sigma) == pytest.approx(w[z >= t].sum(), rel=1e-9)
    tau = threshold_for(sigma, 1e-6)
    assert discrete_gaussian_tail(tau - 1, sigma) <= 1e-6 < discrete_gaussian_tail(tau - 2, sigma)
    # large scales fall back to a conservative bound
    assert discrete_gaussian_tail(6e5, 1e5) >= stats.norm.sf(6.0)


def _plan(schema, epsilon=1.0, delta=1e-9, **kw):
    return plan_domains(schema, Budget(epsilon, delta), zcdp=True, **kw)


def test_budget_split_is_documented_and_adds_up():
    schema = Schema((Column("c", "other", "categorical", categories=("a",), from_data=True),))
    plan = _plan(schema)
    dk = DEFAULT_DELTA_SHARE * 1e-9
    assert plan.delta_keys == pytest.approx(dk)
    assert plan.total_rho == pytest.approx(rho_for(1.0, 1e-9 - dk))
    assert plan.rho == pytest.approx(DEFAULT_DOMAIN_SHARE * plan.total_rho)
    assert plan.remainder.rho == pytest.approx(plan.total_rho - plan.rho)
    assert zcdp_epsilon(plan.total_rho, 1e-9 - dk) <= 1.0 + 1e-9
    assert plan.sigma >= math.sqrt(1 / (2 * plan.rho))
    # (epsilon, delta) methods: basic composition of the two parts
    basic = plan_domains(schema, Budget(1.0, 1e-9), zcdp=False)
    assert basic.remainder.epsilon == pytest.approx(1 - DEFAULT_DOMAIN_SHARE)
    assert basic.remainder.delta == pytest.approx((1 - DEFAULT_DELTA_SHARE) * 1e-9)
    assert basic.total_rho is None
    # public columns are never touched; no data-read column, no plan
    assert plan_domains(schema.trusting(), Budget(1.0, 1e-9), zcdp=True) is None
    with pytest.raises(PrivacyError, match="delta"):
        plan_domains(schema, Budget(1.0, 0.0), zcdp=True)


def test_common_categories_are_found_and_a_unique_one_is_released_at_most_at_rate_delta():
    schema = Schema((Column("c", "other", "categorical", categories=("a", "b", "u"), from_data=True),))
    frame = pd.DataFrame({"c": ["a"] * 4000 + ["b"] * 3000 + ["u"]})
    # a large delta share makes the rate measurable: delta_keys = 0.05
    plan = _plan(schema, epsilon=1.0, delta=0.5)
    rate = discrete_gaussian_tail(plan.tau - 1, plan.sigma)
    assert rate <= plan.delta_keys == pytest.approx(0.05)
    runs, seen = 600, 0
    for _ in range(runs):  # unseeded: OpenDP's samplers
        found, released, keep = discover_domains(frame, schema, plan, NoiseSource(None))
        cats = found["c"].categories
        assert {"a", "b"} <= set(cats) and found["c"].from_data is False
        seen += "u" in cats
    # consistent with the exact probability: not above it (beyond chance), and not vacuously far below it
    assert stats.binom.sf(seen - 1, runs, plan.delta_keys) > 1e-4
    assert stats.binom.cdf(seen, runs, rate) > 1e-4
    # at the default shares a category held by one record essentially never appears
    plan = _plan(schema)
    assert plan.delta_keys <= 1e-10 * (1 + 1e-9)
    for s in range(20):
        found, _, _ = discover_domains(frame, schema, plan, NoiseSource(s))
        assert "u" not in found["c"].categories


def test_missing_key_and_records_left_out():
    schema = Schema(
        (
            Column("c", "other", "categorical", categories=("a", "b"), from_data=True, missing=True),
            Column("d", "other", "categorical", categories=("x", "y"), from_data=True, missing=False),
            Column("n", "other", "integer", lower=0, upper=9, from_data=True, missing=True),
        )
    )
    n = 6000
    frame = pd.DataFrame(
        {
            "c": ["a"] * 3000 + [None] * 3000,
            "d": ["y"] + ["x"] * (n - 1),
            "n": pd.array([3] * (n - 1) + [None], dtype="Int64"),
        }
    )
    plan = _plan(schema)
    found, released, keep = discover_domains(frame, schema, plan, NoiseSource(1))
    assert released["c"]["missing"] is True and found["c"].allows_missing
    # d's unique "y" is not released: it becomes the "other" category; d's "missing" key is not kept, so d gets
    # no missing code (nothing missing can be made up there)
    assert found["d"].categories == ("x", OTHER) and released["d"]["other"] == OTHER
    assert released["d"]["missing"] is False and not found["d"].allows_missing
    # n's one missing value is not released: n gets no missing code and that record leaves the fit
    assert found["n"].missing is False and keep.sum() == n - 1 and not keep[-1]
    assert keep[0]  # the record holding "y" stays (coded "other" in d)
    # with missing=False (public: no value is missing) no column has a missing code: the records with a missing c
    # leave the fit too; the record holding "y" stays ("other" is no missing value)
    _, _, keep = discover_domains(frame, schema, plan, NoiseSource(1), missing_codes=False)
    assert keep[0] and keep.sum() == 3000


def test_bounds_cover_the_bulk_of_the_data():
    rng = np.random.default_rng(0)
    n = 20000
    frame = pd.DataFrame(
        {
            "income": np.round(rng.lognormal(10, 1, n)).astype(np.int64),
            "temp": rng.normal(-3.0, 8.0, n),
            "born": (pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 15000, n), unit="D")),
        }
    )
    schema = infer_schema(frame)
    assert all(c.from_data for c in schema)
    plan = _plan(schema)
    found, released, _ = discover_domains(schema.coerce(frame), schema, plan, NoiseSource(3))
    for name in ("income", "temp"):
        col = found[name]
        inside = frame[name].between(col.lower, col.upper).mean()
        assert inside > 0.98, (name, col.lower, col.upper)
        assert col.lower > -1e12 and col.upper < 1e12
    born = found["born"]
    assert born.lower.year % 5 == 0 and born.lower.month == 1 and born.lower.day == 1
    dates = pd.to_datetime(frame["born"]).dt.date
    assert ((dates >= born.lower) & (dates <= born.upper)).mean() > 0.98
    # clean values: edges of the public 1-2-5 grid
    grid = set(number_grid(True).tolist())
    assert found["income"].lower in grid and found["income"].upper + 1 in grid
    # a float column's decimals are a fact read from the data: the draft's are never passed on, they are
    # discovered with DP (their own histogram over the public keys 0..6 and "more")
    assert found["temp"].decimals is None and released["temp"]["decimals"] is None  # full precision: "more"
    two = infer_schema(frame.assign(temp=frame["temp"].round(2)))
    assert two["temp"].decimals == 2
    plan2 = _plan(two)
    assert plan2.decimals_of == ("temp",) and plan2.to_dict()["decimals_of"] == ["temp"]
    found2, released2, _ = discover_domains(
        two.coerce(frame.assign(temp=frame["temp"].round(2))), two, plan2, NoiseSource(3)
    )
    assert found2["temp"].decimals == 2 and released2["temp"]["decimals"] == 2
    # the draft's own decimals play no part: a draft claiming 5 still discovers 2
    five = two.replace_column(dataclasses.replace(two["temp"], decimals=5))
    rounded = five.coerce(frame.assign(temp=frame["temp"].round(2)))
    assert discover_domains(rounded, five, _plan(five), NoiseSource(3))[0]["temp"].decimals == 2


def test_values_spread_thinly_over_a_decade_still_widen_the_bounds():
    """Fair's affairs: 0 in two thirds of the rows, the rest spread over cells each below the cells' threshold; the
    bounds used to stop at [0, 1e-06) and clamp a third of the column there. Runs of WINDOW cells now count
    together (their own threshold, same chance of a spurious cell)."""
    from anonlab.synth.domains import WINDOW, _kept_windows

    probe = _plan(infer_schema(pd.DataFrame({"x": np.arange(1000) * 0.5})))
    each = int(0.8 * probe.tau_cells)  # every cell alone falls short, any three together pass
    assert 3 * each > probe.tau_window + 1.5 * math.sqrt(3) * probe.grid_sigma and WINDOW == 3
    values = [0.0] * (4 * each)
    for lo in (1.0, 2.0, 5.0, 10.0, 20.0):  # five 1-2-5 cells: [1, 2), [2, 5), [5, 10), [10, 20), [20, 50)
        values += [lo + 0.5] * each
    frame = pd.DataFrame({"x": values})
    schema = infer_schema(frame)
    plan = _plan(schema)
    assert plan.tau_cells == probe.tau_cells and plan.tau_window == probe.tau_window
    found, released, _ = discover_domains(schema.coerce(frame), schema, plan, NoiseSource(7))
    assert found["x"].lower == 0.0 and found["x"].upper >= 20.0, released["x"]
    # the same noise with single cells only stops short (the old rule)
    single = dataclasses.replace(plan, tau_window=None)
    assert discover_domains(schema.coerce(frame), schema, single, NoiseSource(7))[0]["x"].upper < 20.0
    assert plan.to_dict()["threshold_window"] == plan.tau_window
    # a run of empty cells passes only by noise: with the plan's threshold, not in 2,000 runs of noise alone
    rng = np.random.default_rng(0)
    noise_only = rng.normal(0, plan.grid_sigma, (2000, 80))
    assert not any(_kept_windows(row, plan.tau_window).any() for row in noise_only)


def test_decimal_places_per_value_and_the_precision_histogram_costs_a_histogram():
    from anonlab.synth.domains import MAX_DECIMALS, decimal_places

    x = np.array([0.0, 3.0, 3.5, 3.258096, 4.61512, 1 / 3, -2.25, 1e6 + 0.5])
    assert decimal_places(x).tolist() == [0, 0, 1, 6, 5, MAX_DECIMALS + 1, 2, 1]
    frame = pd.DataFrame({"a": np.arange(5000) % 7 + 0.5, "b": np.arange(5000) % 5})
    schema = infer_schema(frame)
    plan = _plan(schema)
    # two histograms (bounds, precision) for the float column, one for the integer: sigma as for three columns
    assert plan.decimals_of == ("a",)
    assert plan.sigma == pytest.approx(math.sqrt(3 / (2 * plan.rho)), rel=1e-9)
    assert plan.grid_sigma == plan.sigma  # no categories: the grids get the whole share


def test_grids_get_less_noise_budget_than_categories_and_the_parts_add_up_to_rho():
    from anonlab.synth.domains import CELL_WEIGHT

    frame = pd.DataFrame(
        {
            "c": np.arange(5000) % 3,
            "a": np.arange(5000) % 7 + 0.5,
            "b": np.arange(5000) % 5,
            "d": ["x"] * 5000,
        }
    ).astype({"c": str})
    plan = _plan(infer_schema(frame))
    assert dict(plan.columns) == {"c": "keys", "a": "cells", "b": "cells", "d": "keys"}
    assert plan.grid_sigma == pytest.approx(plan.sigma / math.sqrt(CELL_WEIGHT))
    # two category histograms at sigma, three grid histograms (a's bounds and precision, b's bounds) at sigma_cells
    spent = 2 / (2 * plan.sigma**2) + 3 / (2 * plan.grid_sigma**2)
    assert spent <= plan.rho and spent == pytest.approx(plan.rho, rel=1e-9)
    # the categories' noise is what equal shares would give to 2 + 3 * CELL_WEIGHT histograms, not 5
    assert plan.sigma == pytest.approx(math.sqrt((2 + 3 * CELL_WEIGHT) / (2 * plan.rho)), rel=1e-9)
    assert plan.to_dict()["sigma_cells"] == plan.grid_sigma


# -- a fit ------------------------------------------------------------------------------------------------------
def _frame(n=3000, seed=0, extra=None):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "job": rng.choice(["clerk", "nurse", "teacher"], n),
            "age": rng.integers(18, 80, n),
            "score": rng.normal(50, 10, n),
        }
    )
    if extra is not None:
        df = pd.concat([df, pd.DataFrame([extra])], ignore_index=True)
    return df


def test_fit_discovers_by_default_and_charges_the_ledger_once(tmp_path):
    df = _frame()
    schema = infer_schema(df)
    p = tmp_path / "l.jsonl"
    Ledger.create(p, epsilon=5.0, delta=1e-6)
    led = Ledger.open(p)
    m = get_method("mst")(seed=1, iters=50).fit(df, schema, Budget(1.0, 1e-9), ledger=led)
    entries = Ledger.open(p).entries
    assert len(entries) == 1
    e = entries[0]
    dom = e.details["domains"]
    assert dom["columns"] == ["job", "age", "score"] and dom["mode"] == "discover"
    assert e.delta_extra == pytest.approx(dom["delta_keys"]) and e.delta_extra > 0
    assert e.rho == pytest.approx(rho_for(1.0, 1e-9 - e.delta_extra))
    assert e.epsilon == pytest.approx(1.0) and e.delta == 1e-9
    rec = m.privacy_
    assert rec.epsilon == 1.0 and rec.delta == 1e-9 and rec.rho == pytest.approx(e.rho)
    # MST and AIM reuse the discovery's counts, and give it a larger default share than the other methods
    assert rec.details["budget_parts"]["domains"]["rho"] == pytest.approx(MARGINAL_DOMAIN_SHARE * e.rho)
    assert get_method("napsu").default_domain_share() == DEFAULT_DOMAIN_SHARE < MARGINAL_DOMAIN_SHARE
    assert set(rec.details["discovered_domains"]["job"]["categories"]) == {"clerk", "nurse", "teacher", OTHER}
    assert not rec.trusted_domains
    s = m.summary()
    assert s["domains"] == "discovered (DP)"
    out = m.sample(500, seed=2)
    assert set(out["job"].dropna()) <= {"clerk", "nurse", "teacher", OTHER}
    lo, hi = rec.details["discovered_domains"]["age"]["bounds"]
    assert out["age"].between(lo, hi).all() and lo <= 20 and hi >= 70
    # the other modes: trust (the alias) and refuse; public schemas are untouched
    t = get_method("mst")(seed=1, iters=50, trust_domains=True).fit(df, schema, Budget(1.0, 1e-9))
    assert t.summary()["domains"] == "trusted (read from the data)" and t.privacy_.trusted_domains
    with pytest.raises(PrivacyError, match="trust-domains"):
        get_method("mst")(domains="refuse").fit(df, schema, Budget(1.0, 1e-9))
    with pytest.raises(UsageError):
        get_method("mst")(domains="guess")
    with pytest.raises(UsageError, match="contradict"):
        get_method("mst")(domains="discover", trust_domains=True)
    with pytest.raises(UsageError, match="domain share"):
        get_method("mst")(domain_share=1.5)
    half = get_method("mst")(seed=1, iters=50, domain_share=0.5).fit(df, schema, Budget(1.0, 1e-9))
    assert half.privacy_.details["budget_parts"]["domains"]["rho"] == pytest.approx(0.5 * e.rho)
    pub = get_method("mst")(seed=1, iters=50).fit(df, schema.trusting(), Budget(1.0, 1e-9))
    assert pub.summary()["domains"] == "public" and "domains" not in pub.privacy_.details.get(
        "budget_parts", {}
    )


def test_unkept_categories_become_other_never_missing(tmp_path):
    """A discovered categorical column's rare values are coded "(other)" (not missing): a column without missing
    values gets none in the release, the rare values' share comes back as "(other)", and the saved model keeps
    the label."""
    rng = np.random.default_rng(3)
    n = 6000
    common = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]).astype(object)
    rare = np.array(
        [f"r{i}" for i in range(600)], dtype=object
    )  # 600 values of one record each: never released
    common[:600] = rare
    df = pd.DataFrame({"cat": common, "x": rng.integers(0, 5, n)})
    schema = infer_schema(df)
    m = get_method("mst")(seed=1, iters=100, epsilon=2.0).fit(df, schema)
    found = m.privacy_.details["discovered_domains"]["cat"]
    assert found["other"] == OTHER and found["categories"][-1] == OTHER and found["missing"] is False
    coding = m.encoding_.columns[m.encoding_.names.index("cat")]
    assert coding.other == OTHER and not coding.missing
    out = m.sample(6000, seed=2)
    assert out["cat"].notna().all()
    assert set(out["cat"]) <= {"a", "b", "c", OTHER}
    assert 0.05 < (out["cat"] == OTHER).mean() < 0.15  # the rare values' 10%
    path = m.save(tmp_path / "m.zip")
    back = get_method("mst").load(path)
    assert back.encoding_.columns[0].other == OTHER
    assert set(back.sample(300, seed=1)["cat"]) <= {"a", "b", "c", OTHER}


def _agree(a, b, allow, what):
    la, lb = dict(leaf_paths(a)), dict(leaf_paths(b))
    for path in la.keys() | lb.keys():
        assert allow.kind(path) is not None, f"{what}: {path} is on no allow-list"
    dp = set(allow.dp_outputs(a)) | set(allow.dp_outputs(b))
    for path in sorted((la.keys() | lb.keys()) - dp):
        assert la.get(path, MISSING) == lb.get(path, MISSING), f"{what}: public field {path!r} differs"


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_neighbouring_tables_with_a_unique_category_agree_on_every_public_field(tmp_path, method):
    if method == "aim":
        pytest.importorskip("networkx")
    d = _frame(n=1500)
    d2 = _frame(n=1500, extra={"job": "astronaut-7731", "age": 44, "score": 51.0})
    schema = infer_schema(d2)  # the operator's draft schema holds the unique value: it must not leak
    assert "astronaut-7731" in schema["job"].categories
    params = {"iters": 50} if method == "mst" else {"rounds": 4, "iters": 50, "round_iters": 20}
    recs = {}
    for name, df in (("D", d), ("D'", d2)):
        m = get_method(method)(seed=3918273645, **params).fit(df, schema, Budget(1.0, 1e-9))
        path = m.save(tmp_path / f"{name}.model")
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
        recs[name] = {"summary": m.summary(), "manifest": manifest}
        text = json.dumps(recs[name])
        assert "astronaut" not in text
        assert "clerk" in m.privacy_.details["discovered_domains"]["job"]["categories"]
        assert (
            m.summary()["schema_sha256"] != schema.fingerprint()
        )  # the data-read schema's hash is not published
    allows = {
        "summary": summary_allow(method, True),
        "manifest": manifest_allow(method, True, discovered=True),
    }
    for kind, allow in allows.items():
        _agree(recs["D"][kind], recs["D'"][kind], allow, f"{method} {kind}")


def test_cli_discovers_by_default_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _frame(n=2000).to_csv("in.csv", index=False)
    assert main(["schema", "infer", "in.csv", "-o", "schema.toml"]) == 0
    capsys.readouterr()
    base = ["synth", "in.csv", "--schema", "schema.toml", "--method", "mst", "--epsilon", "1", "--no-ledger"]
    assert main([*base, "-o", "a.csv", "--quiet"]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "discovered with DP" in ln]
    assert len(lines) == 1
    car = json.loads(Path("a.csv.json").read_text())
    # how rare is too rare: the plan's public threshold, said where categories are discovered
    tau = car["privacy"]["details"]["budget_parts"]["domains"]["threshold"]
    assert f"fewer than about {tau} rows" in lines[0]
    assert car["domains"] == "discovered (DP)"
    assert "job" in car["privacy"]["details"]["discovered_domains"]
    assert main([*base, "-o", "b.csv", "--quiet", "--trust-domains"]) == 0
    assert "discovered with DP" not in capsys.readouterr().err
    assert json.loads(Path("b.csv.json").read_text())["domains"] == "trusted (read from the data)"
    assert main([*base, "-o", "c.csv", "--domains", "refuse"]) == 2
    err = capsys.readouterr().err
    assert "--trust-domains" in err and err.count("\n") == 1
    assert main([*base, "-o", "c.csv", "--domains", "discover", "--trust-domains"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert main([*base, "-o", "d.csv", "--quiet", "--domain-share", "0.3"]) == 0
    capsys.readouterr()
    assert (
        json.loads(Path("d.csv.json").read_text())["privacy"]["details"]["budget_parts"]["domains"]["share"]
        == 0.3
    )
    assert main([*base, "-o", "e.csv", "--domain-share", "1"]) == 2
    assert "domain share" in capsys.readouterr().err


def _tv2(real: pd.DataFrame, synth: pd.DataFrame) -> float:
    from anonlab.evaluation.metrics.discretise import Discretiser
    from anonlab.evaluation.metrics.tv import marginal_tvd

    kinds = {c: "numeric" if pd.api.types.is_numeric_dtype(real[c]) else "categorical" for c in real.columns}
    disc = Discretiser(kinds).fit(real)
    card = {c: disc.cardinality(c) for c in kinds}
    return marginal_tvd(disc.transform(real), disc.transform(synth), card, 2).mean_tvd


@pytest.mark.slow
def test_adult_default_path_discovery_is_close_to_trusting(tmp_path, monkeypatch, capsys):
    """End to end on Adult: `schema infer`, then `synth --method mst --epsilon 1 --no-ledger` with DP domain
    discovery (the default) and with --trust-domains: the 2-way TV is not much worse (figures in docs/synth.md)."""
    from anonlab.datasets import load_adult
    from anonlab.io import read_table

    monkeypatch.chdir(tmp_path)
    load_adult().to_csv("adult.csv", index=False)
    assert main(["schema", "infer", "adult.csv", "-o", "schema.toml"]) == 0
    base = [
        "synth",
        "adult.csv",
        "--schema",
        "schema.toml",
        "--method",
        "mst",
        "--epsilon",
        "1",
        "--no-ledger",
    ]
    tvs = {}
    for name, extra in (("discover", []), ("trust", ["--trust-domains"])):
        tv = []
        for seed in (1, 2):
            out = f"{name}{seed}.csv"
            assert main([*base, *extra, "-o", out, "--seed", str(seed), "--quiet"]) == 0
            tv.append(_tv2(read_table("adult.csv"), read_table(out)))
        tvs[name] = float(np.mean(tv))
    capsys.readouterr()
    print(f"mean 2-way TV: discover {tvs['discover']:.4f}, trust {tvs['trust']:.4f}")
    assert tvs["discover"] <= tvs["trust"] * 1.25 + 0.01


# -- the discovery's counts as a one-way measurement -------------------------------------------------------------
def test_combine_is_the_inverse_variance_mean_and_ignores_unmeasured_cells():
    from anonlab.synth.estimation import Measurement, combine

    a = Measurement((0,), np.array([10.0, 20.0, 30.0]), 2.0)
    b = Measurement((0,), np.array([14.0, 0.0, 26.0]), 1.0, var_scale=np.array([1.0, 1e12, 4.0]))
    c = combine(a, b)
    # cell 0: variances 4 and 1 -> weights 1/5, 4/5; cell 1: b unmeasured; cell 2: variances 4 and 4
    assert c.y == pytest.approx([13.2, 20.0, 28.0])
    assert (c.sigma**2 * c.var_scale) == pytest.approx([0.8, 4.0, 2.0])
    with pytest.raises(ValueError, match="same marginal"):
        combine(a, Measurement((1,), a.y, 1.0))


def test_domain_measurement_follows_the_codes_and_leaves_other_unmeasured():
    from anonlab.synth.domains import UNMEASURED, domain_measurement
    from anonlab.synth.encoding import ColumnCoding

    found = {
        "categories": ("a", "c", OTHER),
        "counts": [40.0, 7.0],
        "missing": 5.0,
        "other": OTHER,
        "sigma": 3.0,
    }
    coding = ColumnCoding("x", "categorical", labels=("a", "c", OTHER), missing=True)
    m = domain_measurement(coding, found, 4)
    assert m.clique == (4,) and m.sigma == 3.0
    assert m.y.tolist() == [40.0, 7.0, 0.0, 5.0]
    assert m.var_scale.tolist() == [1.0, 1.0, UNMEASURED, 1.0]
    # "missing" not kept: the column has no missing code, or its code is not measured
    no_missing = {**found, "missing": None}
    assert domain_measurement(replace_coding(coding, missing=False), no_missing, 0).y.tolist() == [
        40.0,
        7.0,
        0.0,
    ]
    assert domain_measurement(coding, no_missing, 0).var_scale[-1] == UNMEASURED
    # a public "other" label that is also a kept value: its count is not the cell's (unkept values join it)
    labelled = {**found, "categories": ("a", "rest"), "counts": [40.0, 9.0], "other": "rest"}
    m2 = domain_measurement(
        ColumnCoding("x", "categorical", labels=("a", "rest"), missing=False), labelled, 0
    )
    assert m2.var_scale.tolist() == [1.0, UNMEASURED]
    # a coding that is not the discovered list is not measured
    assert (
        domain_measurement(ColumnCoding("x", "categorical", labels=("a",), missing=False), found, 0) is None
    )


def replace_coding(coding, **kw):
    return dataclasses.replace(coding, **kw)


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_discovery_counts_sharpen_the_fitted_category_shares(method):
    """With most of the budget on the discovery, a category's share in the model is as precise as the discovery's
    noise, not as the synthesizer's own (far noisier) one-way measurement: the counts are combined in."""
    rng = np.random.default_rng(5)
    n = 4000
    job = rng.choice(["clerk", "nurse", "teacher", "vet", "pilot"], n, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    df = pd.DataFrame({"job": job, "town": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2])})
    schema = infer_schema(df)
    real = pd.Series(job).value_counts()
    errors = {}
    for reuse in (True, False):
        errs = []
        for seed in range(4):
            m = get_method(method)(seed=seed, domain_share=0.9, select_share=0.0, compress=False)
            if not reuse:
                m._with_discovery = lambda ms: ms  # the synthesizer's own measurement alone
            m.fit(df, schema, Budget(0.3, 1e-9))
            j = m.encoding_.names.index("job")
            probs = m.model_.marginal((j,))
            labels = m.encoding_.columns[j].labels
            model = pd.Series(probs[: len(labels)] * m.model_.total, index=labels)
            errs.append(float(np.abs(model.reindex(real.index) - real).mean()))
        errors[reuse] = np.mean(errs)
    assert errors[True] < 0.7 * errors[False]


def test_marginal_methods_give_a_larger_default_share_only_where_categories_are_discovered():
    mst = get_method("mst")
    assert mst.default_domain_share(True) == MARGINAL_DOMAIN_SHARE
    assert mst.default_domain_share(False) == DEFAULT_DOMAIN_SHARE
    df = _frame()[["age", "score"]]
    m = mst(seed=1, iters=50).fit(df, infer_schema(df), Budget(1.0, 1e-9))
    assert m.privacy_.details["budget_parts"]["domains"]["share"] == DEFAULT_DOMAIN_SHARE
