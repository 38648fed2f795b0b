"""The DP density inside bins: its cost, its sensitivity, and that decoding keeps Adult's point masses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonlab.datasets import load_adult
from anonlab.privacy.noise import NoiseSource
from anonlab.synth.density import _children, measure_density, plan_density, sample_within
from anonlab.synth.encoding import ColumnCoding, Encoding

ADULT = [
    ("age", 17, 90, 1.0),
    ("fnlwgt", 0, 1_500_000, 1.0),
    ("capital-gain", 0, 99_999, 1.0),
    ("capital-loss", 0, 4_999, 1.0),
    ("hours-per-week", 1, 99, 1.0),
]


def test_the_plan_costs_what_opendp_charges(monkeypatch):
    # every level's release is an OpenDP Gaussian; their costs, summed as OpenDP's own maps state them, must
    # equal the plan's rho (the figure the ledger is charged before any noise)
    import anonlab.privacy.mechanisms as mech

    costs = []
    real = mech.gaussian

    def spy(*a, **k):
        rel = real(*a, **k)
        costs.append(rel.cost.rho)
        return rel

    monkeypatch.setattr(mech, "gaussian", spy)
    plan = plan_density(ADULT, 0.0015)
    df = load_adult()
    calls_per_column = []
    for name, *_ in ADULT:
        before = len(costs)
        measure_density(df[name].to_numpy(float), plan, name, NoiseSource())
        calls_per_column.append(len(costs) - before)
    # a descent may stop early (nothing left to expand), never go deeper than planned
    assert all(c <= lv for c, lv in zip(calls_per_column, plan.levels, strict=True))
    per_level = plan.sensitivity**2 / (2 * plan.sigma**2)
    assert costs == pytest.approx([per_level] * len(costs), rel=1e-9)
    assert per_level * sum(plan.levels) == pytest.approx(plan.rho, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 999), min_size=1, max_size=40), st.integers(0, 999))
def test_one_record_moves_one_count_per_level(xs, extra):
    # add/remove sensitivity 1 per level whichever nodes are expanded: the children partition their parents
    left, right = np.array([0.0]), np.array([1000.0])
    for _ in range(3):
        cl, cr, _ = _children(left, right, True)
        assert np.all(cl[1:] >= cr[:-1])  # disjoint and sorted
        a = np.asarray(sorted(xs), dtype=float)
        b = np.sort(np.append(a, extra))
        ca = np.searchsorted(a, cr) - np.searchsorted(a, cl)
        cb = np.searchsorted(b, cr) - np.searchsorted(b, cl)
        assert np.abs(cb - ca).sum() <= 1
        left, right = cl, cr


def test_decoding_keeps_adult_point_masses():
    df = load_adult()
    plan = plan_density(ADULT, 0.0015)  # a tenth of the rho of epsilon 1, delta 1e-9
    rng = np.random.default_rng(0)
    for name, lo, hi, _ in ADULT:
        x = df[name].to_numpy(float)
        coding = ColumnCoding.from_column(_col(name, lo, hi), bins=32, missing=False)
        cells = measure_density(x, plan, name, NoiseSource(3).fork(name))
        dense = ColumnCoding(**{**coding.__dict__, "density": tuple(map(tuple, cells))})
        codes = dense.encode(df[name])[0]
        uniform = coding.decode(codes, rng).to_numpy()
        kept = dense.decode(codes, rng).to_numpy()
        assert np.all(
            dense.encode(__import__("pandas").Series(kept))[0] == codes
        )  # every value stays in its bin
        top = df[name].value_counts(normalize=True)
        if top.iloc[0] > 0.3:  # hours-per-week == 40, capital-gain == 0, capital-loss == 0
            v = top.index[0]
            assert abs((kept == v).mean() - top.iloc[0]) < 0.05, name
            assert (uniform == v).mean() < top.iloc[0] / 2


def test_density_round_trips_through_the_model_encoding():
    coding = ColumnCoding("x", "float", edges=(0.0, 0.5, 1.0), density=((0.0, 0.25, 10.0), (0.25, 1.0, 2.0)))
    enc = Encoding((coding,))
    assert Encoding.from_dict(enc.to_dict()) == enc


def test_empty_bins_fall_back_to_uniform():
    cells = np.array([[0.0, 10.0, 5.0]])
    v = sample_within(cells, np.full(100, 20.0), np.full(100, 30.0), 1.0, 0.0, 99.0, np.random.default_rng(1))
    assert v.min() >= 20 and v.max() <= 29 and len(np.unique(v)) > 3


def _col(name, lo, hi):
    from anonlab.schema import Column

    return Column(name, type="integer", lower=lo, upper=hi)


def test_float_values_are_written_with_the_schemas_decimals():
    # nyc weather's visibility is 10.00 in 84% of hours: drawn inside the top bin it must come back as 10.0
    from anonlab.schema import Column

    col = Column("visib", type="float", lower=0.0, upper=10.0, decimals=2)
    coding = ColumnCoding.from_column(col, bins=8, missing=False)
    cells = ((9.99, 10.01, 100.0),)  # the grid values 9.99 and 10.00
    dense = ColumnCoding(**{**coding.__dict__, "density": cells})
    v = dense.decode(np.full(200, 7), np.random.default_rng(0)).to_numpy()
    assert np.all(v == np.round(v, 2)) and (v == 10.0).mean() > 0.4
    assert Encoding.from_dict(Encoding((dense,)).to_dict()).columns[0].decimals == 2


def test_float_atoms_inside_the_range_come_back_exactly():
    # randhie's log coinsurance takes five values (0, 3.258097, ...) typed float with 6 decimals: drawn on the
    # column's value grid they come back as those values, not as 3.258093
    from anonlab.schema import Column

    rng = np.random.default_rng(4)
    atoms = np.array([0.0, 3.258097, 3.931826, 4.564348, 4.61512])
    x = rng.choice(atoms, size=8000, p=[0.54, 0.2, 0.07, 0.13, 0.06])
    col = Column("lncoins", type="float", lower=0.0, upper=4.61512, decimals=6)
    coding = ColumnCoding.from_column(col, bins=32, missing=False)
    plan = plan_density([("lncoins", 0.0, 4.61512, 1e-6)], 0.002)
    cells = measure_density(x, plan, "lncoins", NoiseSource(2).fork("x"))
    dense = ColumnCoding(**{**coding.__dict__, "density": tuple(map(tuple, cells))})
    v = dense.decode(dense.encode(__import__("pandas").Series(x))[0], rng).to_numpy()
    for a in atoms:
        assert abs((v == a).mean() - (x == a).mean()) < 0.02, a


def test_a_skewed_column_keeps_its_shape_inside_a_wide_bin():
    # txhousing's monthly sales: 60% of the mass inside the first of 32 equal-width bins, thinly spread; a density
    # whose thin cells were each below the noise must still spread that mass evenly, not in random spikes
    rng = np.random.default_rng(5)
    x = np.round(np.exp(rng.normal(5.2, 1.2, 8000))).clip(6, 8945)
    plan = plan_density([("sales", 6, 8945, 1.0), *[(f"c{i}", 0, 1e9, 1.0) for i in range(4)]], 0.0015)
    cells = measure_density(x, plan, "sales", NoiseSource(8).fork("x"))
    from anonlab.schema import Column

    coding = ColumnCoding.from_column(
        Column("sales", type="integer", lower=6, upper=8945), bins=32, missing=False
    )
    dense = ColumnCoding(**{**coding.__dict__, "density": tuple(map(tuple, cells))})
    v = dense.decode(dense.encode(__import__("pandas").Series(x))[0], rng).to_numpy()
    q = np.quantile(x, np.linspace(0, 1, 11))
    tv = 0.5 * np.abs(np.histogram(x, q)[0] - np.histogram(v, q)[0]).sum() / len(x)
    assert tv < 0.06


def test_float_point_masses_at_the_bounds_come_back_exact():
    # randhie's physlm (a share, written with more than 6 decimals: no grid) is 0 in 83% of rows and 1 in 12%:
    # drawn inside the finest cell at a bound it must come back as 0 and 1, not as 1e-06 and 0.999999
    from anonlab.schema import Column

    rng = np.random.default_rng(6)
    x = rng.choice([0.0, 1.0, 0.1442918, 0.5], size=6000, p=[0.83, 0.12, 0.03, 0.02])
    col = Column("physlm", type="float", lower=0.0, upper=1.0)
    coding = ColumnCoding.from_column(col, bins=32, missing=False)
    plan = plan_density([("physlm", 0.0, 1.0, 0.0)], 0.01)
    cells = measure_density(x, plan, "physlm", NoiseSource(3).fork("x"))
    dense = ColumnCoding(**{**coding.__dict__, "density": tuple(map(tuple, cells))})
    v = dense.decode(dense.encode(__import__("pandas").Series(x))[0], rng).to_numpy()
    assert abs((v == 0.0).mean() - 0.83) < 0.02 and abs((v == 1.0).mean() - 0.12) < 0.02
    assert v.min() >= 0.0 and v.max() <= 1.0


def test_float_atoms_of_unknown_precision_come_back_round():
    # nyc weather's visibility (no decimals stated: discovered bounds drop them) is 10.00 in 84% of hours, inside a
    # discovered range [0, 20): the finest cell around it decodes to 10.0, not 10.000013
    from anonlab.schema import Column

    rng = np.random.default_rng(7)
    x = np.where(rng.random(6000) < 0.84, 10.0, rng.uniform(0, 10, 6000).round(2))
    col = Column("visib", type="float", lower=0.0, upper=20.0)
    coding = ColumnCoding.from_column(col, bins=32, missing=False)
    plan = plan_density([("visib", 0.0, 20.0, 0.0)], 0.01)
    cells = measure_density(x, plan, "visib", NoiseSource(5).fork("x"))
    dense = ColumnCoding(**{**coding.__dict__, "density": tuple(map(tuple, cells))})
    v = dense.decode(dense.encode(__import__("pandas").Series(x))[0], rng).to_numpy()
    assert abs((v == 10.0).mean() - (x == 10.0).mean()) < 0.02
    assert len(np.unique(v[v != 10.0])) > 100  # the spread-out values stay spread out


def test_decimal_atoms_are_coded_in_the_bin_of_their_own_cell():
    # diamonds' depth (one decimal, 43.0-79.0) has atoms such as 59.4, and 43 + 164 * 0.1 is 59.400000000000006 in
    # binary: a bin cut at that cell edge coded the atom's rows in the bin below and decoded them from that bin's
    # cells, so every such atom moved down. The cells' edges are the decimal values themselves.
    import pandas as pd

    from anonlab.schema import Column
    from anonlab.synth.binning import density_edges

    rng = np.random.default_rng(3)
    grid = np.round(np.arange(55.0, 65.0, 0.1), 1)
    x = np.round(rng.normal(61.0, 1.5, 20_000).clip(43.0, 79.0), 1)
    plan = plan_density([("depth", 43.0, 79.0, 0.1)], 0.05)
    cells = measure_density(x, plan, "depth", NoiseSource(1).fork("x"))
    assert np.array_equal(cells[:, :2], np.round(cells[:, :2], 1))
    edges = density_edges(cells, 16, 43.0, 79.0)
    off = [g for g in grid if 43.0 + round((g - 43.0) / 0.1) * 0.1 != g]  # values the sum lands beside
    assert any(abs(e - g) < 1e-9 for e in edges for g in off)  # the premise: a bin is cut at one of them
    col = Column("depth", type="float", lower=43.0, upper=79.0, decimals=1)
    coding = ColumnCoding.from_column(col, bins=16, missing=False)
    dense = ColumnCoding(**{**coding.__dict__, "edges": edges, "density": tuple(map(tuple, cells))})
    v = dense.decode(dense.encode(pd.Series(x))[0], rng).to_numpy()
    q = np.quantile(x, np.linspace(0, 1, 11))[1:-1]
    h = lambda a: np.bincount(np.searchsorted(q, a, side="right"), minlength=10) / len(a)  # noqa: E731
    assert 0.5 * np.abs(h(x) - h(v)).sum() < 0.008  # 0.012-0.019 at three seeds before, 0.001-0.003 now


def test_the_top_value_of_a_bin_cut_between_grid_values_keeps_its_cell():
    # quantile bins are cut anywhere: the bin [62.3265, 62.5022) of diamonds' depth holds the values 62.4 and
    # 62.5 (870 and 796 rows); drawn uniformly in the bin and floored, 62.5 got the sliver [62.5, 62.5022): 25 rows
    import pandas as pd

    from anonlab.schema import Column

    cells = np.array([[62.3, 62.4, 50.0], [62.4, 62.5, 870.0], [62.5, 62.6, 796.0], [62.6, 62.7, 50.0]])
    col = Column("depth", type="float", lower=62.3, upper=62.6, decimals=1)
    coding = ColumnCoding.from_column(col, bins=4, missing=False)
    edges = (62.3, 62.3265, 62.5022, 62.6)
    dense = ColumnCoding(**{**coding.__dict__, "edges": edges, "density": tuple(map(tuple, cells))})
    v = dense.decode(np.full(20_000, 1), np.random.default_rng(0)).to_numpy()
    assert abs((v == 62.5).mean() - 796 / 1666) < 0.02 and set(np.unique(v)) == {62.4, 62.5}
    # integers alike: the bin [37.3, 40.2) holds 38, 39 and 40, each with its own cell's mass
    icells = np.array([[float(k), k + 1.0, 100.0] for k in range(30, 50)])
    icol = Column("age", type="integer", lower=30, upper=49)
    icoding = ColumnCoding.from_column(icol, bins=4, missing=False)
    idense = ColumnCoding(
        **{**icoding.__dict__, "edges": (30.0, 37.3, 40.2, 50.0), "density": tuple(map(tuple, icells))}
    )
    w = idense.decode(np.full(30_000, 1), np.random.default_rng(1)).to_numpy()
    assert set(np.unique(w)) == {38, 39, 40} and abs((w == 40).mean() - 1 / 3) < 0.02
    assert pd.Series(w).dtype == np.int64


def test_a_pattern_below_the_noise_shows_through_the_shrinkage():
    # flight times written as HHMM leave 60-99 empty in every hundred; each node's children hold fewer rows than
    # the noise, so none passes the threshold. Spread evenly by width, 40% of the mass went into the empty minutes;
    # shrunk toward the noisy counts (the level's counts spread more than noise explains), less of it does.
    rng = np.random.default_rng(6)
    x = (rng.integers(5, 24, 20_000) * 100 + rng.integers(0, 60, 20_000)).astype(float)
    plan = plan_density([("t", 500, 2359, 1.0), *[(f"c{i}", 0, 4000, 1.0) for i in range(11)]], 0.0015)
    v = np.arange(500, 2360)
    gap = (v % 100) >= 60
    shares = []
    for seed in range(4):
        per = np.zeros(len(v))
        for left, right, mass in measure_density(x, plan, "t", NoiseSource(seed).fork("x")):
            inside = (v >= left) & (v < right)
            per[inside] += mass / max(inside.sum(), 1)
        shares.append(per[gap].sum() / per.sum())
    assert np.mean(shares) < 0.33  # 0.34-0.37 (mean 0.357) spread by width; 0.28-0.35 (mean 0.30) shrunk
