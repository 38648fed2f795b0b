"""The synthesizer classes as a notebook uses them: explicit parameters, fit/sample, save/load, privacy_spent."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pandas as pd
import pytest

import anonlab.synth as synth
from anonlab.errors import PrivacyError, PrivacyWarning, UsageError
from anonlab.privacy.ledger import Ledger
from anonlab.synth import AIM, CTGAN, DPVI, MST, Budget, GaussianCopula, NapsuMQ, PrivacySpent, Synthesizer


def test_import_is_light_and_classes_come_lazily():
    code = "import sys, anonlab.synth; print(sorted(m for m in sys.modules if m.startswith('anonlab')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['anonlab', 'anonlab.synth']"
    assert synth.AIM is AIM and AIM.name == "aim" and NapsuMQ.name == "napsu" and CTGAN.name == "ctgan"
    assert {"AIM", "MST", "NapsuMQ", "DPVI", "GaussianCopula", "CTGAN", "load"} <= set(dir(synth))
    with pytest.raises(AttributeError):
        synth.Nope  # noqa: B018


def test_parameters_are_explicit_keywords_with_privacy_first():
    sig = inspect.signature(AIM).parameters
    assert list(sig)[:4] == ["epsilon", "delta", "workload_k", "max_cells"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in sig.values())
    assert sig["delta"].default == 1e-9 and sig["workload_k"].default == 3
    assert "epsilon" not in inspect.signature(GaussianCopula).parameters
    assert {"epochs", "batch_size"} <= set(inspect.signature(CTGAN).parameters)
    assert {"queries", "max_cells", "posterior"} <= set(inspect.signature(NapsuMQ).parameters)
    assert {"k", "clipping", "learning_rate"} <= set(inspect.signature(DPVI).parameters)
    with pytest.raises(UsageError, match="unknown parameter 'workload'"):
        AIM(workload=2)
    with pytest.raises(UsageError, match="keyword parameters only"):
        AIM(1.0)


def test_repr_get_params_and_set_params():
    m = AIM(epsilon=1.0, workload_k=2)
    assert repr(m) == "AIM(epsilon=1.0, delta=1e-09, workload_k=2)"
    assert repr(MST()) == "MST()" and repr(MST(seed=3, iters=50)) == "MST(iters=50, seed=3)"
    params = m.get_params()
    assert params["epsilon"] == 1.0 and params["workload_k"] == 2 and params["bins"] == 16
    assert AIM(**params).get_params() == params
    assert (
        m.set_params(max_cells=5000, bins=24) is m and m.max_cells == 5000 and m.params["max_cells"] == 5000
    )
    with pytest.raises(UsageError, match="unknown parameter"):
        m.set_params(nope=1)
    with pytest.raises(UsageError, match="binning must be one of"):
        m.set_params(binning="deciles")
    assert m.binning is None and m.binning_mode == "density"  # a refused value leaves the old one
    with pytest.raises(UsageError):
        AIM(epsilon=-1.0)
    with pytest.raises(UsageError, match="small_table"):
        MST(small_table="maybe")


def test_fit_sample_privacy_spent_and_ledger(planted, schema, tmp_path):
    path = tmp_path / "l.ledger"
    Ledger.create(path, epsilon=3.0, delta=1e-6)
    m = MST(epsilon=1.0, seed=987654321, iters=50).fit(
        planted, schema, ledger=path
    )  # a ledger file is opened
    assert isinstance(m, MST)
    spent = m.privacy_spent
    assert (
        isinstance(spent, PrivacySpent)
        and spent.epsilon == 1.0
        and spent.rho == pytest.approx(Budget(1.0, 1e-9).rho)
    )
    assert spent.to_dict()["neighbours"] == "add/remove one record"
    html = spent._repr_html_()
    assert "<table>" in html and "epsilon" in html and "987654321" not in html + str(spent.to_dict())
    assert len(Ledger.open(path).entries) == 1
    syn = m.sample(300, seed=2)
    assert isinstance(syn, pd.DataFrame) and syn.shape == (300, 6)
    pd.testing.assert_frame_equal(syn, m.sample(300, seed=2))


def test_fit_needs_epsilon_and_a_budget_and_epsilon_agree(planted, schema):
    with pytest.raises(UsageError, match="give epsilon="):
        MST().fit(planted, schema)
    with pytest.raises(UsageError, match="differ"):
        MST(epsilon=1.0).fit(planted, schema, Budget(2.0, 1e-9))
    with pytest.raises(UsageError, match="pass a ledger by name"):
        MST(epsilon=1.0).fit(planted, schema, object())
    with pytest.raises(UsageError, match="call fit"):
        MST().sample(10)


def test_schema_none_uses_adult_or_refuses_an_inferred_one_unless_trusted(planted):
    with pytest.raises(PrivacyError, match="trust_domains=True"):
        MST(epsilon=1.0).fit(planted)
    with pytest.warns(PrivacyWarning):
        m = MST(epsilon=1.0, seed=1, iters=20).fit(planted, trust_domains=True)
    assert m.privacy_spent.trusted_domains and m.domains_ == "trust"
    with pytest.raises(UsageError, match="exclude each other"):
        MST(epsilon=1.0, domains="refuse").fit(planted, trust_domains=True)


def test_save_load_round_trip_keeps_params_and_samples(planted, schema, tmp_path):
    with pytest.warns(PrivacyWarning):
        m = AIM(epsilon=2.0, seed=4, workload_k=2, rounds=6, iters=50, round_iters=20).fit(planted, schema)
    path = m.save(tmp_path / "aim.model")
    for loaded in (Synthesizer.load(path), AIM.load(path), synth.load(path)):
        assert type(loaded) is AIM and loaded.workload_k == 2 and loaded.epsilon == 2.0
        assert repr(loaded).startswith("AIM(epsilon=2.0, delta=1e-09, workload_k=2, rounds=6")
        assert loaded.privacy_spent == m.privacy_spent
        pd.testing.assert_frame_equal(loaded.sample(200, seed=5), m.sample(200, seed=5))


def test_legacy_names_still_work(planted, schema):
    from anonlab.synth import available_methods, get_method

    assert get_method("mst") is MST and "aim" in available_methods()
    with pytest.warns(PrivacyWarning):
        m = get_method("mst")(seed=1, iters=20).fit(planted, schema, Budget(1.0, 1e-9))
    assert m.privacy_spent.epsilon == 1.0 and m.params == {
        "iters": 20,
        "rows_hint": None,
        "small_table": "fallback",
        "compress": True,
        "select_share": 0.1,
    }


def test_synthesize_takes_a_configured_synthesizer(planted, schema, tmp_path):
    from anonlab.synth import synthesize

    data = tmp_path / "d.csv"
    planted.head(500).to_csv(data, index=False)
    schema_file = schema.write(tmp_path / "s.toml")
    with pytest.warns(PrivacyWarning):
        res = synthesize(data, tmp_path / "o.csv", MST(epsilon=1.0, iters=20), schema=schema_file, rows=50)
    assert res.rows == 50 and res.method == "mst" and pd.read_csv(tmp_path / "o.csv").shape == (50, 6)
    with pytest.raises(UsageError, match="epsilon= configures a method given by name"):
        synthesize(data, tmp_path / "p.csv", MST(epsilon=1.0), epsilon=2.0)


def test_sdv_baselines_keep_the_global_generators(planted, schema):
    pytest.importorskip("sdv", reason="the sdv extra (SDV, torch's CPU build) is not installed")
    import random

    import numpy as np
    import torch

    np.random.seed(123)
    torch.manual_seed(123)
    random.seed(123)
    before = (np.random.get_state()[1].copy(), torch.random.get_rng_state().clone(), random.getstate())
    m = GaussianCopula(seed=7).fit(planted.head(300), schema)
    m.sample(50, seed=1)
    CTGAN(seed=7, epochs=1, batch_size=100).fit(planted.head(200), schema).sample(20)
    after = (np.random.get_state()[1], torch.random.get_rng_state(), random.getstate())
    assert np.array_equal(before[0], after[0]) and torch.equal(before[1], after[1]) and before[2] == after[2]
    assert m.privacy_spent is None and repr(m) == "GaussianCopula(seed=7)"
