"""privacy.stats.release: dp_stats and preview_dp_stats, the public entry points, over the engine."""

import json
import warnings

import pytest

from anonlab.errors import PrivacyError, PrivacyWarning, UsageError
from anonlab.privacy import Ledger, dp_stats, preview_dp_stats
from anonlab.privacy.ledger import dataset_fingerprint
from anonlab.privacy.stats import Query, StatsResult


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        return fn(*args, **kwargs)


def test_dp_stats_takes_paths_text_and_objects_and_records_its_parameters(table, tmp_path):
    df, _, schema = table
    led = tmp_path / "l.jsonl"
    Ledger.create(led, epsilon=2.0, delta=1e-6)
    res = _quiet(
        dp_stats,
        df,
        ["count", Query("mean", ("age",))],
        epsilon=0.5,
        delta=1e-7,
        schema=schema,
        ledger=led,
        seed=918273645,
    )
    assert isinstance(res, StatsResult) and [a.kind for a in res.answers] == ["count", "mean"]
    p = res.to_dict()["parameters"]
    assert p == {
        "epsilon": 0.5,
        "delta": 1e-7,
        "queries": ["count", "mean:age"],
        "trust_domains": False,
        "seeded": True,
        "no_ledger": False,
        "schema": str(schema),
        "ledger": str(led),
    }
    assert "918273645" not in json.dumps(res.to_dict(), default=str)  # never the seed
    assert len(Ledger.open(led).entries) == 1


def test_a_seeded_release_warns_and_reproduces(table, tmp_path):
    df, _, schema = table
    with pytest.warns(PrivacyWarning) as caught:
        a = dp_stats(df, "counts:sex", epsilon=1.0, schema=schema, seed=7)
    messages = " ".join(str(w.message) for w in caught)
    assert "seed" in messages and "no ledger" in messages
    b = _quiet(dp_stats, df, "counts:sex", epsilon=1.0, schema=schema, seed=7)
    assert a.to_dict()["answers"] == b.to_dict()["answers"]


def test_without_a_schema_the_data_read_one_needs_trust_domains(table):
    df, _, _ = table
    with pytest.raises(PrivacyError, match="schema=.*trust_domains=True"):
        dp_stats(df, "count", epsilon=1.0)
    with pytest.warns(PrivacyWarning) as caught:
        res = dp_stats(df, "counts:sex", epsilon=1.0, trust_domains=True)
    assert any("trusted as public: sex" in str(w.message) for w in caught)
    assert res.trusted_domains == ["sex"] and len(res.answers[0].rows) == 2


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"epsilon": 0}, "epsilon="),
        ({"epsilon": 1, "delta": 2}, "delta="),
        ({"epsilon": 1, "seed": "abc"}, "seed="),
        ({"epsilon": 1, "seed": True}, "seed="),
        ({"epsilon": 1, "ledger": 5}, "ledger="),
        ({"epsilon": 1, "schema": 5}, "schema="),
        ({"epsilon": 1, "parameters": {"seed": 1}}, "parameters="),
    ],
)
def test_bad_arguments_name_the_parameter(table, kwargs, says):
    df, _, schema = table
    kwargs.setdefault("schema", schema)
    with pytest.raises(UsageError, match=says):
        _quiet(dp_stats, df, "count", **kwargs)


def test_the_preview_spends_nothing_and_holds_no_fingerprint(table, tmp_path):
    df, _, schema = table
    led = Ledger.create(tmp_path / "p.jsonl", epsilon=1.0, delta=1e-6)
    pv = preview_dp_stats(df, ["count", "median:age"], epsilon=0.5, delta=1e-7, schema=schema, ledger=led)
    d = pv.to_dict()
    assert d["dry_run"] and d["ledger"]["path"] == str(led.path) and len(d["noise"]) == 2
    assert dataset_fingerprint(df) not in str(d) and "dry run" in pv._repr_html_()
    assert Ledger.open(led.path).entries == []
