"""MST and AIM fitted on a cluster (anonlab.distributed.marginals): the exact aggregates they read (marginals,
quantile ranks, density units, row count, fingerprint) equal the in-process ones, and with the same seed and
ledger state the release (cut points, densities, compression, model, sampled rows, ledger entry) is the
in-process release. Refusals come before the charge, as in-process."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from anonlab.distributed.marginals import (  # noqa: E402
    ClusterMarginals,
    _Table,
    exact_marginals,
    fit_synthesizer,
)
from anonlab.errors import InputError, UsageError  # noqa: E402
from anonlab.privacy.ledger import Ledger  # noqa: E402
from anonlab.synth import AIM, MST  # noqa: E402
from anonlab.synth.marginals import marginal  # noqa: E402

warnings.filterwarnings("ignore", category=Warning, module="anonlab")


def _split(df, parts=4):
    import dask.dataframe as dd

    return dd.from_pandas(df, npartitions=parts, sort=False)


@pytest.fixture(scope="module")
def table(adult):
    """2,000 Adult rows with missing values, values past the public bounds and an unlisted category."""
    df = adult.iloc[:2000].copy().reset_index(drop=True)
    df.loc[::37, "occupation"] = np.nan
    df.loc[5::41, "workclass"] = np.nan
    df.loc[3, "capital-gain"] = 250_000  # past the public upper bound: clamped
    df.loc[7, "native-country"] = "Atlantis"  # not a public category: coded missing
    return df


def _same_fit(a, b) -> None:
    assert a.encoding_ == b.encoding_  # cut points and densities
    assert a.measured_ == b.measured_
    assert a.compression_ == b.compression_
    assert all(np.array_equal(x, y) for x, y in zip(a.model_.probs, b.model_.probs, strict=True))
    assert a.summary() == b.summary()
    assert a.outside_domain_ == b.outside_domain_  # counted with the marginals on the cluster
    assert a.sample(300, seed=1).equals(b.sample(300, seed=1))


def test_exact_aggregates_equal_in_process(cluster, table):
    from anonlab.datasets import adult_schema
    from anonlab.privacy.stats import coerce_private
    from anonlab.synth.binning import quantile_ranks, wide_columns
    from anonlab.synth.density import density_columns, density_units, plan_density

    fitted = MST(epsilon=1.0, seed=2, iters=20).fit(table, "adult")
    enc, schema = fitted.encoding_, adult_schema()
    codes, outside = enc.encode(coerce_private(table, schema, "input"))
    pairs = list(itertools.combinations(range(len(enc.sizes)), 2))
    ddf = _split(table, 5)
    got = exact_marginals(ddf, schema, enc, pairs + [(3,), (0, 2, 4)], scheduler=cluster)
    want = [marginal(codes, enc.sizes, c) for c in pairs + [(3,), (0, 2, 4)]]
    assert all(g.dtype == w.dtype and np.array_equal(g, w) for g, w in zip(got, want, strict=True))

    # what the fit reads before its charge: the row count, quantile ranks, density units
    from anonlab.synth.encoding import Encoding

    provisional = Encoding.from_schema(schema, bins=32)
    dplan = plan_density(density_columns(provisional), 1.0)
    wide = wide_columns(provisional)
    scan = _Table(ddf, schema, "input", cluster).scan(provisional, wide, dplan)
    frame = coerce_private(table, schema, "input")
    assert scan["n"] == len(table)
    by = {c.name: c for c in provisional.columns}
    for n in wide:
        assert np.array_equal(scan["ranks"][n], quantile_ranks(by[n].values(frame[n]), by[n]))
    for n, *_ in dplan.columns:
        u, k = density_units(by[n].values(frame[n]), dplan, n)
        assert np.array_equal(scan["units"][n][0], u) and np.array_equal(scan["units"][n][1], k)


def test_compressed_and_transposed_marginals(cluster, table):
    from anonlab.datasets import adult_schema
    from anonlab.privacy.stats import coerce_private
    from anonlab.synth.compression import ColumnCompression, Compression
    from anonlab.synth.encoding import Encoding

    schema = adult_schema()
    enc = Encoding.from_schema(schema, bins=32)  # public bins (learned ones: the test above)
    codes, _ = enc.encode(coerce_private(table, schema, "input"))
    d = len(enc.sizes)
    j = enc.names.index("native-country")
    size = enc.sizes[j]
    comp = Compression(
        tuple(
            ColumnCompression(size, tuple(range(3)), tuple(range(3, size)), (1 / (size - 3),) * (size - 3))
            if i == j
            else None
            for i in range(d)
        )
    )
    src = ClusterMarginals(
        _Table(_split(table, 3), schema, "input", cluster), enc, [(0, 1), (j - 1, j)], len(table)
    )
    small = src.compressed(comp)
    sizes = comp.sizes(enc.sizes)
    for clique in [(j,), (j - 1, j), (j, j - 1), (0, 1), (1, 0), (0, j)]:
        assert np.array_equal(small.marginal(sizes, clique), marginal(comp.apply(codes), sizes, clique))
        assert np.array_equal(src.marginal(enc.sizes, clique), marginal(codes, enc.sizes, clique))
    assert float(src.marginal(enc.sizes, ())) == len(table)


def test_mst_release_equals_in_process_with_a_ledger(cluster, table, tmp_path):
    a_led = Ledger.create(tmp_path / "a.jsonl", epsilon=5, delta=1e-5)
    b_led = Ledger.create(tmp_path / "b.jsonl", epsilon=5, delta=1e-5)
    a = MST(epsilon=1.0, seed=11, iters=30).fit(table, "adult", ledger=a_led)
    b = fit_synthesizer(
        MST(epsilon=1.0, seed=11, iters=30), _split(table), "adult", ledger=b_led, scheduler=cluster
    )
    assert isinstance(b, MST) and type(b) is MST
    assert b.compression_.active  # the compressed path is exercised
    _same_fit(a, b)
    ea, eb = Ledger.open(a_led.path).entries, Ledger.open(b_led.path).entries
    assert len(ea) == len(eb) == 1
    assert ea[0].dataset == eb[0].dataset  # the same fingerprint
    assert ea[0].details == eb[0].details and ea[0].charged_cost == eb[0].charged_cost


def test_mst_density_bins_equal_in_process(cluster, table):
    """binning='density' re-cuts the bins at the DP densities on the client; the cluster counts the new codes."""
    kw = dict(epsilon=1.0, seed=7, iters=30, binning="density")
    a = MST(**kw).fit(table, "adult")
    b = fit_synthesizer(MST(**kw), _split(table, 2), "adult", scheduler=cluster)
    _same_fit(a, b)


@pytest.mark.slow
def test_mst_public_bins_and_no_point_masses(cluster, table):
    kw = dict(epsilon=0.5, seed=4, iters=30, binning="public", point_masses=False, compress=False)
    a = MST(**kw).fit(table, "adult")
    b = fit_synthesizer(MST(**kw), _split(table, 2), "adult", scheduler=cluster)
    _same_fit(a, b)


@pytest.mark.parametrize(
    "workload_k", [3, 1]
)  # 1: the model choice's held-out pairs are counted in the same pass
def test_aim_release_equals_in_process(cluster, table, workload_k):
    cols = ["age", "workclass", "education", "sex", "hours-per-week", "native-country", "income-per-year"]
    df = table[cols]
    kw = dict(epsilon=2.0, seed=5, rounds=8, iters=30, round_iters=10, workload_k=workload_k)
    a = AIM(**kw).fit(df, "adult")
    b = fit_synthesizer(AIM(**kw), _split(df, 3), "adult", scheduler=cluster)
    _same_fit(a, b)


def test_refusals_come_before_the_charge(cluster, table, tmp_path):
    from anonlab.synth import get_method

    led = Ledger.create(tmp_path / "l.jsonl", epsilon=5, delta=1e-5)
    with pytest.raises(UsageError, match="only MST and AIM"):
        fit_synthesizer(get_method("napsu")(epsilon=1.0), table, "adult", scheduler=cluster)
    bad = table.copy()
    bad["age"] = bad["age"].astype(object)
    bad.loc[1500, "age"] = "forty"
    with pytest.raises(InputError, match="column 'age'") as err:
        fit_synthesizer(MST(epsilon=1.0), _split(bad), "adult", ledger=led, scheduler=cluster)
    assert "forty" not in str(err.value)
    with pytest.raises(UsageError, match="needs a schema"):
        fit_synthesizer(MST(epsilon=1.0), _split(table.rename(columns={"age": "Age"})), None, trust_domains=True,
                        scheduler=cluster)  # fmt: skip
    assert Ledger.open(led.path).entries == []


def test_cli_synth_on_a_cluster(cluster, cli, tmp_path, table):
    table.to_parquet(tmp_path / "a.parquet", index=False)
    args = ["synth", tmp_path / "a.parquet", "--method", "mst", "--epsilon", "1", "--no-ledger", "--seed", "3",
            "--param", "iters=30", "--quiet", "--rows", "400"]  # fmt: skip
    code, _, err = cli(*args, "-o", tmp_path / "in.csv")
    assert code == 0, err
    code, _, err = cli(*args, "-o", tmp_path / "cl.csv", "--scheduler", cluster.scheduler.address)
    assert code == 0, err
    assert (tmp_path / "in.csv").read_bytes() == (tmp_path / "cl.csv").read_bytes()
    side = [json.loads((tmp_path / f"{n}.csv.json").read_text()) for n in ("in", "cl")]
    for s in side:
        s.pop("output"), s.pop("seconds", None)
    assert side[0] == side[1]
    code, _, err = cli("synth", tmp_path / "a.parquet", "-o", tmp_path / "x.csv", "--method", "napsu",
                       "--epsilon", "1", "--no-ledger", "--scheduler", cluster.scheduler.address)  # fmt: skip
    assert code == 2 and "--scheduler" in err and "napsu" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert pd.read_csv(tmp_path / "cl.csv").shape[0] == 400


def test_shared_arguments_are_one_node_of_a_pass(table, monkeypatch):
    """The schema, encoding and plans a pass's kernels share are one node of its graph, whatever the number of
    partitions, and Dask does not walk them: passed to every partition's call, they were walked and tokenized
    item by item per partition on the client and shipped with each task (issue 18: at 20M rows the client used
    298 CPU seconds, growing with the partitions, so with the rows). Same counts as in-process."""
    import dask

    import anonlab.distributed.stats as stats
    from anonlab.datasets import adult_schema
    from anonlab.distributed.marginals import _Fixed
    from anonlab.privacy.stats import coerce_private
    from anonlab.synth.encoding import Encoding

    schema = adult_schema()
    enc = Encoding.from_schema(schema, bins=32)
    graphs = []
    real = stats._compute

    def spy(client, *objs):
        graphs.append(dict(objs[0].__dask_graph__()))
        return real(client, *objs)

    monkeypatch.setattr(stats, "_compute", spy)
    pairs = [(0, 1), (2, 5)]
    got, _ = _Table(_split(table, 6), schema, "input", None).counts(enc, pairs)
    (graph,) = graphs
    shared = [k for k, v in graph.items() if isinstance(getattr(v, "value", None), _Fixed)]
    assert len(shared) == 1
    assert dask.base.tokenize(_Fixed((schema, enc))) == dask.base.tokenize(_Fixed((schema, enc)))
    assert dask.base.tokenize(_Fixed((schema, enc))) != dask.base.tokenize(_Fixed((schema, enc, 1)))
    codes, _ = enc.encode(coerce_private(table, schema, "input"))
    for c, g in zip(pairs, got, strict=True):
        assert np.array_equal(g, marginal(codes, enc.sizes, c).astype(np.int64).ravel())


class _ReplaceOneMST(MST):
    """MST as a method that releases under replace-one neighbours (as NAPSU-MQ and DPVI do): MST itself is
    add/remove whatever the ledger, so only such a method reaches the fit's public-size check."""

    supports_replace_one = True


def _replace_one_ledgers(tmp_path, name: str, pop: int) -> list:
    """Two fresh replace-one ledgers of population ``pop`` (one per path: in-process and cluster)."""
    return [
        Ledger.create(
            tmp_path / f"{name}{s}.jsonl",
            epsilon=5,
            delta=1e-5,
            neighbours="replace-one",
            population_size=pop,
        )
        for s in "ab"
    ]


def _replace_one_fits(cluster, table, tmp_path, cls, pop):
    kw = dict(epsilon=1.0, seed=3, iters=10, point_masses=False)
    leds = _replace_one_ledgers(tmp_path, f"{cls.__name__}{pop}", pop)
    a = cls(**kw).fit(table, "adult", ledger=leds[0])
    b = fit_synthesizer(cls(**kw), _split(table, 3), "adult", ledger=leds[1], scheduler=cluster)
    assert a.neighbours_ == b.neighbours_ == ("replace-one" if cls.supports_replace_one else "add/remove")
    _same_fit(a, b)
    ea, eb = (Ledger.open(x.path).entries for x in leds)
    assert len(ea) == len(eb) == 1 and ea[0].dataset == eb[0].dataset
    assert ea[0].details == eb[0].details and ea[0].charged_cost == eb[0].charged_cost


def test_replace_one_ledger_as_in_process(cluster, table, tmp_path):
    """On a replace-one ledger a cluster fit is accepted, refused and charged as in-process: the public-size
    check reads the table's row count (counted on the cluster), not the one-row frame that stands in for it
    (which refused every such fit)."""
    from anonlab.errors import PrivacyError

    table = table.iloc[:800]
    n = len(table)
    _replace_one_fits(cluster, table, tmp_path, _ReplaceOneMST, n)
    # a replace-one release on a table whose size is not the ledger's: refused by both at the charge (after the
    # first pass), with the same message and nothing charged
    for pop in (n - 1, n + 1):
        leds = _replace_one_ledgers(tmp_path, f"bad{pop}", pop)
        with pytest.raises(PrivacyError, match=f"population size of {pop} rows") as a_err:
            _ReplaceOneMST(epsilon=1.0).fit(table, "adult", ledger=leds[0])
        with pytest.raises(PrivacyError, match=f"population size of {pop} rows") as b_err:
            fit_synthesizer(_ReplaceOneMST(epsilon=1.0), _split(table, 3), "adult", ledger=leds[1],
                            scheduler=cluster)  # fmt: skip
        assert str(a_err.value) == str(b_err.value)
        assert all(Ledger.open(x.path).entries == [] for x in leds)


@pytest.mark.slow
def test_mst_on_a_replace_one_ledger_of_another_size(cluster, table, tmp_path):
    """MST releases under add/remove whatever the ledger (a replace-one ledger charges it as a group of two), so
    no size check applies: accepted on a table of any size, in-process and on a cluster alike."""
    table = table.iloc[:800]
    _replace_one_fits(cluster, table, tmp_path, MST, len(table) + 5)
