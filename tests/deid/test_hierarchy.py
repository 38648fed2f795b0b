"""Hierarchies: ARX's builders (intervals, masking, grouping), the built-in ones for categories, the ARX CSV
round trip through `anonlab hierarchy build` and `anonymize --hierarchy`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pycanon.anonymity as pa
import pytest

from anonlab.deid.hierarchy import (
    balanced_hierarchy,
    build_grouping,
    build_intervals,
    build_masking,
    looks_like_code,
    read_hierarchy_csv,
    write_hierarchy_csv,
)
from anonlab.deid.quasi import default_hierarchy, encode_quasi
from anonlab.errors import InputError, OutputExistsError, UsageError


def _nested(h) -> bool:
    """Every level's groups are unions of the level below's (a group never splits going up)."""
    for lo, hi in zip(h.groups[:-1], h.groups[1:], strict=True):
        pairs = pd.DataFrame({"lo": lo, "hi": hi}).drop_duplicates()
        if pairs["lo"].duplicated().any():
            return False
    return True


def test_build_intervals_public_range_and_data():
    h = build_intervals(None, (5, 10, 20), lower=15, upper=60, column="age")
    assert list(h.labels[0][:3]) == ["15", "16", "17"] and len(h.labels[0]) == 46
    row = dict(zip(h.labels[0], h.labels[1], strict=True))
    assert row["17"] == "15-19" and row["20"] == "20-24"
    assert h.labels[2][list(h.labels[0]).index("37")] == "35-44"
    assert h.labels[-1][0] == "*" and _nested(h)
    # from data: aligned on a multiple of the first width
    h2 = build_intervals([3.5, 7.25, 12.0], (2.5, 5))
    assert list(h2.labels[1]) == ["[2.5, 5)", "[5, 7.5)", "[10, 12.5)"]


@pytest.mark.parametrize(
    "widths, kw, err, match",
    [
        ((5, 7), {}, UsageError, "multiple"),
        ((10, 5), {}, UsageError, "multiple"),
        ((5,), {"lower": 0}, UsageError, "both"),
        ((5,), {"lower": 0, "upper": 10}, InputError, "outside"),
    ],
)
def test_build_intervals_bad(widths, kw, err, match):
    with pytest.raises(err, match=match):
        build_intervals([1, 2, 30], widths, **kw)


def test_build_masking_keeps_leading_zeros_and_pads():
    h = build_masking(["02140", "02141", "10001"], column="zip")
    assert [list(x) for x in h.labels[:3]] == [
        ["02140", "02141", "10001"],
        ["0214*", "0214*", "1000*"],
        ["021**", "021**", "100**"],
    ]
    assert set(h.labels[-1]) == {"*****"}
    icd = build_masking(["E11", "E119", "I10"], mask="#")
    assert list(icd.labels[1]) == ["E11#", "E11#", "I10#"] and _nested(icd)
    two = build_masking(["02140", "10001"], levels=2)
    assert list(two.labels[-1]) == ["*", "*"]  # a top level is added above two masked characters
    with pytest.raises(UsageError, match="one character"):
        build_masking(["a"], mask="**")


def test_build_grouping_order_and_sizes():
    order = ["low", "mid", "high", "top", "max"]
    h = build_grouping(["mid", "low", "max"], (2, 2), order=order, column="grade")
    assert list(h.labels[0]) == order  # values of the order absent from the data stay (a public domain)
    assert list(h.labels[1]) == ["low..mid", "low..mid", "high..top", "high..top", "max"]
    assert list(h.labels[2]) == ["low..top"] * 4 + ["max"]
    assert list(h.labels[3]) == ["*"] * 5
    with pytest.raises(InputError, match="'odd' is not in the order"):
        build_grouping(["low", "odd"], (2,), order=order)
    # integer codes are ordered by number, not as text
    hi = build_grouping(["10", "2", "1", "3"], (2,))
    assert list(hi.labels[0]) == ["1", "2", "3", "10"] and list(hi.labels[1]) == [
        "1..2",
        "1..2",
        "3..10",
        "3..10",
    ]
    with pytest.raises(UsageError, match="sizes"):
        build_grouping(["a", "b"], (1,))


def test_balanced_grouping_levels_and_balance():
    rng = np.random.default_rng(0)
    counts = np.sort(rng.zipf(1.6, 40).astype(float))[::-1]
    labels = np.array([f"v{i:02d}" for i in range(40)], dtype=object)
    h = balanced_hierarchy("c", labels, counts)
    assert h.height >= 3 and _nested(h)  # several levels between the values and *
    sizes = [len(set(g.tolist())) for g in h.groups]
    assert sizes[0] == 40 and sizes[-1] == 1 and sizes == sorted(sizes, reverse=True)
    for lev in range(1, h.height):
        g = np.asarray(h.groups[lev])
        freq = np.bincount(g, weights=counts)
        # a group's frequency is at most its largest value's or about twice the level's mean share
        big = np.bincount(g, weights=counts, minlength=g.max() + 1)
        top_value = np.array([counts[g == j].max() for j in range(g.max() + 1)])
        assert (big <= np.maximum(top_value, 2.5 * freq.sum() / len(freq))).all()


def test_default_hierarchies_by_kind(adult):
    zips = pd.Series(["02140", "02141", "10001", "10002"], name="zip")
    assert default_hierarchy(encode_quasi(zips)).kind == "masking"
    assert looks_like_code(np.array(["E11", "E119", "I10"])) and not looks_like_code(
        np.array(["1", "2", "10"])
    )
    assert not looks_like_code(np.array(["Male", "Female"]))
    coded = pd.Series(["1", "2", "10", "3", "2", "1"] * 5, name="grade")
    hc = default_hierarchy(encode_quasi(coded))
    assert hc.kind == "ordered" and _nested(hc)
    assert "1..2" in set(hc.labels[1]) or "1..3" in set(hc.labels[1])
    for col in ("workclass", "occupation", "native-country"):
        h = default_hierarchy(encode_quasi(adult[col]))
        assert h.kind == "balanced" and h.height >= 3 and _nested(h)
    edu_order = ["Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th", "HS-grad"]
    edu_order += [
        "Some-college",
        "Assoc-voc",
        "Assoc-acdm",
        "Bachelors",
        "Masters",
        "Prof-school",
        "Doctorate",
    ]
    he = default_hierarchy(encode_quasi(adult["education"]), order=edu_order)
    assert he.kind == "ordered" and all(".." in x or x in edu_order for x in he.labels[1])
    with pytest.raises(InputError, match="not among the categories"):
        default_hierarchy(encode_quasi(adult["education"]), order=edu_order[:-1])


def test_write_and_read_back(tmp_path):
    h = build_masking(["02140", "02141", "10001"], column="zip")
    path = write_hierarchy_csv(h, tmp_path / "zip.csv")
    assert path.read_text().splitlines()[0] == "02140;0214*;021**;02***;0****;*****"
    back = read_hierarchy_csv(path, "zip", np.array(["02140", "10001"], dtype=object))
    assert list(back.labels[1]) == ["0214*", "1000*"]
    with pytest.raises(OutputExistsError):
        write_hierarchy_csv(h, path)
    with pytest.raises(UsageError, match="input"):
        write_hierarchy_csv(h, path, force=True, protect=(path,))


def test_cli_build_round_trips_through_anonymize(cli, adult, tmp_path):
    data = tmp_path / "adult.csv"
    adult.head(4000).to_csv(data, index=False)
    age, edu = tmp_path / "age.csv", tmp_path / "edu.csv"
    code, out, err = cli(
        "hierarchy", "build", "intervals", "-o", age, "--lower", 15, "--upper", 94, "--widths", "5,10,20"
    )
    assert code == 0, err and "levels" in out
    order = "Preschool,1st-4th,5th-6th,7th-8th,9th,10th,11th,12th,HS-grad,Some-college,Assoc-voc,Assoc-acdm,"
    order += "Bachelors,Masters,Prof-school,Doctorate"
    code, out, err = cli(
        "hierarchy", "build", "grouping", "-o", edu, "--order", order, "--sizes", "4,2", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["reads_data"] is False
    rel = tmp_path / "out.csv"
    quasi = ["age", "education", "sex"]
    code, out, err = cli(
        "anonymize", data, "-o", rel, "--quasi", ",".join(quasi), "--k", "10", "--method", "global",
        "--hierarchy", f"age={age}", "--hierarchy", f"education={edu}", "--json",
    )  # fmt: skip
    assert code == 0, err
    r = json.loads(out)
    assert r["generalisation"]["age"]["kind"] == "file" and r["generalisation"]["education"]["kind"] == "file"
    df = pd.read_csv(rel, dtype=str)
    assert pa.k_anonymity(df, quasi) >= 10
    rows = {ln.split(";")[0]: ln.split(";") for ln in age.read_text().splitlines()}
    allowed = {x for row in rows.values() for x in row}
    assert set(df["age"]) <= allowed
    erows = [ln.split(";") for ln in edu.read_text().splitlines()]
    assert set(df["education"]) <= {x for row in erows for x in row}
    # a hierarchy built from the data's column (balanced grouping), then used
    occ = tmp_path / "occ.csv"
    assert cli("hierarchy", "build", "grouping", "-o", occ, "--input", data, "--column", "occupation")[0] == 0
    code, out, err = cli(
        "anonymize", data, "-o", tmp_path / "o2.csv", "--quasi", "occupation,sex", "--k", "10",
        "--method", "global", "--hierarchy", f"occupation={occ}",
    )  # fmt: skip
    assert code == 0, err


@pytest.mark.parametrize(
    "args, message",
    [
        (["intervals", "--widths", "5,7", "--lower", "0", "--upper", "9"], "multiple"),
        (["intervals"], "values"),
        (["masking", "--widths", "5"], "does not apply"),
        (["grouping", "--values", "a,b"], "sizes"),
        (["grouping", "--order", "a,b", "--values", "a,c", "--sizes", "2"], "'c' is not in the order"),
    ],
)
def test_cli_bad_input_one_line(cli, tmp_path, args, message):
    out = tmp_path / "h.csv"
    code, _, err = cli("hierarchy", "build", *args[:1], "-o", out, *args[1:])
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_cli_never_overwrites_its_input(cli, tmp_path):
    data = tmp_path / "z.csv"
    data.write_text("zip\n02140\n02141\n")
    before = data.read_bytes()
    code, _, err = cli(
        "hierarchy", "build", "masking", "-o", data, "--input", data, "--column", "zip", "--force"
    )
    assert code == 2 and err.count("\n") == 1
    assert data.read_bytes() == before
    code, _, err = cli(
        "hierarchy", "build", "masking", "-o", tmp_path / "m.csv", "--input", data, "--column", "zip"
    )
    assert code == 0, err
    assert (tmp_path / "m.csv").read_text().splitlines()[0] == "02140;0214*;021**;02***;0****;*****"


def test_notebook_view_escapes_and_truncates():
    from anonlab.deid import build_masking

    h = build_masking([f"<{i:03d}>" for i in range(30)], column="zip")
    page = h._repr_html_()
    assert "level 0" in page and "&lt;000&gt;" in page and "<000>" not in page and "10 more values" in page
