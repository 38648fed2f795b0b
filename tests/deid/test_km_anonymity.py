"""km-anonymity of set-valued data (issue 22): hand-worked cases, and every release checked by a brute-force checker
(every itemset of at most m items of every record, counted over all records) and for being a global recoding by a
cut of the item hierarchy read with the csv module."""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonlab.deid import anonymize
from anonlab.errors import InputError, UsageError

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "kanon_hierarchies"


def sets_of(col, sep=";"):
    return [frozenset(x for x in str(c).split(sep) if x) if isinstance(c, str) else frozenset() for c in col]


def km_holds(records, k: int, m: int) -> bool:
    """Brute force: each itemset of 1..m items of some record is contained in at least k records."""
    support = Counter()
    for r in records:
        for size in range(1, m + 1):
            for s in itertools.combinations(sorted(r), size):
                support[s] += 1
    return all(c >= k for c in support.values())


def measured_k(records, m: int) -> int:
    support = Counter(
        s for r in records for size in range(1, m + 1) for s in itertools.combinations(sorted(r), size)
    )
    return min(support.values())


def is_global_cut(original, released, hierarchy_path) -> bool:
    """Every item is replaced, everywhere, by one ancestor-or-self of it in the hierarchy."""
    with open(hierarchy_path, newline="") as f:
        path = {row[0]: row for row in csv.reader(f, delimiter=";")}
    image: dict = {}
    for o, r in zip(original, released, strict=True):
        for x in o:
            targets = [a for a in path[x] if a in r]
            if not targets:
                return False
            image.setdefault(x, targets[0])
            if image[x] not in path[x] or image[x] not in r:
                return False
        if {image[x] for x in o} != set(r):
            return False
    return True


@pytest.fixture
def small(tmp_path):
    h = tmp_path / "items.csv"
    h.write_text("a1;A;*\na2;A;*\nb1;B;*\nb2;B;*\n")
    df = pd.DataFrame({"id": ["1", "2", "3", "4"], "items": ["a1;b1", "a2;b1", "a1;b2", "b2;a2"]})
    return df, str(h)


def test_hand_worked(small):
    df, h = small
    original = sets_of(df["items"])
    # m = 1, k = 2: every item is held by two records already
    out, rep = anonymize(df, method="km", quasi=["items"], k=2, m=1, hierarchies={"items": h})
    assert sets_of(out["items"]) == original and rep.ncp == 0 and rep.measured_k == 2
    # m = 2: {a1, b1} is held once; generalising a1, a2 to A (or b1, b2 to B) costs half of the items' NCP
    out, rep = anonymize(df, method="km", quasi=["items"], k=2, m=2, hierarchies={"items": h})
    released = sets_of(out["items"])
    assert released in (
        [frozenset({"A", "b1"})] * 2 + [frozenset({"A", "b2"})] * 2,
        [frozenset({"a1", "B"}), frozenset({"a2", "B"}), frozenset({"a1", "B"}), frozenset({"a2", "B"})],
    )
    assert km_holds(released, 2, 2) and rep.ncp == pytest.approx(0.25) and rep.items_released == 3
    # k = 3, m = 1: every leaf is held twice only: both groups rise
    out, rep = anonymize(df, method="km", quasi=["items"], k=3, m=1, hierarchies={"items": h})
    assert set(out["items"]) == {"A;B"} and rep.ncp == pytest.approx(0.5)
    # k = 5 > 4 records: impossible
    with pytest.raises(UsageError, match="cannot reach k=5"):
        anonymize(df, method="km", quasi=["items"], k=5, m=1, hierarchies={"items": h})
    assert out["id"].tolist() == df["id"].tolist()  # other columns pass through


def test_without_hierarchy_items_go_to_star(small):
    df, _ = small
    df = pd.concat([df, pd.DataFrame({"id": ["5"], "items": [None]})], ignore_index=True)
    out, rep = anonymize(df, method="km", quasi=["items"], k=3, m=1)
    assert out["items"].tolist()[:4] == ["*"] * 4 and pd.isna(out["items"].iloc[4])
    assert rep.to_dict()["achieved"] == {"k": 4, "m": 1, "per_sensitive": {}}


@pytest.fixture(scope="module")
def adult_items(tmp_path_factory, adult):
    cols = ["workclass", "occupation", "native-country", "education", "marital-status", "race"]
    rows = []
    for c in cols:
        with open(BENCH / f"{c}.csv", newline="") as f:
            rows += [[f"{c}={r[0]}", f"{c}:{r[1]}", f"{c}:*", "*"] for r in csv.reader(f, delimiter=";")]
    h = tmp_path_factory.mktemp("km") / "items.csv"
    h.write_text("".join(";".join(r) + "\n" for r in rows))
    data = adult.head(6000)
    items = [
        ";".join(f"{c}={v}" for c, v in zip(cols, row, strict=True) if pd.notna(v))
        for row in data[cols].to_numpy()
    ]
    return pd.DataFrame({"items": items, "income": data["income-per-year"].to_numpy()}), str(h)


@pytest.mark.parametrize(("k", "m"), [(5, 1), (5, 2), (20, 2), (10, 3)])
def test_adult_transactions_brute_force(adult_items, k, m):
    df, h = adult_items
    out, rep = anonymize(df, method="km", quasi=["items"], k=k, m=m, hierarchies={"items": h})
    original, released = sets_of(df["items"]), sets_of(out["items"])
    assert km_holds(released, k, m)
    assert measured_k(released, m) == rep.measured_k >= k
    assert is_global_cut(original, released, h)
    assert out["income"].tolist() == df["income"].tolist()


def test_refusals(small, tmp_path):
    df, h = small
    with pytest.raises(UsageError, match="m=5"):
        anonymize(df, method="km", quasi=["items"], k=2, m=5)
    with pytest.raises(UsageError, match="one set-valued column"):
        anonymize(df, method="km", quasi=["items", "id"], k=2, m=1)
    bad = tmp_path / "bad.csv"
    bad.write_text("a1;A;*\nb1;B;*\n")
    with pytest.raises(InputError, match="item 'a2' of the data is not in the hierarchy"):
        anonymize(df, method="km", quasi=["items"], k=2, m=1, hierarchies={"items": str(bad)})
    two_roots = tmp_path / "roots.csv"
    two_roots.write_text("a1;A;*\na2;A;*\nb1;B;ALL\nb2;B;ALL\n")
    with pytest.raises(InputError, match="2 roots"):
        anonymize(df, method="km", quasi=["items"], k=2, m=1, hierarchies={"items": str(two_roots)})
    with pytest.raises(InputError, match="no column 'nope'"):
        anonymize(df, method="km", quasi=["nope"], k=2, m=1)


def test_cli(cli, small, tmp_path):
    df, h = small
    src, out = tmp_path / "t.csv", tmp_path / "o.csv"
    df.to_csv(src, index=False)
    code, stdout, err = cli(
        "anonymize", src, "-o", out, "--method", "km", "--quasi", "items", "--k", "2", "--param", "m=2",
        "--hierarchy", f"items={h}",
    )  # fmt: skip
    assert code == 0, err
    assert "achieved k          2" in stdout and "m (items known)     2" in stdout
    assert km_holds(sets_of(pd.read_csv(out, dtype=str)["items"]), 2, 2)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.lists(
        st.sets(st.sampled_from(["a1", "a2", "a3", "b1", "b2", "c1"]), max_size=4), min_size=6, max_size=25
    ),
    k=st.integers(2, 4),
    m=st.integers(1, 3),
)
def test_random_transactions_brute_force(tmp_path_factory, data, k, m):
    h = tmp_path_factory.mktemp("hyp") / "items.csv"
    h.write_text("a1;A;*\na2;A;*\na3;A;*\nb1;B;*\nb2;B;*\nc1;C;*\n")
    df = pd.DataFrame({"items": [";".join(sorted(s)) for s in data]})
    nonempty = sum(1 for s in data if s)
    try:
        out, rep = anonymize(df, method="km", quasi=["items"], k=k, m=m, hierarchies={"items": str(h)})
    except UsageError:
        assert nonempty < k  # only when even {*} is held by fewer than k records
        return
    released = sets_of(out["items"].fillna(""))
    assert km_holds(released, k, m)
    assert is_global_cut(sets_of(df["items"]), released, str(h))
