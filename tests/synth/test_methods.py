"""AIM and MST end to end on a planted table: reproducibility, accounting, dtypes, persistence, bad inputs, the
noise stream of each release, neighbour relations and the no-ledger warning."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from anonlab.errors import (
    BudgetExceededError,
    InputError,
    PrivacyError,
    PrivacyWarning,
    SchemaError,
    UsageError,
)
from anonlab.privacy.ledger import Ledger, dataset_fingerprint
from anonlab.privacy.noise import NoiseSource, canonical_digest
from anonlab.schema import Column, Schema, infer_schema
from anonlab.synth import (
    Budget,
    EncodedSynthesizer,
    Synthesizer,
    available_methods,
    get_method,
    registered,
)
from anonlab.synth.marginals import tv_distance

# fits without a ledger warn (PrivacyWarning) by design; the warning itself is tested below
pytestmark = pytest.mark.filterwarnings("ignore::anonlab.errors.PrivacyWarning")

FAST_AIM = {"rounds": 24, "iters": 200, "round_iters": 50}
CATEGORICAL = Schema(
    (
        Column("a", "quasi", "categorical", categories=("w", "x", "y", "z")),
        Column("b", "sensitive", "categorical", categories=("w", "x", "y", "z")),
        Column("city", "quasi", "categorical", categories=("north", "south")),
    )
)


def _probs_equal(m1, m2) -> bool:
    p1, p2 = m1.model_.probs, m2.model_.probs
    return len(p1) == len(p2) and all(
        a.shape == b.shape and np.array_equal(a, b) for a, b in zip(p1, p2, strict=True)
    )


def test_registry_lists_every_method_and_accepts_new_ones():
    assert {"aim", "mst", "napsu", "dpvi", "gaussian-copula", "ctgan"} <= set(available_methods())
    with pytest.raises(UsageError, match="unknown synthesis method"):
        get_method("nope")

    class Uniform(EncodedSynthesizer):
        name = "uniform-test"
        private = False

        def _fit_codes(self, codes, sizes, budget, noise):
            self.sizes_ = sizes
            self.n_estimate_ = len(codes)

        def _sample_codes(self, n, rng):
            return np.column_stack([rng.integers(0, s, n) for s in self.sizes_])

    with registered("uniform-test", Uniform):
        assert get_method("uniform-test") is Uniform
    assert "uniform-test" not in available_methods()


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_fixed_seed_gives_identical_output(planted, schema, method):
    params = FAST_AIM if method == "aim" else {"iters": 200}
    a = get_method(method)(seed=11, **params).fit(planted, schema, Budget(1.0, 1e-9)).sample(500, seed=3)
    b = get_method(method)(seed=11, **params).fit(planted, schema, Budget(1.0, 1e-9)).sample(500, seed=3)
    pd.testing.assert_frame_equal(a, b)


def test_sampled_columns_keep_dtypes_and_domains(planted, schema):
    syn = get_method("mst")(seed=1, iters=200).fit(planted, schema, Budget(2.0, 1e-9)).sample(2000, seed=1)
    assert list(syn.columns) == list(planted.columns)
    assert syn["a"].dropna().isin(["w", "x", "y", "z"]).all()
    assert syn["city"].dropna().isin(["north", "south"]).all()
    assert pd.api.types.is_integer_dtype(syn["age"]) and syn["age"].dropna().between(18, 89).all()
    assert pd.api.types.is_float_dtype(syn["score"]) and syn["score"].dropna().between(0, 100).all()
    assert pd.api.types.is_datetime64_any_dtype(syn["day"])
    assert syn["day"].dropna().between("2020-01-01", "2020-12-31").all()
    assert 0.1 < syn["city"].isna().mean() < 0.3  # missing values are a category the model learns


def test_aim_reproduces_a_planted_dependency_at_epsilon_3(planted, schema):
    model = get_method("aim")(seed=5, **FAST_AIM).fit(planted, schema, Budget(3.0, 1e-9))
    syn = model.sample(len(planted), seed=2)
    assert (syn["a"] == syn["b"]).mean() > 0.85
    real_ab = pd.crosstab(planted["a"], planted["b"]).to_numpy()
    syn_ab = pd.crosstab(syn["a"], syn["b"]).reindex(index=list("wxyz"), columns=list("wxyz"), fill_value=0)
    assert tv_distance(real_ab, syn_ab.to_numpy()) < 0.08
    assert model.privacy_.details["rho_spent"] <= Budget(3.0, 1e-9).rho * (1 + 1e-9)


def test_mst_spends_exactly_its_budget(planted, schema):
    # MST as designed (no small-table fallback: 3,000 rows with 33-cell columns is small at epsilon 1)
    m = get_method("mst")(seed=2, iters=100, small_table="off").fit(planted, schema, Budget(1.0, 1e-9))
    assert m.privacy_.rho == pytest.approx(Budget(1.0, 1e-9).rho)
    # the model's own measurements and the densities inside bins (its cut points read off them) add up to the budget
    parts = m.privacy_.details.get("budget_parts", {})
    others = sum(parts[k]["rho"] for k in ("density", "binning") if k in parts)
    assert "density" in parts and "binning" not in parts  # MST cuts its bins at its densities by default
    assert m.privacy_.details["rho_spent"] + others == pytest.approx(m.privacy_.rho)
    assert len(m.privacy_.details["measured"]) == 6 + 5  # all 1-ways and a spanning tree


def test_ledger_records_each_fit_and_refuses_past_the_budget(planted, schema, tmp_path):
    path = tmp_path / "l.jsonl"
    Ledger.create(path, epsilon=1.2, delta=1e-9)  # zCDP: two fits at epsilon 1 need about 1.45
    led = Ledger.open(path)
    get_method("mst")(seed=1, iters=50).fit(planted, schema, Budget(1.0, 1e-9), ledger=led)
    entries = Ledger.open(path).entries
    assert (
        len(entries) == 1
        and entries[0].what == "synth mst"  # its bins cut at its DP densities: nothing spent apart
        and entries[0].rho == pytest.approx(Budget(1.0, 1e-9).rho)
    )
    synth = get_method("mst")(seed=1, iters=50)
    with pytest.raises(BudgetExceededError):
        synth.fit(planted, schema, Budget(1.0, 1e-9), ledger=Ledger.open(path))
    assert not hasattr(synth, "model_")  # refused before any noise was drawn
    assert len(Ledger.open(path).entries) == 1
    other = planted.head(100)  # content differs from the table charged before: a warning, no refusal
    with pytest.warns(PrivacyWarning, match="content differs"):
        get_method("mst")(seed=1, iters=20).fit(other, schema, Budget(0.1, 1e-9), ledger=Ledger.open(path))


def test_saved_model_samples_without_the_data(planted, schema, tmp_path):
    m = get_method("mst")(seed=3, iters=100).fit(planted, schema, Budget(1.0, 1e-9))
    path = m.save(tmp_path / "m.model")
    with pytest.raises(Exception, match="exists"):
        m.save(path)
    loaded = Synthesizer.load(path)
    assert loaded.name == "mst" and loaded.privacy_.rho == m.privacy_.rho
    pd.testing.assert_frame_equal(loaded.sample(300, seed=4), m.sample(300, seed=4))
    assert abs(loaded.sample(seed=1).shape[0] - len(planted)) < 200  # default rows: a DP estimate of n


def test_load_refuses_files_that_are_not_models(tmp_path):
    bad = tmp_path / "x.model"
    bad.write_text("hello")
    with pytest.raises(InputError, match="not an anonlab synthesis model"):
        Synthesizer.load(bad)
    with pytest.raises(InputError, match="no such model"):
        Synthesizer.load(tmp_path / "missing.model")


def test_dp_method_refuses_domains_read_from_the_data(planted):
    with pytest.raises(PrivacyError, match="trust-domains"):
        get_method("mst")(seed=1, domains="refuse").fit(planted, infer_schema(planted), Budget(1.0, 1e-9))
    m = get_method("mst")(seed=1, trust_domains=True, iters=20).fit(
        planted, infer_schema(planted), Budget(1.0, 1e-9)
    )
    assert m.privacy_.trusted_domains


def test_budget_is_required_and_validated(planted, schema):
    with pytest.raises(UsageError, match="budget"):
        get_method("aim")().fit(planted, schema, None)
    with pytest.raises(UsageError):
        Budget(-1.0, 1e-9)
    with pytest.raises(UsageError):
        Budget(1.0, 1.5)


def test_constant_all_missing_and_single_row_tables_work_or_fail_clearly(schema):
    const = pd.DataFrame(
        {
            "a": ["x"] * 50,
            "b": ["x"] * 50,
            "age": [30] * 50,
            "score": [1.0] * 50,
            "day": ["2020-05-05"] * 50,
            "city": [None] * 50,
        }
    )
    syn = get_method("mst")(seed=1, iters=100).fit(const, schema, Budget(3.0, 1e-9)).sample(100, seed=1)
    assert syn.shape == (100, 6)
    one = const.head(1)
    assert get_method("mst")(seed=1, iters=20).fit(one, schema, Budget(1.0, 1e-9)).sample(
        5, seed=1
    ).shape == (5, 6)
    with pytest.raises(InputError, match="no rows"):
        get_method("mst")(seed=1).fit(const.head(0), schema, Budget(1.0, 1e-9))
    with pytest.raises(InputError, match="column 'age' holds a value that is not a valid integer"):
        get_method("mst")(seed=1).fit(const.assign(age="old"), schema, Budget(1.0, 1e-9))
    # a schema with extra columns serves any subset of them: the table's columns are synthesised
    fewer = get_method("mst")(seed=1, iters=20).fit(const.drop(columns="city"), schema, Budget(1.0, 1e-9))
    assert list(fewer.sample(5, seed=1).columns) == ["a", "b", "age", "score", "day"]
    with pytest.raises(SchemaError):
        Schema((Column("a", type="categorical", categories=("x", "x")),))


# -- noise streams: one per release ---------------------------------------------------------------------------


def test_release_stream_is_a_canonical_digest_of_everything():
    base = {"epsilon": 1.0, "bins": 32, "binning": {"mode": "public", "columns": ("a", "b")}}

    def key(params=base, fp="f" * 64, seq=None, seed=7):
        return NoiseSource.for_release(seed, "synth mst", params, fp, seq).key_bytes(16)

    # key order and tuple/list spelling do not matter; the same release reproduces
    same = {"binning": {"columns": ["a", "b"], "mode": "public"}, "bins": 32, "epsilon": 1.0}
    assert key() == key(same) and canonical_digest(base) == canonical_digest(same)
    others = [
        key({**base, "bins": 16}),
        key({**base, "epsilon": 1.5}),
        key(fp="e" * 64),
        key(seq=3),
        key(seed=8),
        NoiseSource.for_release(7, "dp stats", base, "f" * 64, None).key_bytes(16),
    ]
    assert len({key(), *others}) == 1 + len(others)
    # a fork of a release stream differs between releases (forks chain their labels)
    a = NoiseSource.for_release(7, "synth mst", base, None).fork("cut points").key_bytes(16)
    b = NoiseSource.for_release(7, "synth mst", {**base, "bins": 16}, None).fork("cut points").key_bytes(16)
    assert a != b
    # unseeded: fresh OS randomness every time
    u = NoiseSource.for_release(None, "synth mst", base, None)
    assert not u.seeded and u.key_bytes(16) != u.key_bytes(16)
    with pytest.raises(UsageError, match="canonically"):
        NoiseSource.for_release(7, "synth mst", {"x": object()}, None)
    assert "7" not in repr(NoiseSource.for_release(7, "synth mst", base, None))


def test_seeded_releases_differing_only_in_bins_or_epsilon_draw_different_noise(planted):
    """Bins do not change an all-categorical encoding, so the true marginals are identical: before every parameter
    entered the stream, these two releases shared their noise and their difference was noise-free."""
    df = planted[["a", "b", "city"]]

    def fit(bins=32, eps=1.0):
        return get_method("mst")(seed=7, iters=50, bins=bins).fit(df, CATEGORICAL, Budget(eps, 1e-9))

    a, again, other_bins = fit(), fit(), fit(bins=16)
    assert a.encoding_.sizes == other_bins.encoding_.sizes
    assert _probs_equal(a, again)  # the same release twice is identical
    assert not _probs_equal(a, other_bins)
    assert not _probs_equal(a, fit(eps=1.01))


def test_fit_digests_every_public_parameter_and_the_table_into_its_stream(
    planted, schema, tmp_path, monkeypatch
):
    seen = []
    real = NoiseSource.for_release.__func__

    def spy(cls, seed, kind, params, fingerprint, seq=None):
        seen.append((seed, kind, params, fingerprint, seq))
        return real(cls, seed, kind, params, fingerprint, seq)

    monkeypatch.setattr(NoiseSource, "for_release", classmethod(spy))
    get_method("mst")(seed=3, iters=20, bins=16, missing=True).fit(planted, schema, Budget(1.0, 1e-9))
    seed, kind, params, fp, seq = seen[-1]
    assert seed == 3 and kind == "synth mst" and fp == dataset_fingerprint(planted) and seq is None
    assert {
        "method",
        "params",
        "epsilon",
        "delta",
        "rho",
        "bins",
        "binning",
        "missing",
        "trust_domains",
        "schema",
        "neighbours",
    } <= set(params)
    assert params["bins"] == 16 and params["epsilon"] == 1.0 and params["schema"] == schema.fingerprint()
    assert set(params["binning"]) == {"mode", "share", "columns"} and params["neighbours"] == "add/remove"
    # on a ledger, the entry's sequence number enters the stream: two identical charged releases differ
    path = tmp_path / "l.jsonl"
    Ledger.create(path, epsilon=5.0, delta=1e-9)
    m1 = get_method("mst")(seed=3, iters=20).fit(planted, schema, Budget(1.0, 1e-9), ledger=Ledger.open(path))
    m2 = get_method("mst")(seed=3, iters=20).fit(planted, schema, Budget(1.0, 1e-9), ledger=Ledger.open(path))
    assert [s[4] for s in seen[-2:]] == [1, 2] and not _probs_equal(m1, m2)


# -- the ledger and neighbour relations ------------------------------------------------------------------------


def test_dp_fit_without_a_ledger_warns_once_and_says_no_ledger(planted, schema, tmp_path):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        m = get_method("mst")(seed=1, iters=20).fit(planted, schema, Budget(1.0, 1e-9))
    privacy = [w for w in rec if issubclass(w.category, PrivacyWarning)]
    assert len(privacy) == 1 and "no ledger" in str(privacy[0].message)
    assert m.privacy_.details["ledger"] == "no ledger"
    path = tmp_path / "l.jsonl"
    Ledger.create(path, epsilon=2.0, delta=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyWarning)  # a charged fit warns about nothing
        charged = get_method("mst")(seed=1, iters=20).fit(
            planted, schema, Budget(1.0, 1e-9), ledger=Ledger.open(path)
        )
    assert "ledger" not in charged.privacy_.details


def test_add_remove_methods_on_a_replace_one_ledger_are_charged_as_a_group_of_two(planted, schema, tmp_path):
    path = tmp_path / "r.jsonl"
    Ledger.create(path, epsilon=10.0, delta=1e-9, neighbours="replace-one", population_size=len(planted))
    m = get_method("mst")(seed=1, iters=20).fit(planted, schema, Budget(1.0, 1e-9), ledger=Ledger.open(path))
    assert m.neighbours_ == "add/remove" and m.privacy_.neighbours == "add/remove one record"
    (entry,) = Ledger.open(path).entries
    assert entry.neighbours == "add/remove" and entry.group == 2
    assert entry.charged_cost.rho == pytest.approx(4 * Budget(1.0, 1e-9).rho)
    assert entry.details["neighbours"] == "add/remove"


def test_aim_rounds_are_capped_by_a_public_count_not_the_clock(planted, monkeypatch):
    """No wall-clock cap by default: a machine a thousand times slower makes the same release."""
    import anonlab.synth.aim as aim

    assert aim.AIM.default_params()["max_time"] is None
    df = planted[["a", "b", "city"]]
    kw = dict(seed=4, rounds=12, iters=50, round_iters=20)
    fast = get_method("aim")(**kw).fit(df, CATEGORICAL, Budget(1.0, 1e-9))
    assert fast.privacy_.details["rounds"] <= 12 and "seconds" not in fast.privacy_.details
    clock = iter(range(0, 10**9, 1000))
    monkeypatch.setattr(aim.time, "monotonic", lambda: float(next(clock)))
    slow = get_method("aim")(**kw).fit(df, CATEGORICAL, Budget(1.0, 1e-9))
    assert _probs_equal(fast, slow) and slow.privacy_.details == fast.privacy_.details
    # the explicit wall-clock cap still works (and then depends on the clock)
    capped = get_method("aim")(**kw, max_time=1.0).fit(df, CATEGORICAL, Budget(1.0, 1e-9))
    assert capped.privacy_.details["rounds"] == 1
