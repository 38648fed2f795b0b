"""DPVI (anonlab.synth.twinify.dpvi): anonlab's DP-SGD with Poisson subsampling and the PLD accountant."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("numpyro", reason="the synth extra (JAX, NumPyro) is not installed")

from anonlab.errors import InputError  # noqa: E402
from anonlab.privacy.ledger import Ledger  # noqa: E402
from anonlab.synth import Budget, Synthesizer, get_method  # noqa: E402
from anonlab.synth.twinify import N_ESTIMATE_SHARE, dpvi  # noqa: E402
from anonlab.synth.twinify.accountant import pld_epsilon  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::anonlab.errors.PrivacyWarning")


def test_dpvi_tiny_real_fit_accounting_and_seed(cache, tmp_path, tables):
    df, schema = tables.binary()
    kw = dict(seed=1, missing=False, epochs=3, k=2, batch_size=30, jax_cache=cache)
    m = get_method("dpvi")(**kw).fit(df, schema, Budget(2.0, 1e-6))
    d = m.privacy_.details
    assert m.privacy_.rho is None and "float64" in m.privacy_.noise and "d3p" not in m.privacy_.noise
    n_hat = d["n_estimate"]  # add/remove (no ledger): q from the DP row count, Poisson subsampling
    assert d["sampling_ratio"] == pytest.approx(30 / n_hat) and d["steps"] == math.ceil(
        3 / d["sampling_ratio"]
    )
    # the noise multiplier keeps those steps within the SGD's share (PLD, add/remove), close to it
    sgd_eps = 2.0 * (1 - N_ESTIMATE_SHARE)
    eps = pld_epsilon(d["noise_multiplier"], d["sampling_ratio"], d["steps"], 1e-6)
    assert d["accounted_epsilon"] == pytest.approx(eps) and 0.97 * sgd_eps < eps <= sgd_eps
    assert "final_elbo_per_row" not in d
    syn = m.sample(100, seed=2)
    assert syn.shape == (100, 3) and syn["c"].dropna().isin(["u", "v"]).all()
    again = get_method("dpvi")(**kw).fit(df, schema, Budget(2.0, 1e-6))
    assert all(np.array_equal(m.params_[k], again.params_[k]) for k in m.params_)
    loaded = Synthesizer.load(m.save(tmp_path / "d.model"))
    assert loaded.sample(10, seed=1).equals(m.sample(10, seed=1))


def test_dpvi_noise_comes_from_the_release_keyed_stream(cache, monkeypatch, tables):
    """Two runs with the same secret seed and parameters draw the same DP-SGD stream; other parameters or no seed
    draw another; and the noise added is that stream's float64 normals."""
    keys, normals = [], []
    real_init, real_normal = dpvi.KeyedNormals.__init__, dpvi.KeyedNormals.normal

    def spy_init(self, key):
        keys.append(key)
        real_init(self, key)

    def spy_normal(self, label, shape):
        out = real_normal(self, label, shape)
        if label == "noise":
            normals.append(out)
        return out

    monkeypatch.setattr(dpvi.KeyedNormals, "__init__", spy_init)
    monkeypatch.setattr(dpvi.KeyedNormals, "normal", spy_normal)
    df, schema = tables.two()
    kw = dict(missing=False, epochs=1, k=2, batch_size=20, jax_cache=cache)
    fits = [
        get_method("dpvi")(seed=1, **kw).fit(df, schema, Budget(1.0, 1e-6)),
        get_method("dpvi")(seed=1, **kw).fit(df, schema, Budget(1.0, 1e-6)),
        get_method("dpvi")(seed=1, **{**kw, "learning_rate": 0.1}).fit(df, schema, Budget(1.0, 1e-6)),
        get_method("dpvi")(seed=2, **kw).fit(df, schema, Budget(1.0, 1e-6)),
        get_method("dpvi")(seed=None, **kw).fit(df, schema, Budget(1.0, 1e-6)),
    ]
    assert len(keys) == 5 and all(isinstance(k, bytes) and len(k) == 32 for k in keys)
    assert keys[0] == keys[1] and len(set(keys[1:])) == 4
    assert all(n.dtype == np.float64 for n in normals) and np.array_equal(normals[0], normals[1])
    assert all(np.array_equal(fits[0].params_[k], fits[1].params_[k]) for k in fits[0].params_)
    assert not np.array_equal(fits[0].params_["loc"], fits[2].params_["loc"])
    assert not np.array_equal(fits[0].params_["loc"], fits[3].params_["loc"])


def test_dpvi_ledger_needs_basic_accounting_and_is_charged(cache, tmp_path, tables):
    df, schema = tables.binary(100)
    path = tmp_path / "b.ledger"
    Ledger.create(path, epsilon=3.0, delta=1e-5, accounting="basic")
    get_method("dpvi")(seed=1, missing=False, epochs=1, k=2, batch_size=20, jax_cache=cache).fit(
        df, schema, Budget(1.0, 1e-6), ledger=Ledger.open(path)
    )
    entries = Ledger.open(path).entries
    assert len(entries) == 1 and entries[0].epsilon == pytest.approx(1.0)


def test_dpvi_replace_one_uses_the_exact_n_and_the_replace_one_accountant(cache, tmp_path, tables):
    df, schema = tables.two()
    path = tmp_path / "r1.ledger"
    Ledger.create(
        path, epsilon=3.0, delta=1e-5, neighbours="replace-one", population_size=len(df), accounting="basic"
    )
    kw = dict(seed=1, missing=False, epochs=1, k=2, batch_size=20, jax_cache=cache)
    m = get_method("dpvi")(**kw).fit(df, schema, Budget(1.0, 1e-6), ledger=Ledger.open(path))
    d = m.privacy_.details
    (entry,) = Ledger.open(path).entries
    assert entry.neighbours == "replace-one" and entry.group == 1 and "n_estimate" not in d
    assert (
        m.n_estimate_ == len(df) and d["sampling_ratio"] == pytest.approx(20 / len(df)) and d["steps"] == 10
    )
    eps = pld_epsilon(d["noise_multiplier"], d["sampling_ratio"], d["steps"], 1e-6, "replace-one")
    assert eps <= 1.0 and eps == pytest.approx(d["accounted_epsilon"])
    # add/remove with a given subsample_ratio: q is public, the DP count only sets the default rows
    a = get_method("dpvi")(**{**kw, "subsample_ratio": 0.25}).fit(df, schema, Budget(1.0, 1e-6))
    d = a.privacy_.details
    assert d["sampling_ratio"] == 0.25 and d["steps"] == 4 and d["n_estimate"] != len(df)
    assert len(a.sample()) == d["n_estimate"]


def test_a_model_saved_by_the_d3p_version_is_refused(cache, tmp_path, tables):
    m = get_method("dpvi")(seed=1, missing=False, epochs=1, k=2, jax_cache=cache)
    m.fit(*tables.two(100), Budget(1.0, 1e-6))
    with pytest.raises(InputError, match="older anonlab"):
        m._restore({"n_estimate": 100.0}, {"auto_loc": np.zeros(3), "auto_scale": np.ones(3)}, None)


@pytest.mark.slow
def test_dpvi_beats_independent_columns(cache, tables):
    df, schema = tables.binary(3000, same=0.9)
    m = get_method("dpvi")(seed=2, missing=False, k=4, jax_cache=cache).fit(df, schema, Budget(1.0, 1e-6))
    syn = m.sample(3000, seed=1)
    rng = np.random.default_rng(0)
    indep = df.apply(lambda s: s.to_numpy()[rng.permutation(len(s))])
    assert tables.pair_tv(df, syn, ("a", "b")) < 0.7 * tables.pair_tv(df, indep, ("a", "b"))


JIT_PROGRAM = """
import sys, warnings
warnings.simplefilter("ignore")
import jax
events = []
jax.monitoring.register_event_listener(lambda name, **kw: events.append(name))
sys.path.insert(0, sys.argv[2])
from anonlab.synth import Budget, get_method
import numpy as np, pandas as pd
from anonlab.schema import Column, Schema
rng = np.random.default_rng(0)
df = pd.DataFrame({"a": rng.choice(["p", "q"], 300), "b": rng.choice(["u", "v", "w"], 300)})
schema = Schema((Column("a", type="categorical", categories=("p", "q")),
                 Column("b", type="categorical", categories=("u", "v", "w"))))
get_method(sys.argv[3])(seed=1, missing=False, jax_cache=sys.argv[1], **eval(sys.argv[4])).fit(
    df, schema, Budget(1.0, 1e-6))
print(sum("compilation_cache/cache_hits" in e for e in events), sum("compilation_cache/cache_misses" in e for e in events))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "params"),
    [("dpvi", {"epochs": 2, "k": 2}), ("napsu", {"posterior": "nuts", "samples": 20, "warmup": 20})],
)
def test_a_second_fit_in_a_new_process_reads_compiled_programs_from_the_cache(tmp_path, method, params):
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).parents[3])

    def run() -> tuple[int, int]:
        out = subprocess.run(
            [sys.executable, "-c", JIT_PROGRAM, str(tmp_path / "c"), root, method, repr(params)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        hits, misses = out.stdout.split()[-2:]
        return int(hits), int(misses)

    first = run()
    assert first[1] > 0 and any((tmp_path / "c").iterdir())
    second = run()
    # the programs that took long enough to be cached (>= 0.5 s to compile) now come from disk; those compiled
    # faster are not written, so they miss again
    assert second[0] > first[0] and second[0] > 0
