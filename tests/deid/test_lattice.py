"""Optimal global (full-domain) generalisation: one recoding per column, optimal, verified by pycanon."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pycanon.anonymity as pa
import pytest

from anonlab.deid.criteria import Criteria
from anonlab.deid.hierarchy import read_hierarchy_csv
from anonlab.deid.lattice import _evaluate, global_search, level_ncp
from anonlab.deid.quasi import default_hierarchy, encode_quasi
from anonlab.deid.recipe import AnonymizeConfig
from anonlab.deid.recipe import anonymize_config as anonymize
from anonlab.errors import InputError

QUASI = ["age", "sex", "race", "marital-status"]


@pytest.fixture(scope="module")
def small(adult):
    return adult.head(6000).reset_index(drop=True)


def test_one_recoding_per_column(small):
    r = anonymize(small, AnonymizeConfig(quasi=QUASI, k=10, method="global", max_suppression=0.02))
    assert pa.k_anonymity(r.data, QUASI) == r.k >= 10
    assert r.n_suppressed <= 0.02 * len(small)
    levels = r.search["optimum"]
    q = encode_quasi(small["age"])
    h = default_hierarchy(q)
    allowed = set(np.asarray(h.labels[levels[0]], dtype=str))
    assert set(r.data["age"].astype(str)) <= allowed


def test_optimum_matches_exhaustive_search(small):
    """Pruned search finds the same least-GCP node as evaluating every node of the lattice."""
    quasi = [encode_quasi(small[c]) for c in QUASI]
    hs = [default_hierarchy(q) for q in quasi]
    crit = Criteria(k=15)
    res = global_search(quasi, hs, [], crit, max_suppression=0.01)
    n = len(small)
    budget = int(0.01 * n)

    def g(j, lev):
        groups = np.asarray(hs[j].groups[lev])
        return groups[quasi[j].codes], int(groups.max()) + 1

    best = None
    for node in itertools.product(*[range(h.height + 1) for h in hs]):
        ev = _evaluate(np.array(node), g, quasi, [], crit, budget, n)
        if ev is None:
            continue
        cl, supp = ev
        loss = (
            sum(
                level_ncp(quasi[j], hs[j], node[j])[quasi[j].codes[cl.order]] for j in range(len(quasi))
            ).sum()
            / len(quasi)
            + len(supp)
        ) / n
        if best is None or loss < best[0] - 1e-12:
            best = (loss, node)
    assert res.loss == pytest.approx(best[0])
    assert res.nodes_evaluated < res.nodes_total


def test_global_with_l_and_t(small):
    r = anonymize(
        small,
        AnonymizeConfig(
            quasi=QUASI,
            k=5,
            method="global",
            sensitive=("income-per-year",),
            l=2,
            t=0.2,
            max_suppression=0.05,
        ),
    )
    assert pa.k_anonymity(r.data, QUASI) >= 5
    assert pa.l_diversity(r.data, QUASI, ["income-per-year"]) >= 2
    assert pa.t_closeness(r.data, QUASI, ["income-per-year"]) <= 0.2 + 1e-9


def test_discernibility_loss(small):
    r = anonymize(small, AnonymizeConfig(quasi=QUASI, k=10, method="global", loss="discernibility"))
    assert pa.k_anonymity(r.data, QUASI) >= 10
    assert r.search["loss"] == "discernibility"
    assert r.loss.discernibility == pytest.approx(r.search["loss_value"])


def test_arx_hierarchy_file(tmp_path, small):
    path = tmp_path / "race.csv"
    path.write_text(
        "White;White;*\nBlack;Non-white;*\nAsian-Pac-Islander;Non-white;*\n"
        "Amer-Indian-Eskimo;Non-white;*\nOther;Non-white;*\n"
    )
    r = anonymize(
        small, AnonymizeConfig(quasi=QUASI, k=10, method="global", hierarchies=(("race", str(path)),))
    )
    assert set(r.data["race"]) <= {
        "White",
        "Black",
        "Asian-Pac-Islander",
        "Amer-Indian-Eskimo",
        "Other",
        "Non-white",
        "*",
    }
    assert r.generalisation["race"]["kind"] == "file"


def test_hierarchy_missing_value_is_named(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("a,x\nb,x\n")
    with pytest.raises(InputError, match="'c'"):
        read_hierarchy_csv(path, "col", np.array(["a", "b", "c"], dtype=object))


def test_builtin_hierarchies():
    df = pd.DataFrame(
        {
            "zip": ["02139", "02141", "02142", "10001"],
            "when": pd.to_datetime(["2020-01-03", "2020-01-20", "2020-02-01", "2021-05-05"]),
            "age": [21, 35, 36, 70],
        }
    )
    hz = default_hierarchy(encode_quasi(df["zip"]))
    assert hz.kind == "masking" and list(hz.labels[2]) == ["021**", "021**", "021**", "100**"]
    hd = default_hierarchy(encode_quasi(df["when"]))
    assert hd.kind == "date" and list(hd.labels[1]) == ["2020-01", "2020-01", "2020-02", "2021-05"]
    ha = default_hierarchy(encode_quasi(df["age"]))
    assert ha.kind == "interval" and ha.labels[-1][0] == "*"
    assert all("-" in x for x in ha.labels[1])


def _exhaustive(quasi, hs, crit, budget, n):
    def g(j, lev):
        groups = np.asarray(hs[j].groups[lev])
        return groups[quasi[j].codes], int(groups.max()) + 1

    best = None
    for node in itertools.product(*[range(h.height + 1) for h in hs]):
        ev = _evaluate(np.array(node), g, quasi, [], crit, budget, n)
        if ev is None:
            continue
        cl, supp = ev
        ncp = sum(level_ncp(quasi[j], hs[j], node[j])[quasi[j].codes[cl.order]] for j in range(len(quasi)))
        loss = (ncp.sum() / len(quasi) + len(supp)) / n
        if best is None or loss < best[0] - 1e-12:
            best = (loss, node)
    return best


@pytest.mark.parametrize("triples", [False, True])
def test_pair_pruning_keeps_the_optimum_with_balanced_hierarchies(adult, monkeypatch, triples):
    """With the built-in category hierarchies (several levels each) and a suppression budget, the search with
    two-column (and three-column) pruning and the raised GCP bound still finds the exhaustive optimum."""
    import anonlab.deid.lattice as lattice

    monkeypatch.setattr(lattice, "TRIPLE_NODES", 0 if triples else 10**9)
    df = adult.sample(2500, random_state=3).reset_index(drop=True)
    cols = ["age", "workclass", "education", "marital-status", "race"]
    quasi = [encode_quasi(df[c]) for c in cols]
    hs = [default_hierarchy(q) for q in quasi]
    assert all(h.height >= 2 for h in hs)
    crit = Criteria(k=5)
    res = global_search(quasi, hs, [], crit, max_suppression=0.02)
    best = _exhaustive(quasi, hs, crit, int(0.02 * len(df)), len(df))
    assert res.loss == pytest.approx(best[0])
    assert res.nodes_evaluated < res.nodes_total / 4


ADULT8 = ["age", "workclass", "education", "marital-status", "occupation", "race", "sex", "native-country"]


def test_adult_global_keeps_categories(adult):
    """Adult, 8 quasi-identifiers, k=10, global with built-in hierarchies: the categories are no longer all `*`
    (they were with value / `*` hierarchies), and pycanon confirms k."""
    r = anonymize(adult, AnonymizeConfig(quasi=ADULT8, k=10, method="global"))
    assert pa.k_anonymity(r.data, ADULT8) == r.k >= 10
    cats = [c for c in ADULT8 if c != "age"]
    kept = [c for c in cats if r.data[c].nunique() > 1]
    assert len(kept) >= 4, {c: r.generalisation[c]["level"] for c in ADULT8}
    assert {r.generalisation[c]["kind"] for c in cats} == {"balanced"}
    assert all(0 < r.generalisation[c]["levels"] - 1 for c in cats)
    assert r.loss.gcp < 0.6  # value / `*` hierarchies gave 0.75


@pytest.mark.slow
def test_adult_global_with_suppression_keeps_every_category(adult):
    r = anonymize(adult, AnonymizeConfig(quasi=ADULT8, k=10, method="global", max_suppression=0.01))
    assert pa.k_anonymity(r.data, ADULT8) >= 10 and r.n_suppressed <= 0.01 * len(adult)
    assert all(r.data[c].nunique() > 1 for c in ADULT8 if c != "age")


def test_global_with_schema_order_and_bounds(adult):
    """A schema's bounds align the age intervals; a category list in a non-alphabetical order groups adjacent
    values; the schema's roles fill quasi and sensitive."""
    from anonlab.schema import Column, Schema

    edu = ["Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th", "HS-grad"]
    edu += ["Some-college", "Assoc-voc", "Assoc-acdm", "Bachelors", "Masters", "Prof-school", "Doctorate"]
    schema = Schema(
        (
            Column("age", "quasi", "integer", lower=15, upper=94),
            Column("education", "quasi", "categorical", categories=tuple(edu)),
            Column("sex", "quasi", "categorical", categories=("Female", "Male")),
            Column("income-per-year", "sensitive", "categorical"),
            Column("not-in-table", "quasi", "integer"),
        )
    )
    df = adult.head(3000)
    from anonlab.deid import anonymize as anonymize_kw

    # quasi= and sensitive= not given: the schema's roles among the table's columns
    out, rep = anonymize_kw(df, k=10, method="global", schema=schema)
    assert rep.parameters["quasi"] == ["age", "education", "sex"]
    assert rep.parameters["sensitive"] == ["income-per-year"]
    assert rep.generalisation["education"]["kind"] == "ordered"
    labels = set(out["education"])
    assert labels == {"*"} or all(x in edu or ".." in x for x in labels)
    ages = set(out["age"]) - {"*"}
    assert all(int(a.split("-")[0]) % 5 == 0 for a in ages if "-" in a)
    assert pa.k_anonymity(out, ["age", "education", "sex"]) >= 10
    bad = Schema((Column("age", "quasi", "integer", lower=20, upper=60),))
    with pytest.raises(InputError, match="outside the schema's bounds"):
        anonymize(df, AnonymizeConfig(quasi=["age"], k=5, method="global"), schema=bad)
    small = Schema((Column("sex", "quasi", "categorical", categories=("Male",)),))
    with pytest.raises(InputError, match="'Female' is not among the schema's categories"):
        anonymize(df, AnonymizeConfig(quasi=["sex"], k=5), schema=small)
